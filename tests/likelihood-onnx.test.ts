/**
 * The likelihood's route to JVPs of ONNX networks: central differences of score() through the
 * plain float32 graph, step h = c·max(σ(t), 1e-3) (likelihood/finite-differences.ts), measured
 * against exact divergences on the exact-mixture graphs (models/exact/: closed-form scores as ONNX,
 * float32 at their edges). Real onnxruntime sessions on the real files.
 *
 * (1) The full Jacobian trace by differences vs the closed form, 256 points x ~ p_t at each of 8
 *     times t ∈ [1e-5, 1], c = 1e-2, for eps- and score-output graphs of VP, VE and sub-VP:
 *     median relative error ≤ 3e-3 and 99th percentile ≤ 3e-2 at every t (measured: median
 *     ≤ 1.6e-3, p99 ≤ 1.7e-2, both at t ≤ 1e-2, where this wide mixture's Jacobian, ~1/0.3², is
 *     small next to the float32 rounding of x ~ 4 and of s, divided by h; ≤ 3.5e-4 and 1.2e-3
 *     for t ≥ 0.1). Negative control: the same rule without the floor, h = c·σ(t), under sub-VP
 *     (σ(1e-5) = 1e-6, so h falls below float32's resolution of x) breaks both thresholds.
 * (2) Whole likelihoods: 16 mixture points through mixture-vp-t-eps.onnx with the difference
 *     trace vs the JavaScript mixture with its exact divergence: |Δ log p| ≤ 1e-3 nats (measured
 *     ≤ 4.7e-4). Negative control: c = 1e-6 (rounding-dominated) misses it.
 */
import { join } from 'path';
import { loadOnnxScoreModel, OnnxScoreModel } from '../models/onnx';
import {
  DEFAULT_DIVERGENCE,
  GaussianMixture,
  GaussianMixtureScore,
  NoiseSource,
  SDE,
  ScoreModel,
  divergenceEstimator,
  logLikelihood,
} from '../index';

const DIR = join(__dirname, '..', 'models', 'exact');
const TIMES = [1e-5, 1e-4, 1e-3, 1e-2, 0.1, 0.3, 0.6, 1];
const N = 256;
const MEDIAN_TOL = 3e-3;
const P99_TOL = 3e-2;

const open: OnnxScoreModel[] = [];
async function load(file: string): Promise<OnnxScoreModel> {
  const m = await loadOnnxScoreModel(join(DIR, file), { device: 'cpu', threads: 1, log: () => {} });
  open.push(m);
  return m;
}
afterAll(async () => {
  for (const m of open) await m.dispose();
});

/** Relative errors of the difference trace at (x ~ p_t, t), sorted. */
async function traceErrors(model: ScoreModel, sde: SDE, mix: GaussianMixture, t: number, c: number): Promise<number[]> {
  const x = mix.perturbed(sde.meanCoef(t), sde.std(t)).sample(N, 11);
  const ts = new Float64Array(N).fill(t);
  const rows = Int32Array.from({ length: N }, (_, i) => i);
  const exact = new Float64Array(N);
  await new GaussianMixtureScore(sde, mix).scoreDivergence(x, ts, new Float64Array(2 * N), exact);
  const fd = new Float64Array(N);
  const est = divergenceEstimator(model, sde, 2, N, { ...DEFAULT_DIVERGENCE, method: 'jacobian', fdStep: c }, new NoiseSource(0));
  await est.evaluate(x, ts, rows, new Float64Array(2 * N), fd);
  return Array.from(fd, (v, i) => Math.abs(v - exact[i]) / Math.abs(exact[i])).sort((a, b) => a - b);
}

/** The SDE with σ(t) × 1e6, for the step rule only (see the negative control). */
function unflooredSteps(sde: SDE): SDE {
  return Object.assign(Object.create(Object.getPrototypeOf(sde)), sde, { std: (t: number) => 1e6 * sde.std(t) });
}

describe.each(['mixture-vp-t-eps.onnx', 'mixture-ve-t-score.onnx', 'mixture-subvp-t-score.onnx', 'mixture-vp-sigma-score.onnx'])(
  'difference Jacobian trace through %s',
  (file) => {
    test('median and p99 relative error at every t within tolerance (c = 1e-2)', async () => {
      const m = await load(file);
      const mix = new GaussianMixture(m.card.data!.mixture!);
      const outside: { t: number; median: number; p99: number }[] = [];
      for (const t of TIMES) {
        const err = await traceErrors(m, m.sde, mix, t, DEFAULT_DIVERGENCE.fdStep);
        const median = err[N >> 1];
        const p99 = err[Math.floor(0.99 * N)];
        if (!(median < MEDIAN_TOL && p99 < P99_TOL)) outside.push({ t, median, p99 });
      }
      expect(outside).toEqual([]);
    });
  },
);

test('negative control: no floor, h = c·σ(t), breaks the thresholds at small t (sub-VP)', async () => {
  const m = await load('mixture-subvp-t-score.onnx');
  const mix = new GaussianMixture(m.card.data!.mixture!);
  // The step rule reads σ(t) from the SDE it is given (the score is still the graph's): σ·1e6
  // with c·1e-6 is h = c·σ(t) for every σ(t) ≥ 1e-9, i.e. no floor.
  const x = mix.perturbed(m.sde.meanCoef(1e-5), m.sde.std(1e-5)).sample(N, 11);
  const ts = new Float64Array(N).fill(1e-5);
  const exact = new Float64Array(N);
  await new GaussianMixtureScore(m.sde, mix).scoreDivergence(x, ts, new Float64Array(2 * N), exact);
  const fd = new Float64Array(N);
  const c = DEFAULT_DIVERGENCE.fdStep * 1e-6;
  const est = divergenceEstimator(m, unflooredSteps(m.sde), 2, N, { ...DEFAULT_DIVERGENCE, method: 'jacobian', fdStep: c }, new NoiseSource(0));
  await est.evaluate(x, ts, Int32Array.from({ length: N }, (_, i) => i), new Float64Array(2 * N), fd);
  const err = Array.from(fd, (v, i) => Math.abs(v - exact[i]) / Math.abs(exact[i])).sort((a, b) => a - b);
  expect(err[N >> 1]).toBeGreaterThan(MEDIAN_TOL);
  expect(err[Math.floor(0.99 * N)]).toBeGreaterThan(P99_TOL);
});

describe('whole likelihoods through an exact graph', () => {
  const TOL = 1e-3;
  async function gap(c: number): Promise<number> {
    const m = await load('mixture-vp-t-eps.onnx');
    const mix = new GaussianMixture(m.card.data!.mixture!);
    const x = mix.sample(16, 5);
    const exact = await logLikelihood({ sde: m.sde, model: new GaussianMixtureScore(m.sde, mix), data: x });
    const fd = await logLikelihood({ sde: m.sde, model: m, data: x, divergence: { method: 'jacobian', fdStep: c } });
    return Math.max(...fd.logp.map((v, i) => Math.abs(v - exact.logp[i])));
  }
  test('difference trace (c = 1e-2) within TOL nats of the exact divergence', async () => {
    expect(await gap(DEFAULT_DIVERGENCE.fdStep)).toBeLessThan(TOL);
  });
  test('negative control: c = 1e-6 misses', async () => {
    expect(await gap(1e-6)).toBeGreaterThan(TOL);
  });
});
