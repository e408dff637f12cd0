/**
 * Every sampler on Gaussian data with the exact score: the samples must have the data's mean and
 * covariance. Plus the Langevin corrector's per-sample norms (high- and low-dimensional), the
 * sub-VP ancestral error, and the NFE accounting of sample().
 *
 * Targets. With the exact score the only differences from the data N(μ, diag σ_d²) are
 *   (1) the prior mismatch: x_T is drawn from N(0, priorStd²) instead of the true p_T =
 *       N(α_T μ, V_T), V(t) = α(t)²σ_d² + s(t)², α = meanCoef, s = std. The exact reverse
 *       dynamics are linear, so a deviation δ at T reaches eps scaled by ρ, with
 *         PF-ODE:      ρ = sqrt(V_e/V_T)                       (x_t − α_t μ ∝ sqrt(V_t))
 *         reverse SDE: ρ = (V_e/α_e)/(V_T/α_T)                 (dδ/dt = (a + g²/V)δ)
 *       giving mean α_e μ − ρ α_T μ and variance ρ²p² (ODE) or V_e + ρ²(p² − V_T) (SDE).
 *       This matters for the VE ODE: δ_T = −μ, ρ = σ_d/σ_max, a mean shift of 0.08 in the
 *       second coordinate (1.8 standard errors at n = 2000). It is computed exactly here;
 *   (2) discretization, bounded by an allowance measured with n = 40000 (2 seeds × 20000,
 *       variance SE 0.7%) at the step counts used here: see ALLOWANCE.
 * Tolerance = 4 standard errors (from the samples themselves) + allowance. With 33 sampler
 * configurations × 5 statistics, 4 SE gives a family-wise false-alarm rate of about 1%.
 */
import {
  CountingScoreModel,
  GaussianMixtureScore,
  NoiseSource,
  SDE,
  ScoreModel,
  Stream,
  SubVPSDE,
  VESDE,
  VPSDE,
  sample,
} from '../index';
import { columnMeans, moments } from './support/stats';
import { scaledNoiseEulerMaruyama } from './support/wrong-solvers';
import type { SolverRef } from '../solvers/request';

const { abs, exp, log, sqrt } = Math;

const MU = [1, -2];
const SD = [0.5, 2];
const N = 2000;
const STEPS = 250;

/**
 * Discretization allowances (absolute, in units of the data: mean in σ_d, variance relative,
 * cross-covariance in σ_d0·σ_d1). Largest biases measured with n = 40000 at these step counts:
 *   mean:  0.012 σ_d (VE pc + ald)
 *   var:   +4.9% (langevin corrector, snr 0.16, the σ = 0.5 coordinate: the known step-size
 *          bias of one corrector step per predictor step), −4.6% (VE ancestral, no corrector),
 *          +4.2% (VE reverse_diffusion, no corrector), −3.5% (VE ode_euler at 1000 steps)
 *   cov:   0.0075
 */
const ALLOWANCE = { mean: 0.02, variance: 0.06, cov: 0.015 };

interface Config {
  label: string;
  solver: string;
  settings: Record<string, unknown>;
  ode: boolean;
}

const CONFIGS: Config[] = [
  { label: 'euler_maruyama', solver: 'euler_maruyama', settings: { steps: STEPS }, ode: false },
  // Euler on the VE PF-ODE is far from converged at 250 uniform steps (−18% variance at 200);
  // at 1000 it is −3.5%.
  { label: 'ode_euler', solver: 'ode_euler', settings: { steps: 1000 }, ode: true },
  { label: 'ode_heun', solver: 'ode_heun', settings: { steps: 100 }, ode: true },
];
for (const predictor of ['reverse_diffusion', 'ancestral', 'euler_maruyama'] as const) {
  for (const [corrector, extra] of [
    ['langevin', { norm: 'batch' }],
    ['ald', {}],
    ['none', {}],
  ] as const) {
    CONFIGS.push({
      label: `pc ${predictor} + ${corrector}${'norm' in extra ? ' (batch norms)' : ''}`,
      solver: 'pc',
      settings: { steps: STEPS, predictor, corrector, ...extra },
      ode: false,
    });
  }
}

const SDES: [string, () => SDE][] = [
  ['VE', () => new VESDE()],
  ['VP', () => new VPSDE()],
  ['sub-VP', () => new SubVPSDE()],
];

/** Mean and variance per coordinate of the exact sampler's output, prior mismatch included. */
function target(sde: SDE, eps: number, ode: boolean): { mean: number[]; variance: number[] } {
  const aT = sde.meanCoef(sde.T);
  const sT = sde.std(sde.T);
  const ae = sde.meanCoef(eps);
  const se = sde.std(eps);
  const p2 = sde.priorStd ** 2;
  const mean: number[] = [];
  const variance: number[] = [];
  for (let d = 0; d < MU.length; d++) {
    const VT = aT * aT * SD[d] ** 2 + sT * sT;
    const Ve = ae * ae * SD[d] ** 2 + se * se;
    const rho = ode ? sqrt(Ve / VT) : Ve / ae / (VT / aT);
    mean.push(ae * MU[d] - rho * aT * MU[d]);
    variance.push(ode ? (Ve * p2) / VT : Ve + rho * rho * (p2 - VT));
  }
  return { mean, variance };
}

describe('Gaussian data: every sampler reproduces mean and covariance', () => {
  const cases: [string, string, () => SDE, Config][] = [];
  for (const [sdeName, make] of SDES) {
    for (const c of CONFIGS) {
      if (sdeName === 'sub-VP' && c.settings.predictor === 'ancestral') continue;
      cases.push([sdeName, c.label, make, c]);
    }
  }

  test.each(cases)('%s %s', async (_s, _l, make, c) => {
    const sde = make();
    const model = new GaussianMixtureScore(sde, { means: [MU], stds: [SD] });
    const r = await sample({ sde, model, solver: c.solver, settings: c.settings, n: N, seed: 7 });
    const m = moments(r.samples.data, 2);
    const tg = target(sde, sde.defaultEps, c.ode);
    const fmt = (v: number) => (v >= 0 ? '+' : '') + v.toFixed(3);
    console.log(
      `${sde.kind} ${c.label}: mean err/σ ${[0, 1].map((d) => fmt((m.mean[d] - tg.mean[d]) / SD[d])).join(' ')}, ` +
        `var rel err ${[0, 1].map((d) => fmt(m.cov[d * 3] / tg.variance[d] - 1)).join(' ')} (SE ${[0, 1].map((d) => (m.covSE[d * 3] / tg.variance[d]).toFixed(3)).join(' ')}), ` +
        `corr ${fmt(m.cov[1] / (SD[0] * SD[1]))}`,
    );
    for (let d = 0; d < 2; d++) {
      expect(abs(m.mean[d] - tg.mean[d])).toBeLessThanOrEqual(4 * m.meanSE[d] + ALLOWANCE.mean * SD[d]);
      expect(abs(m.cov[d * 3] - tg.variance[d])).toBeLessThanOrEqual(4 * m.covSE[d * 3] + ALLOWANCE.variance * tg.variance[d]);
    }
    expect(abs(m.cov[1])).toBeLessThanOrEqual(4 * m.covSE[1] + ALLOWANCE.cov * SD[0] * SD[1]);
  });

  test('sub-VP has no ancestral predictor: a clear error, not NaNs', async () => {
    const sde = new SubVPSDE();
    const model = new GaussianMixtureScore(sde, { means: [MU], stds: [SD] });
    await expect(sample({ sde, model, solver: 'pc', settings: { steps: 5, predictor: 'ancestral' }, n: 4 })).rejects.toThrow(
      /ancestral.*VE or VP.*subvp/,
    );
  });
});

describe('Langevin corrector with per-sample norms', () => {
  /**
   * Per-sample norms (the default) make each sample's step ε = 2α(snr‖z‖/‖s‖)² depend on its own
   * ‖s‖. In d dimensions ‖z‖²/‖s‖² concentrates as d grows; in 2-D it has a heavy tail. So the
   * per-sample corrector is tested on a 64-D anisotropic Gaussian (std 0.5..2).
   *
   * n = 400, 100 steps: pooled relative variance error over the 64 coordinates has SE
   * sqrt(2/n/d) = 0.9%. Measured (seed 1, two versions of the noise source): +8.1..8.4% VP,
   * +9.0..9.5% VE, +8.9..9.2% sub-VP; the batch-norm and
   * ALD correctors give +2.8..3.4% and ≤ 5% under the same settings, so most of it is the known
   * upward bias of snr = 0.16 with one corrector step (the small-variance coordinates, +30..45%,
   * carry it). Tolerance: 4 SE + 12%. A missing √2 in the Langevin noise halves the variance
   * (−50%); a wrong score sign diverges.
   */
  const d = 64;
  const n = 400;
  const mean = Array.from({ length: d }, (_, i) => (i % 3) - 1);
  const std = Array.from({ length: d }, (_, i) => 0.5 + (i % 4) * 0.5);

  test.each(SDES)('%s: 64-D Gaussian, pc + langevin (norm: sample)', async (_name, make) => {
    const sde = make();
    const model = new GaussianMixtureScore(sde, { means: [mean], stds: [std] });
    const r = await sample({ sde, model, solver: 'pc', settings: { steps: 100, snr: 0.16 }, n, seed: 1 });
    const x = r.samples.data;
    const m = columnMeans(x, d);
    let relVar = 0;
    for (let j = 0; j < d; j++) {
      let v = 0;
      for (let i = 0; i < n; i++) v += (x[i * d + j] - m[j]) ** 2;
      v /= n - 1;
      relVar += (v / std[j] ** 2 - 1) / d;
      // Means: 4 SE per coordinate (64 coordinates: 0.4% family-wise false-alarm rate).
      expect(abs(m[j] - mean[j])).toBeLessThanOrEqual((4 * std[j]) / sqrt(n));
    }
    console.log(`${sde.kind} d=${d} per-sample Langevin: pooled relative variance error ${relVar.toFixed(4)}`);
    expect(abs(relVar)).toBeLessThanOrEqual(4 * sqrt(2 / n / d) + 0.12);
  });

  test('2-D: per-sample norms inflate the variance; batch norms (or ald) fix it', async () => {
    // Documents a property of per-sample snr-scaled Langevin steps in low dimension, not a bug
    // to be hidden: in 2-D, ‖s‖² of a sample near the mode is tiny and ε ∝ 1/‖s‖² has no finite
    // mean, so rare huge steps inflate the variance several-fold (measured relative variance
    // errors per coordinate +4.7..+17, i.e. the variance ×5.7..18, at n = 2000, 200 steps). With
    // batch-mean norms the step is one number per batch and the error is +1..6% (the snr bias
    // above); ald (ε from std(t)) −2..+6%.
    // Thresholds: per-sample, sum over the two coordinates > +400%; batch and ald within
    // 4 SE + 6% per coordinate.
    const sde = new VPSDE();
    const model = new GaussianMixtureScore(sde, { means: [MU], stds: [SD] });
    const relErr = async (settings: Record<string, unknown>) => {
      const r = await sample({ sde, model, solver: 'pc', settings: { steps: 200, ...settings }, n: N, seed: 1 });
      const m = moments(r.samples.data, 2);
      return [0, 1].map((j) => ({ rel: m.cov[j * 3] / SD[j] ** 2 - 1, se: m.covSE[j * 3] / SD[j] ** 2 }));
    };
    const perSample = await relErr({ norm: 'sample' });
    const batch = await relErr({ norm: 'batch' });
    const ald = await relErr({ corrector: 'ald' });
    console.log(
      `2-D VP relative variance error: per-sample ${perSample.map((e) => e.rel.toFixed(3))}, batch ${batch.map((e) => e.rel.toFixed(3))}, ald ${ald.map((e) => e.rel.toFixed(3))}`,
    );
    expect(perSample[0].rel + perSample[1].rel).toBeGreaterThan(2 * 2);
    for (const e of [...batch, ...ald]) expect(abs(e.rel)).toBeLessThanOrEqual(4 * e.se + 0.06);
  });
});

/** Counts calls and per-sample evaluations itself, independently of sample()'s own counter. */
class MyCounter implements ScoreModel {
  calls = 0;
  evals = 0;
  constructor(private readonly inner: ScoreModel) {}
  get sampleShape() {
    return this.inner.sampleShape;
  }
  async score(x: Float64Array, t: Float64Array, out: Float64Array): Promise<void> {
    this.calls++;
    this.evals += t.length;
    // Every call must be a well-formed batch.
    expect(x.length).toBe(t.length * 2);
    expect(out.length).toBe(x.length);
    return this.inner.score(x, t, out);
  }
}

describe('NFE is what the solver really spent', () => {
  const steps = 12;
  const n = 10;
  const batchSize = 4; // 3 chunks: 4, 4, 2
  const chunks = 3;
  const cases: [string, string, Record<string, unknown>, number][] = [
    ['euler_maruyama', 'euler_maruyama', {}, steps],
    ['pc default (1 corrector step)', 'pc', {}, 2 * steps],
    ['pc 3 corrector steps', 'pc', { correctorSteps: 3 }, 4 * steps],
    ['pc ald 2 corrector steps', 'pc', { corrector: 'ald', correctorSteps: 2 }, 3 * steps],
    ['pc corrector none', 'pc', { corrector: 'none' }, steps],
    ['pc correctorSteps 0', 'pc', { correctorSteps: 0 }, steps],
    ['pc predictor none', 'pc', { predictor: 'none', correctorSteps: 2 }, 2 * steps],
    ['ode_euler', 'ode_euler', {}, steps],
    ['ode_heun', 'ode_heun', {}, 2 * steps],
  ];
  test.each(cases)('%s', async (_label, solver, settings, perSample) => {
    for (const sde of [new VESDE(), new VPSDE()]) {
      for (const denoise of [false, true]) {
        const counter = new MyCounter(new GaussianMixtureScore(sde, { means: [MU], stds: [SD] }));
        const r = await sample({ sde, model: counter, solver, settings: { steps, denoise, ...settings }, n, batchSize, seed: 3 });
        const expected = perSample + (denoise ? 1 : 0);
        expect(counter.evals).toBe(expected * n);
        expect(counter.calls).toBe(expected * chunks);
        expect(r.evaluations).toBe(counter.evals);
        expect(r.calls).toBe(counter.calls);
        expect(r.nfe).toBe(expected);
      }
    }
  });

  test('CountingScoreModel counts calls and per-sample evaluations', async () => {
    const sde = new VPSDE();
    const c = new CountingScoreModel(new GaussianMixtureScore(sde, { means: [MU], stds: [SD] }));
    const x = new Float64Array(10);
    new NoiseSource(1).normal(x, 2, 0, Stream.data);
    await c.score(x, new Float64Array(5).fill(0.5), new Float64Array(10));
    await c.score(x.subarray(0, 4), new Float64Array(2).fill(0.5), new Float64Array(4));
    expect(c.calls).toBe(2);
    expect(c.evaluations).toBe(7);
    expect(c.sampleShape).toEqual([2]);
  });
});

describe('the noise scale is pinned: Euler–Maruyama against noise variance × 1.1', () => {
  /**
   * The moment tests above allow 4 SE + 6% at n = 2000, which +10% noise variance passes (it
   * raises the output variance by ~10%). Here n = 10 000 at 500 steps: the pooled relative
   * variance error (both coordinates) has SE √(2/n)/√2 = 1%; measured −1.0..−0.7% for the correct
   * solver, +8.9..+9.2% with the noise variance × 1.1. Threshold 4 SE + 1.5% = 5.5%.
   */
  const n = 10_000;
  const threshold = 4 * Math.sqrt(2 / n) / Math.SQRT2 + 0.015;
  const pooledRelVar = (x: Float64Array) => {
    const m = moments(x, 2);
    return (m.cov[0] / SD[0] ** 2 + m.cov[3] / SD[1] ** 2) / 2 - 1;
  };
  test.each(SDES)('%s', async (_name, make) => {
    const sde = make();
    const model = new GaussianMixtureScore(sde, { means: [MU], stds: [SD] });
    const run = async (solver: SolverRef) => pooledRelVar((await sample({ sde, model, solver, settings: { steps: 500 }, n, seed: 3 })).samples.data);
    const good = await run('euler_maruyama');
    const wrong = await run(scaledNoiseEulerMaruyama(1.1));
    console.log(`${sde.kind}: pooled relative variance error ${good.toFixed(4)} (noise variance × 1.1: ${wrong.toFixed(4)}), threshold ${threshold.toFixed(4)}`);
    expect(Math.abs(good)).toBeLessThan(threshold);
    expect(Math.abs(wrong)).toBeGreaterThan(threshold);
  });
});
