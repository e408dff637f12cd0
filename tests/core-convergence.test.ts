/**
 * The probability-flow ODE against its closed-form solution (./support/gaussian-flow.ts), and the
 * convergence orders of the ODE solvers. The drift the solvers integrate is built from driftCoef
 * and diffusion, the target from meanCoef and std, so an SDE whose g disagrees with its kernel
 * fails here.
 */
import { GaussianMixtureScore, SDE, SubVPSDE, VESDE, VPSDE, sample } from '../index';
import { logLogSlope, maxAbsDiff } from './support/stats';
import { MU, SD, exactFlow, priorDraws } from './support/gaussian-flow';

const SDES: [string, () => SDE][] = [
  ['VE', () => new VESDE()],
  ['VP', () => new VPSDE()],
  ['VP cosine', () => new VPSDE({ schedule: 'cosine' })],
  ['sub-VP', () => new SubVPSDE()],
];

describe('PF-ODE maps x_T to the closed-form x_eps', () => {
  /**
   * ode_heun, 1000 steps, default eps, 32 samples (two of them at ±4 priorStd); max abs error over
   * all coordinates, relative to the prior's scale priorStd (50 for VE, 1 for the VP family).
   * Measured: VP 8.5e-6, VP cosine 6.7e-6, sub-VP 1.0e-5 (the ±4σ points dominate; 4.4e-6
   * without them), VE 2.4e-4 absolute = 4.8e-6 relative on the uniform grid and 1.1e-4 on the
   * EDM grid (the solvers integrate in t, where x_t − μ ≈ σ(t)u = 0.01·5000^t·u has the same
   * curvature on either grid, so EDM spacing buys little here).
   * Tolerance: 2e-5 × priorStd.
   */
  const n = 32;
  const cases = [
    { name: 'VE', make: () => new VESDE(), grid: 'uniform' as const },
    { name: 'VE', make: () => new VESDE(), grid: 'edm' as const },
    { name: 'VP', make: () => new VPSDE(), grid: 'uniform' as const },
    { name: 'VP cosine', make: () => new VPSDE({ schedule: 'cosine' }), grid: 'uniform' as const },
    { name: 'sub-VP', make: () => new SubVPSDE(), grid: 'uniform' as const },
  ];
  test.each(cases)('$name, ode_heun 1000 steps, $grid grid: max error < 2e-5 priorStd', async ({ make, grid }) => {
    const sde = make();
    const model = new GaussianMixtureScore(sde, { means: [MU], stds: [SD] });
    const xT = priorDraws(sde, n, 11);
    const eps = sde.defaultEps;
    const r = await sample({ sde, model, solver: 'ode_heun', settings: { steps: 1000, grid }, n, xT });
    const err = maxAbsDiff(r.samples.data, exactFlow(sde, xT, eps));
    console.log(`${sde.kind}/${sde.schedule} ${grid}: ode_heun 1000 steps max abs error ${err.toExponential(2)}`);
    expect(err).toBeLessThan(2e-5 * sde.priorStd);
    // The target is not trivially close to x_T: the map moves points by O(1) or more.
    expect(maxAbsDiff(xT, exactFlow(sde, xT, eps))).toBeGreaterThan(0.5);
  });
});

describe('convergence order on the PF-ODE (uniform grid)', () => {
  /**
   * Error = max abs difference to the closed-form x_eps over 16 samples, at 25..400 steps; the
   * fitted log-log slope of error against steps must be −1 for Euler and −2 for Heun.
   * eps = 1e-3 for every SDE. Measured slopes (25..400): Euler VE 0.954, VP 1.004, VP cosine
   * 1.006, sub-VP 1.006; Heun VE 2.074, VP 2.031, VP cosine 2.010, sub-VP 2.034. (With data
   * stds ≥ 0.5 the VE flow is not stiff near t = 0 and eps = 1e-5 gives the same slopes; the
   * pre-asymptotic VE errors at 25 steps, 2.4 for Euler, pull its slope slightly below 1.)
   * Bounds: Euler [0.8, 1.2], Heun [1.7, 2.3]; each halving of h must also reduce the error
   * by at least 1.6x (Euler) / 3.2x (Heun).
   */
  const steps = [25, 50, 100, 200, 400];
  const n = 16;
  const eps = 1e-3;
  const cases: { name: string; make: () => SDE; solver: string; lo: number; hi: number; minRatio: number }[] = [];
  for (const [name, make] of SDES) {
    cases.push({ name, make, solver: 'ode_euler', lo: 0.8, hi: 1.2, minRatio: 1.6 });
    cases.push({ name, make, solver: 'ode_heun', lo: 1.7, hi: 2.3, minRatio: 3.2 });
  }
  test.each(cases)('$name $solver: slope in [$lo, $hi]', async ({ make, solver, lo, hi, minRatio }) => {
    const sde = make();
    const model = new GaussianMixtureScore(sde, { means: [MU], stds: [SD] });
    const xT = priorDraws(sde, n, 5);
    const exact = exactFlow(sde, xT, eps);
    const errors: number[] = [];
    for (const s of steps) {
      const r = await sample({ sde, model, solver, settings: { steps: s, eps }, n, xT });
      errors.push(maxAbsDiff(r.samples.data, exact));
    }
    const slope = -logLogSlope(steps, errors);
    console.log(`${sde.kind}/${sde.schedule} ${solver}: errors ${errors.map((e) => e.toExponential(2)).join(' ')}, slope ${slope.toFixed(3)}`);
    expect(slope).toBeGreaterThanOrEqual(lo);
    expect(slope).toBeLessThanOrEqual(hi);
    for (let i = 1; i < errors.length; i++) expect(errors[i - 1] / errors[i]).toBeGreaterThan(minRatio);
  });
});
