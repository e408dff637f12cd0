/**
 * The fast solvers on Gaussian mixtures: deterministic ones against the exact probability-flow
 * solution from the same x_T at 10 and 20 evaluations; stochastic ones by the distribution they
 * sample (Gaussian data's mean and covariance, the mixture's mode weights).
 */
import { GaussianMixtureScore, SDE, SubVPSDE, VESDE, VPSDE, sample } from '../index';
import { MU, SD } from './support/gaussian-flow';
import { moments } from './support/stats';

const { abs, sqrt } = Math;

/** Anisotropic, overlapping-to-separated components with unequal weights (tests/predict.test.ts's). */
const MIXTURE = { means: [[-2, 1], [3, 0], [0, -4]], stds: [[0.3, 0.6], [0.8, 0.8], [1.2, 0.2]], weights: [0.5, 0.3, 0.2] };

function rms(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return sqrt(s / a.length);
}

describe('deterministic fast solvers against the exact PF-ODE solution on a mixture, 10 and 20 evaluations', () => {
  /**
   * RMS error over 64 samples × 2 coordinates against ode_rk45 at rtol = atol = 1e-10 from the
   * same x_T (default eps), budget `nfe` (dpm_solver order 3 spends 9 and 18, edm without its
   * step to σ = 0 spends 10 and 20). Measured RMS at 10 / 20 evaluations:
   *                       VP              VE
   *   ddim                0.309 / 0.181   0.276 / 0.169
   *   dpm_solver order 2  0.685 / 0.095   0.380 / 0.074
   *   dpm_solver order 3  1.29  / 0.098   0.845 / 0.088
   *   dpmpp_2m            0.122 / 0.026   0.090 / 0.022
   *   dpmpp_3m            0.090 / 0.021   0.075 / 0.018
   *   unipc               0.121 / 0.020   0.091 / 0.016
   *   edm (Heun to eps)   0.978 / 0.175   0.667 / 0.102
   *   (ode_heun           0.116 / 0.033   6.15  / 0.784; ode_euler 0.162 / 0.093  2.62 / 1.49)
   * Bounds: 1.5 × these. At 10 evaluations the singlestep and Heun-type methods get only 3–5 steps
   * over λ ∈ [−5, 4.6] and switch some samples between modes (max errors 1.5–4.8). Negative
   * control: ode_euler at 20 evaluations misses dpmpp_2m's bound (VP 0.093, VE 1.49 > 0.04).
   */
  const n = 64;
  const BOUNDS: [string, Record<string, unknown>, { vp: [number, number]; ve: [number, number] }][] = [
    ['ddim', {}, { vp: [0.46, 0.27], ve: [0.41, 0.25] }],
    ['dpm_solver', { order: 2 }, { vp: [1.03, 0.14], ve: [0.57, 0.11] }],
    ['dpm_solver', { order: 3 }, { vp: [1.94, 0.15], ve: [1.27, 0.13] }],
    ['dpmpp_2m', {}, { vp: [0.18, 0.039], ve: [0.135, 0.033] }],
    ['dpmpp_3m', {}, { vp: [0.135, 0.032], ve: [0.11, 0.027] }],
    ['unipc', {}, { vp: [0.18, 0.03], ve: [0.14, 0.024] }],
    ['edm', { denoiseToZero: false }, { vp: [1.47, 0.26], ve: [1.0, 0.15] }],
  ];
  const cases = [
    { name: 'VP', sde: new VPSDE(), key: 'vp' as const },
    { name: 'VE', sde: new VESDE(), key: 've' as const },
  ];
  describe.each(cases)('$name', ({ sde, key }) => {
    const model = new GaussianMixtureScore(sde, MIXTURE);
    let reference: Float64Array;
    beforeAll(async () => {
      reference = (await sample({ sde, model, n, seed: 3, solver: 'ode_rk45', settings: { rtol: 1e-10, atol: 1e-10 } })).samples.data;
    });

    test.each(BOUNDS)('%s %j', async (solver, settings, bounds) => {
      const errors: number[] = [];
      for (const nfe of [10, 20]) {
        const r = await sample({ sde, model, n, seed: 3, solver, settings: { ...settings, nfe } });
        expect(r.nfe).toBeLessThanOrEqual(nfe);
        errors.push(rms(r.samples.data, reference));
      }
      console.log(`${key} ${solver} ${JSON.stringify(settings)}: RMS at 10 / 20 evaluations ${errors.map((e) => e.toExponential(2)).join(' / ')}`);
      expect(errors[0]).toBeLessThanOrEqual(bounds[key][0]);
      expect(errors[1]).toBeLessThanOrEqual(bounds[key][1]);
      expect(errors[1]).toBeLessThan(errors[0]);
    });

    test('negative control: ode_euler at 20 evaluations misses dpmpp_2m\'s bound', async () => {
      const r = await sample({ sde, model, n, seed: 3, solver: 'ode_euler', settings: { nfe: 20 } });
      expect(rms(r.samples.data, reference)).toBeGreaterThan(BOUNDS[3][2][key][1]);
    });
  });
});

describe('stochastic fast solvers sample the right distribution', () => {
  /**
   * 4 000 samples of Gaussian data N(MU, diag SD²): means, variances and the covariance within
   * 4.5 standard errors of the truth (the SEs from the samples' own moments), and the mixture's mode
   * weights (samples assigned to the nearest mean of a well-separated mixture) within 4 binomial
   * SEs. Steps where each method's bias is below that (measured |z| ≤ 3.7 on VP/VE/sub-VP):
   * ddim η = 1 at 500 steps and η = 0.5 at 300 (first order: at 20 steps its variance is 15% low, z ≈ −16),
   * dpmpp_2m_sde at 50 steps in both noise modes, edm with churn at 100 steps.
   * Negative controls, same bounds: ddim η = 1 at 20 steps (variance), and draws from the mixture
   * with its weights reversed (mode weights).
   */
  const n = 4000;
  const RUNS: [string, Record<string, unknown>][] = [
    ['ddim', { eta: 1, steps: 500 }],
    ['ddim', { eta: 0.5, steps: 300 }],
    ['dpmpp_2m_sde', { steps: 50 }],
    ['dpmpp_2m_sde', { steps: 50, noise: 'path' }],
    ['edm', { steps: 100, sChurn: 10 }],
    ['edm', { steps: 100, sChurn: 40, sTmin: 0.05, sTmax: 50 }],
  ];
  const SDES: [string, () => SDE][] = [
    ['VE', () => new VESDE()],
    ['VP', () => new VPSDE()],
    ['sub-VP', () => new SubVPSDE()],
  ];
  const separated = { means: [[-4, 0], [4, 0], [0, 4]], stds: [0.3, 0.3, 0.3], weights: [0.5, 0.3, 0.2] };

  function gaussianZ(x: Float64Array): number[] {
    const m = moments(x, 2);
    return [
      (m.mean[0] - MU[0]) / m.meanSE[0],
      (m.mean[1] - MU[1]) / m.meanSE[1],
      (m.cov[0] - SD[0] ** 2) / m.covSE[0],
      (m.cov[3] - SD[1] ** 2) / m.covSE[3],
      m.cov[1] / m.covSE[1],
    ];
  }
  function weightZ(x: Float64Array, weights: number[]): number[] {
    const counts = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestD = Infinity;
      separated.means.forEach(([a, b], k) => {
        const d = (x[2 * i] - a) ** 2 + (x[2 * i + 1] - b) ** 2;
        if (d < bestD) [best, bestD] = [k, d];
      });
      counts[best]++;
    }
    return counts.map((c, k) => (c / n - weights[k]) / sqrt((weights[k] * (1 - weights[k])) / n));
  }

  describe.each(SDES)('%s', (_name, make) => {
    const sde = make();
    const gaussian = new GaussianMixtureScore(sde, { means: [MU], stds: [SD] });
    const mixture = new GaussianMixtureScore(sde, separated);

    test.each(RUNS)('%s %j: Gaussian moments and mode weights', async (solver, settings) => {
      const g = await sample({ sde, model: gaussian, n, seed: 1, solver, settings });
      const zg = gaussianZ(g.samples.data);
      const m = await sample({ sde, model: mixture, n, seed: 1, solver, settings });
      const zw = weightZ(m.samples.data, separated.weights);
      console.log(`${sde.kind} ${solver} ${JSON.stringify(settings)}: z(mean, var, cov) ${zg.map((v) => v.toFixed(1)).join(' ')}; z(weights) ${zw.map((v) => v.toFixed(1)).join(' ')}`);
      for (const z of zg) expect(abs(z)).toBeLessThan(4.5);
      for (const z of zw) expect(abs(z)).toBeLessThan(4);
    });

    test('negative controls: ddim η = 1 at 20 steps (variance), reversed weights (modes)', async () => {
      const coarse = await sample({ sde, model: gaussian, n, seed: 1, solver: 'ddim', settings: { eta: 1, steps: 20 } });
      expect(Math.max(...gaussianZ(coarse.samples.data).map(abs))).toBeGreaterThan(4.5);
      const reversed = new GaussianMixtureScore(sde, { ...separated, weights: [0.2, 0.3, 0.5] });
      const wrong = await sample({ sde, model: reversed, n, seed: 1, solver: 'dpmpp_2m_sde', settings: { steps: 50 } });
      expect(Math.max(...weightZ(wrong.samples.data, separated.weights).map(abs))).toBeGreaterThan(4);
    });
  });
});
