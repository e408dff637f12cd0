import * as path from 'node:path';
import { loadOnnxScoreModel, OnnxScoreModel } from '../models/onnx';
import { sample } from '../solvers/sample';
import { npyToFloat64, readNpy } from '../core/npy';
import { pixelHistogramDistance, pixelStats, slicedWasserstein } from '../metrics';
import { GaussianMixture } from '../models/gaussian-mixture';
import { modelCardSchema } from '../models/card';
import { readFileSync } from 'node:fs';

// The shipped networks against the data they were trained on. 2-D: every solver family's samples
// are within reach of the sliced Wasserstein noise floor (the distance between two halves of the
// reference set, same n); the thresholds below were set from measured values with margin and are
// stated per line. Images: finite samples of the right shape with the data's pixel statistics.

const ROOT = path.resolve(__dirname, '..');
const N = 2000; // of the 5000 shipped reference points: two disjoint sets for the floor
const PROJECTIONS = 256;

const SOLVERS: { label: string; solver: string; settings: Record<string, unknown> }[] = [
  { label: 'euler_maruyama 300', solver: 'euler_maruyama', settings: { steps: 300 } },
  { label: 'pc rd+langevin(batch) 150', solver: 'pc', settings: { steps: 150, norm: 'batch' } },
  { label: 'pc ancestral+ald 150', solver: 'pc', settings: { steps: 150, predictor: 'ancestral', corrector: 'ald' } },
  { label: 'ode_heun 50', solver: 'ode_heun', settings: { steps: 50 } },
  { label: 'ode_rk45 1e-3', solver: 'ode_rk45', settings: { rtol: 1e-3, atol: 1e-3 } },
];

function reference(file: string): { a: Float64Array; b: Float64Array } {
  const all = npyToFloat64(readNpy(path.join(ROOT, 'models/toy2d', file)));
  return { a: all.subarray(0, 2 * N), b: all.subarray(2 * N, 4 * N) };
}

/**
 * What a perfect sampler would score: for the mixture, the mean distance between exact draws of
 * the card's mixture and the reference (5 draws); for the moons, between the two reference halves.
 */
function noiseFloor(data: string, ref: { a: Float64Array; b: Float64Array }): number {
  if (data !== 'mixture') return slicedWasserstein(ref.a, ref.b, 2, { projections: PROJECTIONS, seed: 3 });
  const card = modelCardSchema.parse(JSON.parse(readFileSync(path.join(ROOT, 'models/toy2d/mixture-vp.card.json'), 'utf8')));
  const mixture = new GaussianMixture(card.data!.mixture!);
  let sum = 0;
  for (let k = 0; k < 5; k++) sum += slicedWasserstein(mixture.sample(N, 100 + k), ref.a, 2, { projections: PROJECTIONS, seed: 3 });
  return sum / 5;
}

describe.each(['mixture', 'moons'])('shipped 2-D %s networks', (data) => {
  const ref = reference(`${data}-reference.npy`);
  const floor = noiseFloor(data, ref);

  test.each(['vp', 've', 'subvp'])(`%s: every solver family lands near the data`, async (kind) => {
    const model = await loadOnnxScoreModel(path.join(ROOT, `models/toy2d/${data}-${kind}.onnx`), { device: 'cpu', threads: 1, log: () => {} });
    try {
      const rows: string[] = [];
      const distances: number[] = [];
      for (const s of SOLVERS) {
        if (kind === 'subvp' && s.settings.predictor === 'ancestral') continue; // sub-VP has no ancestral step
        const r = await sample({ sde: model.sde, model, solver: s.solver, settings: s.settings, n: N, seed: 11 });
        const sw = slicedWasserstein(r.samples.data, ref.a, 2, { projections: PROJECTIONS, seed: 3 });
        rows.push(`${s.label}: SW ${sw.toFixed(3)} (floor ${floor.toFixed(3)})`);
        distances.push(sw);
      }
      console.log(`${data}-${kind}\n  ${rows.join('\n  ')}`);
      // A learned score is not exact: allow 2× the floor plus 0.05. A sampler off by a sign or a
      // missing square root lands far beyond (> 1).
      for (const sw of distances) expect(sw).toBeLessThan(2 * floor + 0.05);
    } finally {
      await model.dispose();
    }
  });
});

test('negative control: the same network with its score halved fails the 2-D threshold', async () => {
  const ref = reference('mixture-reference.npy');
  const floor = noiseFloor('mixture', ref);
  const model = await loadOnnxScoreModel(path.join(ROOT, 'models/toy2d/mixture-vp.onnx'), { device: 'cpu', threads: 1, log: () => {} });
  try {
    const halved = {
      sampleShape: model.sampleShape,
      score: async (x: Float64Array, t: Float64Array, out: Float64Array) => {
        await model.score(x, t, out);
        for (let j = 0; j < out.length; j++) out[j] *= 0.5;
      },
    };
    const r = await sample({ sde: model.sde, model: halved, solver: 'euler_maruyama', settings: { steps: 300 }, n: N, seed: 11 });
    expect(slicedWasserstein(r.samples.data, ref.a, 2, { projections: PROJECTIONS, seed: 3 })).toBeGreaterThan(2 * floor + 0.05);
  } finally {
    await model.dispose();
  }
});

describe('shipped Fashion-MNIST U-Nets', () => {
  const refAll = npyToFloat64(readNpy(path.join(ROOT, 'models/fashion-mnist/fashion-mnist-test-1000.npy')));
  const data = pixelStats(refAll);

  test.each(['vp', 've'])('%s: finite [n,1,28,28] samples with the data pixel statistics', async (kind) => {
    const model: OnnxScoreModel = await loadOnnxScoreModel(path.join(ROOT, `models/fashion-mnist/unet-${kind}.onnx`), { device: 'cpu', log: () => {} });
    try {
      const n = 16;
      const r = await sample({ sde: model.sde, model, solver: 'euler_maruyama', settings: { steps: 100, denoise: true }, n, seed: 5 });
      expect(r.samples.shape).toEqual([n, 1, 28, 28]);
      const x = r.samples.data;
      expect(x.every(Number.isFinite)).toBe(true);
      const stats = pixelStats(x);
      const hist = pixelHistogramDistance(x, refAll, [-1, 1], 32);
      console.log(`unet-${kind}: pixel mean ${stats.mean.toFixed(3)} std ${stats.std.toFixed(3)} (data ${data.mean.toFixed(3)} / ${data.std.toFixed(3)}); histogram distance ${hist.toFixed(3)}`);
      // Fashion-MNIST in [-1, 1] has pixel mean ≈ −0.42 and std ≈ 0.71: mostly black background.
      // Measured with 16 samples of 100-step EM: |Δmean| ≤ 0.02, |Δstd| ≤ 0.02, histogram distance
      // ≈ 0.10 for both models; an early 1-epoch VE model gave std 10.4 and distance 0.39.
      expect(Math.abs(stats.mean - data.mean)).toBeLessThan(0.08);
      expect(Math.abs(stats.std - data.std)).toBeLessThan(0.1);
      expect(hist).toBeLessThan(0.2);
    } finally {
      await model.dispose();
    }
  });
});
