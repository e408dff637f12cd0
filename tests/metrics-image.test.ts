/**
 * The image metrics with the shipped classifier and reference statistics, on real data:
 *   - the classifier, through onnxruntime, reaches its card's test accuracy on the shipped
 *     1 000-image test slice (within 3 binomial standard errors); shifted labels fail (control);
 *   - the shipped reference statistics are what this code recomputes from Debian's Fashion-MNIST
 *     (the test needs /usr/share/datasets/fashion-mnist and fails, saying how to install it,
 *     where it is missing); the train split's statistics differ from them (control);
 *   - sanity ladder: FD and KID of the test slice against the reference grow strictly with added
 *     Gaussian noise, and the clean slice sits within the floor while σ = 0.1 is far above it;
 *   - the shipped VP U-Net: many-step PC samples score better (FD, KID, class TV) than too-few-step
 *     ones (40 against 4 steps on 64 images: see the cost note there).
 */
import * as fs from 'fs';
import * as path from 'path';
import { NoiseSource } from '../core/noise';
import { npyToFloat64, readNpy } from '../core/npy';
import { FeatureClassifier, readClassifierCard } from '../metrics/features';
import { probeModelBytes } from '../models/onnx/onnx-file';
import { FASHION_MNIST_DIR, loadFashionMnist } from '../metrics/fashion-mnist-data';
import { FeatureReference } from '../metrics/feature-reference';
import { ImageQuality, imageQuality, referenceFor } from '../metrics/image-quality';
import { frechetDistance, gaussianStats } from '../metrics/frechet';
import { splitStatistics } from '../cli/metrics-reference';
import { loadOnnxScoreModel } from '../models/onnx';
import { sample } from '../solvers/sample';
import { cli } from './support/cli';

const { abs, sqrt, max } = Math;
const DIR = path.resolve(__dirname, '..', 'models', 'fashion-mnist');

let classifier: FeatureClassifier;
let reference: FeatureReference;
const slice = npyToFloat64(readNpy(path.join(DIR, 'fashion-mnist-test-1000.npy')));
const labels = readNpy(path.join(DIR, 'fashion-mnist-test-1000-labels.npy')).data as Uint8Array;

beforeAll(async () => {
  classifier = await FeatureClassifier.load(path.join(DIR, 'classifier.onnx'));
  reference = referenceFor(classifier);
});
afterAll(() => classifier?.dispose());

function argmaxAccuracy(logits: Float32Array, truth: ArrayLike<number>, k: number): number {
  let right = 0;
  for (let i = 0; i < truth.length; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (logits[i * k + c] > logits[i * k + best]) best = c;
    if (best === truth[i]) right++;
  }
  return right / truth.length;
}

describe('shipped classifier', () => {
  test("reaches its card's test accuracy on the shipped test slice; shifted labels do not (negative control)", async () => {
    const { logits } = await classifier.run(slice, 1000);
    const k = classifier.classes;
    const p = classifier.card.testAccuracy;
    const se = sqrt((p * (1 - p)) / 1000);
    const acc = argmaxAccuracy(logits, labels, k);
    console.log(`classifier accuracy on the 1000-image slice ${acc.toFixed(4)} (card: ${p} on 10 000)`);
    expect(p).toBeGreaterThanOrEqual(0.9);
    expect(abs(acc - p)).toBeLessThan(3 * se);
    const shifted = Uint8Array.from(labels, (l) => (l + 1) % k);
    expect(abs(argmaxAccuracy(logits, shifted, k) - p)).toBeGreaterThan(3 * se);
  });
});

describe('classifier files', () => {
  test('no card, a broken card, no ONNX: errors that name the file and what is wrong', () => {
    const tmp = fs.mkdtempSync(path.join(require('os').tmpdir(), 'score-sde-classifier-'));
    try {
      const onnx = path.join(tmp, 'c.onnx');
      fs.writeFileSync(onnx, probeModelBytes());
      expect(() => readClassifierCard(onnx)).toThrow(/c\.onnx: no classifier card: no ONNX metadata 'score_sde_classifier' and no .*c\.card\.json/);
      fs.writeFileSync(path.join(tmp, 'c.card.json'), '{"format": "score-sde-classifier/1"');
      expect(() => readClassifierCard(onnx)).toThrow(/the classifier card in .*c\.card\.json is not valid JSON/);
      const card = JSON.parse(fs.readFileSync(path.join(DIR, 'classifier.card.json'), 'utf8'));
      fs.writeFileSync(path.join(tmp, 'c.card.json'), JSON.stringify({ ...card, featureDim: -1 }));
      expect(() => readClassifierCard(onnx)).toThrow(/the classifier card in .*c\.card\.json is invalid: featureDim/);
      fs.writeFileSync(path.join(tmp, 'c.card.json'), JSON.stringify(card));
      expect(readClassifierCard(onnx).card.featureDim).toBe(256);
      fs.writeFileSync(onnx, 'not onnx');
      expect(() => readClassifierCard(onnx)).toThrow(/c\.onnx: not an ONNX model/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('shipped reference statistics', () => {
  const haveData = fs.existsSync(path.join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'));

  test('Debian dataset-fashion-mnist is installed (needed to check the shipped statistics)', () => {
    if (!haveData) throw new Error(`${FASHION_MNIST_DIR} is missing: install it with \`apt-get install dataset-fashion-mnist\``);
  });

  test('the IDX reader gives the shipped test slice bit for bit, and its labels', () => {
    const test = loadFashionMnist('test');
    expect(test.n).toBe(10000);
    // (Buffer.equals: jest's toEqual walks 3 MB element by element.)
    expect(Buffer.from(test.images.buffer, 0, 1000 * 784 * 4).equals(Buffer.from(Float32Array.from(slice).buffer))).toBe(true);
    expect([...test.labels.subarray(0, 1000)]).toEqual([...labels]);
  });

  test('the test split: mean, covariance, histograms and accuracy are what the code recomputes; the train split differs (negative control)', async () => {
    const s = await splitStatistics(classifier, loadFashionMnist('test'));
    const d = classifier.featureDim;
    const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let num = 0;
      let den = 0;
      for (let i = 0; i < a.length; i++) {
        num = max(num, abs(a[i] - b[i]));
        den = max(den, abs(b[i]));
      }
      return num / den;
    };
    expect(reference.stats.n).toBe(10000);
    expect(rel(s.stats.mean, reference.stats.mean)).toBeLessThan(1e-9);
    expect(rel(s.stats.cov, reference.stats.cov)).toBeLessThan(1e-9);
    expect(rel(s.features.subarray((10000 - reference.json.features!.rows) * d), reference.features!)).toBeLessThan(1e-6); // float32 file
    expect(s.predictedHistogram).toEqual(reference.json.predictedHistogram);
    expect(s.labelHistogram).toEqual(reference.json.labelHistogram);
    expect(s.accuracy).toBe(reference.json.accuracy);
    expect(abs(s.accuracy - classifier.card.testAccuracy)).toBeLessThan(1e-4); // PyTorch's figure, rounded to 4 digits
    // The train split's shipped statistics are another Gaussian: far outside that tolerance.
    const train = JSON.parse(fs.readFileSync(path.join(DIR, classifier.card.reference.train!), 'utf8'));
    const trainMean = npyToFloat64(readNpy(path.join(DIR, train.mean)));
    expect(rel(trainMean, reference.stats.mean)).toBeGreaterThan(1e-3);
    expect(frechetDistance(s.stats, reference.stats).fd).toBeLessThan(1e-9);
  }, 300_000);
});

describe('sanity ladder on real images', () => {
  test('FD and KID grow strictly with added Gaussian noise; the clean slice is at the floor, σ = 0.1 far above it', async () => {
    const sigmas = [0, 0.05, 0.1, 0.2, 0.4];
    const noise = new Float64Array(slice.length);
    new NoiseSource(21).normal(noise, 784, 0, 3);
    const results: ImageQuality[] = [];
    for (const s of sigmas) {
      const x = Float32Array.from(slice, (v, i) => v + s * noise[i]);
      results.push(await imageQuality(classifier, reference, x, 1000));
    }
    const fd = results.map((r) => r.metrics.fd);
    const kid = results.map((r) => r.metrics.kid);
    console.log(sigmas.map((s, i) => `σ=${s}: FD ${fd[i].toFixed(3)}, KID ${kid[i].toExponential(2)} ± ${results[i].metrics.kidStd.toExponential(1)}`).join('\n'));
    for (let i = 1; i < sigmas.length; i++) {
      expect(fd[i]).toBeGreaterThan(fd[i - 1]);
      expect(kid[i]).toBeGreaterThan(kid[i - 1]);
    }
    const floor = results[0].metrics.fdFloor + 3 * results[0].metrics.fdFloorSd;
    expect(fd[0]).toBeLessThan(floor);
    expect(fd[2]).toBeGreaterThan(2 * floor);
    expect(abs(kid[0])).toBeLessThan(3 * results[0].metrics.kidFloorSd + 2 * results[0].metrics.kidStd);
    expect(kid[2]).toBeGreaterThan(10 * results[0].metrics.kidFloorSd);
  }, 300_000);
});

describe('shipped VP U-Net', () => {
  // Cost: n × NFE U-Net evaluations, ~1 ms each on 2 free cores and 5–10 ms on this shared machine
  // under load (measured). 64 images of PC at 40 steps (80 NFE) and at 4 steps (8 NFE): 5 600
  // evaluations, ~6 s free, ~30 s loaded. 1 000-step PC on 64 images would be 128 000 (2–20 min).
  // Measured (classifier of epoch 7): FD 915 vs 88 (floor at n = 64: 26), KID 99 vs 0.48, class TV
  // 0.80 vs 0.35. Confidence is no ranking: 4-step blobs are confidently called bags (0.83 vs 0.62).
  const N = 64;

  test('many-step PC samples score better than too-few-step ones (FD, KID, class TV)', async () => {
    const model = await loadOnnxScoreModel(path.join(DIR, 'unet-vp.onnx'), { device: 'cpu', log: () => {} });
    try {
      const score = async (steps: number) => {
        const r = await sample({ sde: model.sde, model, solver: 'pc', settings: { steps, snr: 0.16, denoise: true }, n: N, seed: 4 });
        return imageQuality(classifier, reference, r.samples.data, N);
      };
      const few = await score(4);
      const many = await score(40);
      console.log(`U-Net VP, n=${N}: PC 4 steps FD ${few.metrics.fd.toFixed(2)} KID ${few.metrics.kid.toExponential(2)} TV ${few.metrics.classTV.toFixed(3)}; PC 40 steps FD ${many.metrics.fd.toFixed(2)} KID ${many.metrics.kid.toExponential(2)} TV ${many.metrics.classTV.toFixed(3)}; floor FD ${many.metrics.fdFloor.toFixed(2)}`);
      expect(many.metrics.fd).toBeLessThan(0.5 * few.metrics.fd);
      expect(many.metrics.kid).toBeLessThan(few.metrics.kid - 3 * few.metrics.kidStd);
      expect(many.metrics.classTV).toBeLessThan(few.metrics.classTV);
    } finally {
      await model.dispose();
    }
  }, 300_000);
});

describe('runs', () => {
  const config = path.resolve(__dirname, '..', 'configs', 'examples', 'fashion-mnist-vp.yaml');
  const quick = ['--set', 'sampling.n=8', '--set', 'solver.steps=3', '--set', 'device=cpu', '--set', 'output.preview=false'];

  test("the summary line and manifest carry FD, KID and coverage with n and the floor at n; 'none' turns them off; a missing classifier is an error at reference.features", async () => {
    const tmp = fs.mkdtempSync(path.join(require('os').tmpdir(), 'score-sde-image-run-'));
    try {
      const r = await cli(['run', config, '--out', path.join(tmp, 'a'), '-q', ...quick], tmp);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/\n  features \(classifier\.onnx, n = 8\): FD [\d.e+-]+ \(floor [\d.e+-]+ ± [\d.e+-]+\), KID [\d.e+-]+ ± [\d.e+-]+ \(floor [\d.e+-]+ ± [\d.e+-]+\), class TV [\d.e+-]+ \(floor [\d.e+-]+\), confidence [\d.e+-]+ \(data [\d.e+-]+\)\n$/);
      const m = JSON.parse(fs.readFileSync(path.join(tmp, 'a', 'manifest.json'), 'utf8'));
      expect(m.features).toMatchObject({ source: 'classifier', n: 8, floor: { at: 8, how: 'extrapolated' }, kid: { subsets: 100, subsetSize: 8 } });
      expect(m.features.reference).toBe(path.join(DIR, 'classifier-reference-test.json'));

      // validate names the classifier before anything runs.
      const v = await cli(['validate', config, '--json'], tmp);
      expect(JSON.parse(v.stdout).resolved.features).toEqual({ source: 'classifier', path: path.join(DIR, 'classifier.onnx'), from: 'model card data.classifier (classifier.onnx)' });

      const off = await cli(['run', config, '--out', path.join(tmp, 'b'), '-q', ...quick, '--set', 'reference.features=none'], tmp);
      expect(off.code).toBe(0);
      expect(off.stdout).not.toMatch(/features/);
      const mo = JSON.parse(fs.readFileSync(path.join(tmp, 'b', 'manifest.json'), 'utf8'));
      expect(mo.features).toEqual({ source: 'none', reason: 'reference.features: none' });
      expect(mo.metrics.fd).toBeUndefined();

      const bad = await cli(['run', config, '--out', path.join(tmp, 'c'), '-q', ...quick, '--set', 'reference.features=nowhere/classifier.onnx'], tmp);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/reference\.features: classifier not found \(reference\.features\)/);
      expect(bad.stderr).toContain(path.join(tmp, 'nowhere', 'classifier.onnx'));

      // A classifier without its reference statistics stops the run before it samples.
      fs.mkdirSync(path.join(tmp, 'bare'));
      fs.copyFileSync(path.join(DIR, 'classifier.onnx'), path.join(tmp, 'bare', 'classifier.onnx'));
      const bare = await cli(['run', config, '--out', path.join(tmp, 'd'), '-q', ...quick, '--set', 'reference.features=bare/classifier.onnx'], tmp);
      expect(bare.code).toBe(2);
      expect(bare.stderr).toMatch(/reference\.features: \/.*\/bare\/classifier-reference-test\.json: reference statistics not found \(make them with `npm run metrics:reference`\)/);
      expect(fs.existsSync(path.join(tmp, 'd'))).toBe(false);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
