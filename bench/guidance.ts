import * as fs from 'node:fs';
import * as path from 'node:path';
import { npyToFloat64, readNpy } from '../core/npy';
import { NoiseSource } from '../core/noise';
import { Stream } from '../core/streams';
import { labelAccuracy } from '../metrics/coverage';
import { loadFashionMnist } from '../metrics/fashion-mnist-data';
import { FeatureClassifier } from '../metrics/features';
import { frechetDistance, gaussianStats } from '../metrics/frechet';
import { chooseDistinct } from '../metrics/kid';
import { lineChartSvg, svgToPng } from '../cli/plot';
import { ROOT } from './root';

/**
 * The guidance scale's fidelity/diversity trade-off, from the cells of a guidance sweep
 * (configs/sweeps/guidance-fashion-mnist.yaml: one cell per γ, labels cycled over the ten classes):
 *   labelAccuracy  share of samples the shipped classifier puts in their requested class
 *   FD per class   the Fréchet distance, in the classifier's feature space, of each class's samples
 *                  to the 1 000 test images of that class; the table gives the mean over classes
 *   floor          the same per-class FD for as many train images of each class (what real images
 *                  score at this n: FD is biased upward at small n)
 * High γ buys label accuracy with diversity: the per-class FD first falls (samples land in their
 * class) and then rises (they collapse onto its most typical images).
 *
 *   npm run build && node dist/bench/guidance.js runs/sweeps/guidance-fashion-mnist [--png out-prefix]
 */

const CLASSIFIER = path.join(ROOT, 'models', 'fashion-mnist', 'classifier.onnx');

interface Cell {
  id: string;
  scale: number;
  n: number;
  nfe: number;
  rowsPerSample: number;
  labelAccuracy: number;
  fdPerClass: number[];
  fd?: number;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const pngAt = args.indexOf('--png');
  const png = pngAt >= 0 ? args.splice(pngAt, 2)[1] : undefined;
  const sweepDir = args[0];
  if (!sweepDir) throw new Error('usage: node dist/bench/guidance.js <guidance sweep folder> [--png out-prefix]');
  const classifier = await FeatureClassifier.load(CLASSIFIER);
  try {
    const d = classifier.featureDim;
    const classes = classifier.classes;
    const byClass = async (split: 'train' | 'test') => {
      const set = loadFashionMnist(split);
      const { features } = await classifier.run(set.images, set.n);
      return { features, labels: set.labels };
    };
    const test = await byClass('test');
    const train = await byClass('train');
    const rowsOf = (labels: ArrayLike<number>, c: number) => Array.from(labels, (l, i) => (l === c ? i : -1)).filter((i) => i >= 0);
    const gather = (x: Float32Array | Float64Array, rows: number[]) => {
      const out = new Float64Array(rows.length * d);
      rows.forEach((r, i) => out.set(x.subarray(r * d, (r + 1) * d), i * d));
      return out;
    };
    const testStats = Array.from({ length: classes }, (_, c) => gaussianStats(gather(test.features, rowsOf(test.labels, c)), d));

    const cellsDir = path.join(sweepDir, 'cells');
    const cells: Cell[] = [];
    for (const id of fs.readdirSync(cellsDir).sort()) {
      const file = path.join(cellsDir, id, 'manifest.json');
      if (!fs.existsSync(file)) continue;
      const m = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (!m.guidance) throw new Error(`${file}: not a guided run`);
      const samples = npyToFloat64(readNpy(path.join(cellsDir, id, 'samples.npy')));
      const n = m.n as number;
      const labels = Array.from({ length: n }, (_, i) => m.guidance.labels[i % m.guidance.labels.length] as number);
      const { features, logits } = await classifier.run(samples, n);
      cells.push({
        id,
        scale: m.guidance.scale,
        n,
        nfe: m.nfe,
        rowsPerSample: m.guidance.networkRowsPerSample,
        labelAccuracy: labelAccuracy(logits, classes, labels),
        fdPerClass: testStats.map((ref, c) => frechetDistance(gaussianStats(gather(features, rowsOf(labels, c)), d), ref).fd),
        fd: m.metrics?.fd,
      });
    }
    if (cells.length === 0) throw new Error(`no finished cells in ${cellsDir}`);
    cells.sort((a, b) => a.scale - b.scale);
    // The floor: per class, as many train images as the cells have samples of that class.
    const perClass = Math.round(cells[0].n / classes);
    const noise = new NoiseSource(0);
    const floor = Array.from({ length: classes }, (_, c) => {
      const rows = rowsOf(train.labels, c);
      const pick = Array.from(chooseDistinct(rows.length, perClass, noise, c, Stream.metricFloors), (i) => rows[i]);
      return frechetDistance(gaussianStats(gather(train.features, pick), d), testStats[c]).fd;
    });
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    const f = (x: number, p = 3) => x.toPrecision(p);
    console.log(`Per-class FD against the test images of the class (${perClass} samples per class); floor: ${perClass} train images per class, mean ${f(mean(floor))}.\n`);
    console.log(`| γ | NFE | network rows / sample | label accuracy | FD (all classes, n = ${cells[0].n}) | FD per class, mean | worst class |`);
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const c of cells) {
      const worst = c.fdPerClass.indexOf(Math.max(...c.fdPerClass));
      console.log(
        `| ${c.scale} | ${c.nfe} | ${c.rowsPerSample} | ${c.labelAccuracy.toFixed(3)} | ${c.fd === undefined ? '—' : f(c.fd)} | ${f(mean(c.fdPerClass))} | ${classifier.card.classes[worst]} ${f(c.fdPerClass[worst])} |`,
      );
    }
    console.log(`| data (floor) | | | ${classifier.card.testAccuracy} (classifier on test) | | ${f(mean(floor))} | |`);
    if (png) {
      const chart = (name: string, yLabel: string, y: (c: Cell) => number, line?: { y: number; label: string }) =>
        svgToPng(
          lineChartSvg({
            title: `Guidance: ${name} vs γ`,
            subtitle: `conditional Fashion-MNIST U-Net, ${cells[0].n} samples per γ`,
            xLabel: 'guidance scale γ',
            yLabel,
            logX: false,
            logY: false,
            series: [{ name, points: cells.map((c) => ({ x: c.scale, y: y(c) })) }],
            lines: line ? [line] : [],
          }),
        );
      fs.writeFileSync(`${png}-fd-per-class.png`, chart('FD per class', 'FD per class (mean of 10)', (c) => mean(c.fdPerClass), { y: mean(floor), label: 'floor (train images)' }));
      fs.writeFileSync(`${png}-label-accuracy.png`, chart('label accuracy', 'share in requested class', (c) => c.labelAccuracy, { y: classifier.card.testAccuracy, label: 'classifier on test' }));
      console.log(`\nwrote ${png}-fd-per-class.png, ${png}-label-accuracy.png`);
    }
  } finally {
    await classifier.dispose();
  }
}

main().catch((e) => {
  console.error(`guidance report: ${(e as Error).message}`);
  process.exit(1);
});
