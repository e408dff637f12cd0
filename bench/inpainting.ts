import * as fs from 'node:fs';
import * as path from 'node:path';
import { npyToFloat64, readNpy } from '../core/npy';
import { labelAccuracy } from '../metrics/coverage';
import { FeatureClassifier } from '../metrics/features';
import { isNamedMask, namedMask } from '../solvers/masks';
import { imageGridPng } from '../cli/preview';
import { ROOT } from './root';

/**
 * How well inpainting runs recover what was hidden, scored against the images they completed
 * (the shipped Fashion-MNIST test slice, whose labels ship beside it):
 *   unknownRmse  RMS difference to the original over the sampled (unknown) pixels; a completion
 *                is one draw of the conditional, so this is not 0 even for a perfect sampler,
 *                but it falls as the completion agrees better with the known part
 *   knownMaxAbs  largest difference over the known pixels (0: they are pasted back exactly)
 *   labelAcc     share of completed images the shipped classifier puts in the original's class
 * A run without `inpaint` (same seed and n) is the baseline: its pixels against the same mask.
 *
 *   npm run build && node dist/bench/inpainting.js <run dir> ... [--mask left] [--grid out.png]
 * --grid draws the first 10 images: the originals, the masked input (unknown pixels grey), then one
 * row per run.
 *
 * The README's table: configs/examples/fashion-mnist-inpaint.yaml with n 200, seed 0,
 * euler_maruyama 100 steps + denoise, for mask left and top:
 *   --set inpaint.mask=M --set inpaint.method=replace --set inpaint.resample=null --set inpaint.jump=null
 *   --set inpaint.mask=M --set inpaint.method=repaint --set inpaint.resample=5 --set inpaint.jump=10
 * and the baseline --set inpaint=null (then --mask M here).
 */

const CLASSIFIER = path.join(ROOT, 'models', 'fashion-mnist', 'classifier.onnx');
const LABELS = path.join(ROOT, 'models', 'fashion-mnist', 'fashion-mnist-test-1000-labels.npy');
const IMAGES = path.join(ROOT, 'models', 'fashion-mnist', 'fashion-mnist-test-1000.npy');

interface Row {
  run: string;
  method: string;
  nfe: number;
  n: number;
  unknownRmse: number;
  knownMaxAbs: number;
  labelAcc: number;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const maskFlag = args.indexOf('--mask');
  const defaultMask = maskFlag >= 0 ? args.splice(maskFlag, 2)[1] : undefined;
  const gridFlag = args.indexOf('--grid');
  const gridFile = gridFlag >= 0 ? args.splice(gridFlag, 2)[1] : undefined;
  const COLUMNS = 10;
  const gridRows: Float64Array[] = [];
  if (args.length === 0) throw new Error('usage: node dist/bench/inpainting.js <run dir> ... [--mask left]');
  const classifier = await FeatureClassifier.load(CLASSIFIER);
  const labels = Array.from(npyToFloat64(readNpy(LABELS)));
  const rows: Row[] = [];
  try {
    for (const dir of args) {
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
      const inpaint = manifest.config.inpaint as { images: string; mask: string; method: string } | null | undefined;
      const maskName = inpaint?.mask ?? defaultMask;
      if (!maskName) throw new Error(`${dir}: not an inpainting run; give --mask for the baseline`);
      const samples = npyToFloat64(readNpy(path.join(dir, 'samples.npy')));
      const images = npyToFloat64(readNpy(inpaint ? inpaint.images : IMAGES));
      const dim = classifier.imageSize;
      const n = samples.length / dim;
      const mask = isNamedMask(maskName) ? namedMask(maskName, classifier.card.sampleShape) : npyToFloat64(readNpy(maskName));
      let se = 0;
      let unknown = 0;
      let knownMax = 0;
      for (let i = 0; i < n; i++) {
        for (let d = 0; d < dim; d++) {
          const diff = samples[i * dim + d] - images[i * dim + d];
          if (mask[d] > 0.5) knownMax = Math.max(knownMax, Math.abs(diff));
          else {
            se += diff * diff;
            unknown++;
          }
        }
      }
      if (gridFile && gridRows.length === 0) {
        gridRows.push(images.slice(0, COLUMNS * dim));
        gridRows.push(images.slice(0, COLUMNS * dim).map((v, k) => (mask[k % dim] > 0.5 ? v : 0)));
      }
      if (gridFile) gridRows.push(samples.slice(0, COLUMNS * dim));
      const { logits } = await classifier.run(samples, n);
      rows.push({
        run: path.basename(dir),
        method: inpaint ? `${inpaint.method} (${maskName})` : `none (${maskName} scored)`,
        nfe: manifest.nfe,
        n,
        unknownRmse: Math.sqrt(se / unknown),
        knownMaxAbs: inpaint ? knownMax : NaN,
        labelAcc: labelAccuracy(logits, classifier.classes, labels.slice(0, n)),
      });
    }
  } finally {
    await classifier.dispose();
  }
  if (gridFile) {
    const all = new Float64Array(gridRows.reduce((k, r) => k + r.length, 0));
    gridRows.reduce((at, r) => (all.set(r, at), at + r.length), 0);
    fs.writeFileSync(gridFile, imageGridPng(all, classifier.card.sampleShape, { columns: COLUMNS, rows: gridRows.length, range: [-1, 1], scale: 2 }));
    console.log(`wrote ${gridFile}: originals, masked, then ${args.join(', ')}`);
  }
  console.log('| run | method | NFE | n | RMSE, unknown pixels | max abs, known pixels | label accuracy |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(`| ${r.run} | ${r.method} | ${r.nfe} | ${r.n} | ${r.unknownRmse.toFixed(4)} | ${Number.isNaN(r.knownMaxAbs) ? '—' : r.knownMaxAbs.toExponential(1)} | ${r.labelAcc.toFixed(3)} |`);
  }
}

main().catch((e) => {
  console.error(`inpainting report: ${(e as Error).message}`);
  process.exit(1);
});
