/**
 * `npm run metrics:reference`: the reference statistics of the image metrics, computed by this
 * code through onnxruntime (so one implementation makes and reads them), from Debian's
 * Fashion-MNIST (`apt-get install dataset-fashion-mnist`). Writes beside the classifier:
 *   classifier-reference-test.json   + -test-mean.npy, -test-cov.npy (float64), -test-features.npy
 *                                      (float32, KID's rows: the last `--kid-rows` test images),
 *                                      and the floor ladder (see floorLadder)
 *   classifier-reference-train.json  + -train-mean.npy, -train-cov.npy
 *   fashion-mnist-test-1000-labels.npy  labels (uint8) of the shipped fashion-mnist-test-1000.npy
 *
 *   npm run metrics:reference -- [--classifier models/fashion-mnist/classifier.onnx]
 *     [--data /usr/share/datasets/fashion-mnist] [--ladder 100,250,...] [--draws 5] [--kid-rows 2000]
 */
import * as path from 'path';
import { writeJsonAtomic } from '../core/files';
import { NoiseSource } from '../core/noise';
import { Stream } from '../core/streams';
import { writeNpy } from '../core/npy';
import { classCoverage, histogramTv, labelHistogram } from '../metrics/coverage';
import { FeatureClassifier } from '../metrics/features';
import { FEATURE_REFERENCE_FORMAT, FeatureReferenceJson, FloorRow, sha256File } from '../metrics/feature-reference';
import { FASHION_MNIST_DIR, ImageSet, loadFashionMnist } from '../metrics/fashion-mnist-data';
import { GaussianStats, frechetDistance, gaussianStats } from '../metrics/frechet';
import { chooseDistinct, kernelInceptionDistance } from '../metrics/kid';
import { onnxDotProducts } from '../metrics/onnx-dots';
import { packageJson } from './fsutil';

export const DEFAULT_LADDER = [100, 250, 500, 1000, 2000, 5000, 10000];
/** Noise stream of the floor draws ('F'), apart from the samplers', projections' and KID's. */
const FLOOR_STREAM = Stream.metricFloors;

export interface SplitStatistics {
  n: number;
  stats: GaussianStats;
  features: Float32Array;
  logits: Float32Array;
  labelHistogram: number[];
  predictedHistogram: number[];
  accuracy: number;
  confidence: number;
}

/** Features of a whole split, their Gaussian, and how the classifier does on it. */
export async function splitStatistics(classifier: FeatureClassifier, set: ImageSet): Promise<SplitStatistics> {
  const { features, logits } = await classifier.run(set.images, set.n);
  const k = classifier.classes;
  const coverage = classCoverage(logits, k);
  let right = 0;
  for (let i = 0; i < set.n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (logits[i * k + c] > logits[i * k + best]) best = c;
    if (best === set.labels[i]) right++;
  }
  return {
    n: set.n,
    stats: gaussianStats(features, classifier.featureDim),
    features,
    logits,
    labelHistogram: labelHistogram(set.labels, k),
    predictedHistogram: coverage.histogram,
    accuracy: right / set.n,
    confidence: coverage.confidence,
  };
}

function meanSd(v: number[]): { mean: number; sd: number } {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, sd };
}

function rows(x: Float32Array, idx: Int32Array, width: number): Float32Array {
  const out = new Float32Array(idx.length * width);
  for (let i = 0; i < idx.length; i++) out.set(x.subarray(idx[i] * width, (idx[i] + 1) * width), i * width);
  return out;
}

/**
 * The floors: for each n, `draws` disjoint random sets of n images from the pool (images the
 * reference split does not contain) against the reference, as a perfect sampler's samples would
 * be scored. Mean ± sd over the draws.
 */
export async function floorLadder(
  pool: { features: Float32Array; logits: Float32Array; n: number },
  reference: { stats: GaussianStats; kidRows: Float32Array; predictedHistogram: number[] },
  d: number,
  classes: number,
  opts: { ladder: number[]; draws: number; seed?: number; log?: (line: string) => void },
): Promise<FloorRow[]> {
  const noise = new NoiseSource(opts.seed ?? 0);
  const out: FloorRow[] = [];
  for (const n of opts.ladder) {
    if (n > pool.n) throw new RangeError(`floor ladder: n = ${n} exceeds the ${pool.n} images of the pool`);
    const perm = chooseDistinct(pool.n, pool.n, noise, n, FLOOR_STREAM);
    const fd: number[] = [];
    const kid: number[] = [];
    const tv: number[] = [];
    const conf: number[] = [];
    for (let k = 0; k < opts.draws; k++) {
      // Disjoint draws while the pool lasts, then a fresh permutation.
      const per = Math.floor(pool.n / n);
      const p = k < per ? perm : chooseDistinct(pool.n, pool.n, noise, n + 1_000_000 * (k - per + 1), FLOOR_STREAM);
      const start = (k < per ? k : 0) * n;
      const idx = p.subarray(start, start + n);
      const f = rows(pool.features, idx, d);
      const cov = classCoverage(rows(pool.logits, idx, classes), classes);
      fd.push(frechetDistance(gaussianStats(f, d), reference.stats).fd);
      kid.push((await kernelInceptionDistance(f, reference.kidRows, d, { dots: onnxDotProducts, seed: k })).kid);
      tv.push(histogramTv(cov.histogram, reference.predictedHistogram));
      conf.push(cov.confidence);
    }
    const row = { n, draws: opts.draws, fd: meanSd(fd), kid: meanSd(kid), classTV: meanSd(tv), confidence: meanSd(conf) };
    opts.log?.(`floor n=${n}: FD ${row.fd.mean.toFixed(3)} ± ${row.fd.sd.toFixed(3)}, KID ${row.kid.mean.toExponential(2)} ± ${row.kid.sd.toExponential(2)}`);
    out.push(row);
  }
  return out;
}

interface Args {
  classifier: string;
  data: string;
  ladder: number[];
  draws: number;
  kidRows: number;
}

async function main(args: Args): Promise<void> {
  const started = performance.now();
  const log = (line: string) => process.stderr.write(`metrics:reference: ${line}\n`);
  const classifier = await FeatureClassifier.load(args.classifier);
  const dir = path.dirname(classifier.cardPath);
  const d = classifier.featureDim;
  const sha = sha256File(classifier.file);
  try {
    const test = loadFashionMnist('test', args.data);
    const train = loadFashionMnist('train', args.data);
    log(`features of ${test.n} test and ${train.n} train images`);
    const te = await splitStatistics(classifier, test);
    const tr = await splitStatistics(classifier, train);
    log(`test accuracy ${te.accuracy.toFixed(4)}, train accuracy ${tr.accuracy.toFixed(4)}`);
    // KID's rows: the last test images, apart from the first 1 000 (the shipped test slice), so
    // that real images from that slice are not scored against copies of themselves.
    const kidFirst = test.n - args.kidRows;
    const kidRows = te.features.slice(kidFirst * d);
    const trainVsTest = frechetDistance(tr.stats, te.stats).fd;
    const floors = await floorLadder(tr, { stats: te.stats, kidRows, predictedHistogram: te.predictedHistogram }, d, classifier.classes, {
      ladder: args.ladder,
      draws: args.draws,
      log,
    });
    const base = (split: string, s: SplitStatistics, n: number): FeatureReferenceJson => ({
      format: FEATURE_REFERENCE_FORMAT,
      classifier: path.basename(classifier.file),
      classifierSha256: sha,
      data: { name: 'fashion-mnist', split, source: `${args.data} (Debian dataset-fashion-mnist)`, n },
      featureDim: d,
      mean: `classifier-reference-${split}-mean.npy`,
      cov: `classifier-reference-${split}-cov.npy`,
      labelHistogram: s.labelHistogram,
      predictedHistogram: s.predictedHistogram,
      accuracy: s.accuracy,
      confidence: s.confidence,
      computedBy: 'npm run metrics:reference (cli/metrics-reference.ts)',
      createdAt: new Date().toISOString(),
    });
    for (const [split, s, n] of [['test', te, test.n], ['train', tr, train.n]] as const) {
      writeNpy(path.join(dir, `classifier-reference-${split}-mean.npy`), s.stats.mean, [d], 'float64');
      writeNpy(path.join(dir, `classifier-reference-${split}-cov.npy`), s.stats.cov, [d, d], 'float64');
      const json = base(split, s, n);
      if (split === 'test') {
        writeNpy(path.join(dir, 'classifier-reference-test-features.npy'), kidRows, [args.kidRows, d], 'float32');
        json.features = { file: 'classifier-reference-test-features.npy', rows: args.kidRows, which: `test images ${kidFirst}..${test.n - 1} (the last ${args.kidRows})` };
        json.floors = {
          method: `n random train images (${args.draws} disjoint draws per n) against the test statistics; the whole train set scores FD ${trainVsTest.toFixed(4)}`,
          kid: { subsets: 100, subsetSize: 'min(1000, n)', maxSamples: 2000 },
          rows: floors,
        };
      }
      json.seconds = (performance.now() - started) / 1000;
      writeJsonAtomic(path.join(dir, `classifier-reference-${split}.json`), json);
    }
    writeNpy(path.join(dir, 'fashion-mnist-test-1000-labels.npy'), test.labels.subarray(0, 1000), [1000], 'uint8');
    log(`wrote ${dir}/classifier-reference-{test,train}*.{json,npy} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await classifier.dispose();
  }
}

function parseArgs(argv: string[]): Args {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const list = (s: string) => s.split(',').map(Number);
  return {
    classifier: path.resolve(get('classifier') ?? path.join(packageJson().root, 'models', 'fashion-mnist', 'classifier.onnx')),
    data: get('data') ?? FASHION_MNIST_DIR,
    ladder: list(get('ladder') ?? DEFAULT_LADDER.join(',')),
    draws: Number(get('draws') ?? 5),
    kidRows: Number(get('kid-rows') ?? 2000),
  };
}

if (require.main === module) {
  main(parseArgs(process.argv.slice(2))).catch((err) => {
    process.stderr.write(`metrics:reference failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
