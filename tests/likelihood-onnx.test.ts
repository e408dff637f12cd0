/**
 * The likelihood's route to JVPs of ONNX networks: central differences of score() through the
 * plain float32 graph, step h = c·√(α(t)² + σ(t)²) (likelihood/finite-differences.ts), measured
 * against exact divergences on the exact-mixture graphs (models/exact/: closed-form scores as ONNX,
 * float32 at their edges). Real onnxruntime sessions on the real files.
 *
 * (1) The full Jacobian trace by differences vs the closed form, 256 points x ~ p_t at each of 8
 *     times t ∈ [1e-5, 1]: median relative error ≤ 2e-5 and 99th percentile ≤ 5e-3 at every t
 *     for eps- and score-output graphs of VP, VE and sub-VP at the default c = 1e-2 (measured:
 *     median ≤ 6e-6, p99 ≤ 1.5e-3, the p99 at mid t where points sit between modes). Negative
 *     control: the step rule h = c·σ(t) (the kernel's σ alone), whose input and output rounding at
 *     small σ breaks the same thresholds (sub-VP: σ(1e-5) = 1e-6).
 * (2) Whole likelihoods: 16 mixture points through mixture-vp-t-eps.onnx with the difference
 *     trace vs the JavaScript mixture with its exact divergence: |Δ log p| ≤ 1e-3 nats (measured
 *     ≤ 2e-4). Negative control: c = 1e-6 (rounding-dominated) misses it.
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
const MEDIAN_TOL = 2e-5;
const P99_TOL = 5e-3;

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

/** The same model with its SDE's α(t) pinned to 0 for the step rule only: h = c·σ(t). */
function sigmaOnlySteps(sde: SDE): SDE {
  return Object.assign(Object.create(Object.getPrototypeOf(sde)), sde, { meanCoef: () => 0 });
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

test('negative control: steps c·σ(t) break the thresholds at small t (sub-VP)', async () => {
  const m = await load('mixture-subvp-t-score.onnx');
  const mix = new GaussianMixture(m.card.data!.mixture!);
  const fdSde = sigmaOnlySteps(m.sde);
  // The step rule reads α and σ from the SDE it is given; the score itself is still the graph's.
  const x = mix.perturbed(m.sde.meanCoef(1e-5), m.sde.std(1e-5)).sample(N, 11);
  const ts = new Float64Array(N).fill(1e-5);
  const exact = new Float64Array(N);
  await new GaussianMixtureScore(m.sde, mix).scoreDivergence(x, ts, new Float64Array(2 * N), exact);
  const fd = new Float64Array(N);
  const est = divergenceEstimator(m, fdSde, 2, N, { ...DEFAULT_DIVERGENCE, method: 'jacobian' }, new NoiseSource(0));
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
