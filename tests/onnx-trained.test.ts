import * as path from 'node:path';
import { readFileSync } from 'node:fs';
import { loadOnnxScoreModel, OnnxScoreModel } from '../models/onnx';
import { sample } from '../solvers/sample';
import type { SolverRef } from '../solvers/request';
import { npyToFloat64, readNpy } from '../core/npy';
import { pixelHistogramDistance, pixelStats } from '../metrics';
import { modelCardSchema } from '../models/card';
import { ScoreModel } from '../core/score';
import { scaledNoiseEulerMaruyama } from './support/wrong-solvers';

/**
 * The shipped networks against the data they were trained on, with statistics that see the
 * shape of the distribution (a global distance on 2-D data is dominated by mode weights and
 * passed with the noise variance doubled):
 *   mixture (8 modes of known std): the mode weights (|z| ≤ 4, z from the binomial SE) and the
 *     pooled within-mode variance ratio Σ_k Σ (x − x̄_k)² / Σ_k 2(n_k − 1)σ_k², 1 for exact draws
 *     (sampling SE ≈ 1.6% at n = 4000), in a band per solver measured on all three networks;
 *   moons: the thickness, the mean squared distance from a sample to the nearest of 2000
 *     reference points, against the same for 2000 other reference points (the floor).
 * Negative controls fail the same thresholds: Euler–Maruyama's noise variance × 1.2 and × 2, the
 * network fed 999·t for t (a time-convention mix-up), the score halved.
 */

const ROOT = path.resolve(__dirname, '..');
const quiet = { device: 'cpu' as const, threads: 1, log: () => {} };
const load = (file: string) => loadOnnxScoreModel(path.join(ROOT, 'models', file), quiet);

const MIXTURE = modelCardSchema.parse(JSON.parse(readFileSync(path.join(ROOT, 'models/toy2d/mixture-vp.card.json'), 'utf8'))).data!.mixture!;
const N_MIXTURE = 4000;

interface Case {
  label: string;
  solver: SolverRef;
  settings: Record<string, unknown>;
  /** Band of the within-mode variance ratio (mixture). */
  band: [number, number];
}

/**
 * Bands from the ratios measured at n = 4000, seed 11, on the VP, VE and sub-VP networks:
 *   euler_maruyama 300   1.04–1.08  (the learned score's own bias: the card's EM reaches the same)
 *   pc rd + langevin     1.05 / 1.30 / 1.18  (VP / VE / sub-VP: snr 0.16's known variance bias)
 *   pc ancestral + ald   1.00–1.08;  ode_heun 50  0.98–1.09;  ode_rk45 1e-3  0.96–1.08
 * Measured with the negative controls: EM noise variance × 1.2: 1.22–1.28; × 2: 1.94–2.03;
 * Langevin noise without its √2 (a mutation run by hand): 0.62–0.85.
 */
const CASES: Case[] = [
  { label: 'euler_maruyama 300', solver: 'euler_maruyama', settings: { steps: 300 }, band: [0.92, 1.15] },
  { label: 'pc rd+langevin(batch) 150', solver: 'pc', settings: { steps: 150, norm: 'batch' }, band: [0.92, 1.4] },
  { label: 'pc ancestral+ald 150', solver: 'pc', settings: { steps: 150, predictor: 'ancestral', corrector: 'ald' }, band: [0.92, 1.15] },
  { label: 'ode_heun 50', solver: 'ode_heun', settings: { steps: 50 }, band: [0.92, 1.15] },
  { label: 'ode_rk45 1e-3', solver: 'ode_rk45', settings: { rtol: 1e-3, atol: 1e-3 }, band: [0.92, 1.15] },
];

/** Mode-weight z-scores and the pooled within-mode variance ratio, samples split by nearest mean. */
function mixtureStats(x: Float64Array): { z: number[]; ratio: number } {
  const { means, stds } = MIXTURE as { means: number[][]; stds: number[] };
  const weights = MIXTURE.weights!;
  const K = means.length;
  const n = x.length / 2;
  const label = new Int32Array(n);
  const count = new Array<number>(K).fill(0);
  const sum = means.map(() => [0, 0]);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestD = Infinity;
    for (let k = 0; k < K; k++) {
      const d = (x[2 * i] - means[k][0]) ** 2 + (x[2 * i + 1] - means[k][1]) ** 2;
      if (d < bestD) [best, bestD] = [k, d];
    }
    label[i] = best;
    count[best]++;
    sum[best][0] += x[2 * i];
    sum[best][1] += x[2 * i + 1];
  }
  let within = 0;
  for (let i = 0; i < n; i++) for (let d = 0; d < 2; d++) within += (x[2 * i + d] - sum[label[i]][d] / count[label[i]]) ** 2;
  let expected = 0;
  for (let k = 0; k < K; k++) expected += 2 * Math.max(count[k] - 1, 0) * stds[k] ** 2;
  const z = count.map((c, k) => (c / n - weights[k]) / Math.sqrt((weights[k] * (1 - weights[k])) / n));
  return { z, ratio: within / expected };
}

/** Runs a sampler; a run that fails on non-finite values counts as "far off" (Infinity). */
async function ratioOrInfinity(model: ScoreModel, sde: OnnxScoreModel['sde'], solver: SolverRef, settings: Record<string, unknown>): Promise<{ z: number[]; ratio: number }> {
  try {
    return mixtureStats((await sample({ sde, model, solver, settings, n: N_MIXTURE, seed: 11 })).samples.data);
  } catch (e) {
    expect((e as Error).name).toBe('NonFiniteError');
    return { z: [Infinity], ratio: Infinity };
  }
}

describe.each(['vp', 've', 'subvp'])('shipped 2-D mixture network (%s)', (kind) => {
  let model: OnnxScoreModel;
  beforeAll(async () => {
    model = await load(`toy2d/mixture-${kind}.onnx`);
  });
  afterAll(() => model.dispose());

  // sub-VP has no ancestral step: its case is left out of the matrix, not passed without checks.
  const cases = CASES.filter((c) => !(kind === 'subvp' && c.settings.predictor === 'ancestral'));
  test.each(cases.map((c) => [c.label, c] as const))('%s: mode weights and within-mode variance', async (_label, c) => {
    const { z, ratio } = mixtureStats((await sample({ sde: model.sde, model, solver: c.solver, settings: c.settings, n: N_MIXTURE, seed: 11 })).samples.data);
    console.log(`mixture-${kind} ${c.label}: within-mode variance ratio ${ratio.toFixed(3)} (band ${c.band.join('–')}), mode |z| max ${Math.max(...z.map(Math.abs)).toFixed(1)}`);
    expect(ratio).toBeGreaterThan(c.band[0]);
    expect(ratio).toBeLessThan(c.band[1]);
    for (const v of z) expect(Math.abs(v)).toBeLessThan(4);
  });

  test('negative controls: EM noise variance × 1.2 and × 2, the network fed 999·t, the score halved', async () => {
    const em = CASES[0];
    const pc = CASES[1];
    const wrongTime: ScoreModel = { sampleShape: [2], score: (x, t, out) => model.score(x, t.map((v) => 999 * v), out) };
    const halved: ScoreModel = {
      sampleShape: [2],
      score: async (x, t, out) => {
        await model.score(x, t, out);
        for (let j = 0; j < out.length; j++) out[j] *= 0.5;
      },
    };
    const rows: string[] = [];
    for (const [label, m, solver, settings, band] of [
      ['EM noise × 1.2', model, scaledNoiseEulerMaruyama(1.2), em.settings, em.band],
      ['EM noise × 2', model, scaledNoiseEulerMaruyama(2), em.settings, em.band],
      ['pc, network fed 999·t', wrongTime, pc.solver, pc.settings, pc.band],
      ['EM, score × 0.5', halved, em.solver, em.settings, em.band],
    ] as const) {
      const { z, ratio } = await ratioOrInfinity(m, model.sde, solver, settings);
      rows.push(`${label}: ratio ${ratio.toFixed(3)}, |z| max ${Math.max(...z.map(Math.abs)).toFixed(1)}`);
      const inside = ratio > band[0] && ratio < band[1] && z.every((v) => Math.abs(v) < 4);
      expect([label, inside]).toEqual([label, false]);
    }
    console.log(`WRONG mixture-${kind}:\n  ${rows.join('\n  ')}`);
  });
});

describe('shipped 2-D moons networks: the thickness of the moons', () => {
  const all = npyToFloat64(readNpy(path.join(ROOT, 'models/toy2d/moons-reference.npy')));
  const heldOut = all.subarray(0, 4000);
  const reference = all.subarray(4000, 8000);
  /** Mean squared distance from each sample to its nearest reference point. */
  const thickness = (x: Float64Array) => {
    let s = 0;
    for (let i = 0; i < x.length; i += 2) {
      let best = Infinity;
      for (let j = 0; j < reference.length; j += 2) best = Math.min(best, (x[i] - reference[j]) ** 2 + (x[i + 1] - reference[j + 1]) ** 2);
      s += best;
    }
    return s / (x.length / 2);
  };
  const floor = thickness(heldOut);

  /**
   * Measured at n = 2000, seed 11 (floor 0.00192): EM 300 1.22–1.52× the floor, PC 1.19–1.81×,
   * Heun 1.83–1.91×, RK45 1.70–1.83×; EM with noise variance × 2: 3.88–4.47×. Threshold 2.6×.
   */
  test.each(['vp', 've', 'subvp'])('%s: every solver family within 2.6× the floor; EM noise variance × 2 beyond it', async (kind) => {
    const model = await load(`toy2d/moons-${kind}.onnx`);
    try {
      const rows: string[] = [];
      for (const c of CASES) {
        if (kind === 'subvp' && c.settings.predictor === 'ancestral') continue;
        const th = thickness((await sample({ sde: model.sde, model, solver: c.solver, settings: c.settings, n: 2000, seed: 11 })).samples.data);
        rows.push(`${c.label}: ${(th / floor).toFixed(2)}× floor`);
        expect(th).toBeLessThan(2.6 * floor);
      }
      const wrong = thickness((await sample({ sde: model.sde, model, solver: scaledNoiseEulerMaruyama(2), settings: { steps: 300 }, n: 2000, seed: 11 })).samples.data);
      rows.push(`WRONG EM noise × 2: ${(wrong / floor).toFixed(2)}× floor`);
      console.log(`moons-${kind} (floor ${floor.toFixed(5)}):\n  ${rows.join('\n  ')}`);
      expect(wrong).toBeGreaterThan(2.6 * floor);
    } finally {
      await model.dispose();
    }
  });
});

describe('batch invariance through a shipped ONNX network', () => {
  test('300 samples (more than 256 rows): batch sizes 1, 7 and 300 give bitwise the same samples', async () => {
    const model = await load('toy2d/mixture-ve.onnx');
    try {
      for (const [solver, settings] of [
        ['pc', { steps: 20, noise: 'path' }],
        ['euler_maruyama', { steps: 20 }],
        ['ode_rk45', { rtol: 1e-3, atol: 1e-3 }],
      ] as const) {
        const runs: Float64Array[] = [];
        for (const batchSize of [1, 7, 300]) runs.push((await sample({ sde: model.sde, model, solver, settings, n: 300, seed: 2, batchSize })).samples.data);
        expect(runs[1]).toEqual(runs[0]);
        expect(runs[2]).toEqual(runs[0]);
      }
    } finally {
      await model.dispose();
    }
  });
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
      // Thresholds from 2000 random 16-image subsets of the data itself: their pixel mean has
      // SD 0.065, their pixel std SD 0.036, their histogram distance to the whole set mean 0.081,
      // SD 0.021, max 0.177. Bounds: 4 SD (mean 0.26, std 0.145) and 0.2 for the histogram.
      // (An earlier bound of 0.08 on the mean was 1.2 SD: it held for one noise draw, not
      // another.) An early 1-epoch VE model gave std 10.4 and distance 0.39.
      expect(Math.abs(stats.mean - data.mean)).toBeLessThan(4 * 0.065);
      expect(Math.abs(stats.std - data.std)).toBeLessThan(4 * 0.036);
      expect(hist).toBeLessThan(0.2);
    } finally {
      await model.dispose();
    }
  });
});
