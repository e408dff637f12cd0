import { SDE, VESDE, VPSDE } from '../sdes';
import { GaussianMixture, GaussianMixtureScore } from '../models/gaussian-mixture';
import { sample } from '../solvers/sample';
import { slicedWasserstein } from '../metrics';

/** The exact 2-D mixture every accuracy row is measured on (well-separated, unequal weights). */
export const BENCH_MIXTURE = { means: [[-4, 0], [4, 0], [0, 4]], stds: [0.3, 0.3, 0.3], weights: [0.5, 0.3, 0.2] };

export interface OdeAccuracyRow {
  solver: string;
  setting: string;
  nfe: number;
  rmsError: number;
  maxError: number;
}

export interface SdeAccuracyRow {
  solver: string;
  setting: string;
  nfe: number;
  slicedWasserstein: number;
}

/** One solver's error on the exact mixture at each budget, and the budget that matches Heun at 128. */
export interface FastAccuracyRow {
  sde: string;
  solver: string;
  setting: string;
  /** NFE actually spent, RMS and max error, at budgets 10, 20, 50, 100. */
  errors: { budget: number; nfe: number; rmsError: number; maxError: number }[];
  /** Fewest evaluations (of the scanned budgets) from which on the RMS error stays ≤ Heun's at 128; undefined if none ≤ 256. */
  nfeToMatchHeun128?: number;
}

export interface FastAccuracy {
  n: number;
  /** Heun's RMS error at 128 evaluations, per SDE: the target. */
  heun128: Record<string, number>;
  rows: FastAccuracyRow[];
}

export interface AccuracyResult {
  n: number;
  ode: OdeAccuracyRow[];
  sde: SdeAccuracyRow[];
  /** The fast solvers against Heun (VP and VE). */
  fast?: FastAccuracy;
  /** Sliced Wasserstein between independent exact sample sets (mean of 3): what a perfect sampler scores. */
  swNoiseFloor: number;
}

/**
 * Accuracy per NFE on the exact mixture under VP. ODE solvers: error against a tight reference
 * solution (RK45 at rtol = atol = 1e-9) from the same x_T. Stochastic solvers: sliced
 * Wasserstein distance to exact samples.
 */
export async function accuracyPerNfe(quick: boolean): Promise<AccuracyResult> {
  const sde = new VPSDE();
  const mixture = new GaussianMixture(BENCH_MIXTURE);
  const model = new GaussianMixtureScore(sde, mixture);
  const n = quick ? 64 : 1000;
  const seed = 7;
  const reference = await sample({ sde, model, n, seed, solver: 'ode_rk45', settings: { rtol: 1e-9, atol: 1e-9 } });
  const ode: OdeAccuracyRow[] = [];
  const stepList = quick ? [8, 32] : [8, 16, 32, 64, 128, 256, 512];
  const tolList = quick ? [1e-3] : [1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7];
  const odeRuns: { solver: string; setting: string; settings: Record<string, unknown> }[] = [
    ...stepList.map((steps) => ({ solver: 'ode_euler', setting: `steps=${steps}`, settings: { steps } })),
    ...stepList.map((steps) => ({ solver: 'ode_heun', setting: `steps=${steps}`, settings: { steps } })),
    ...tolList.map((tol) => ({ solver: 'ode_rk45', setting: `tol=${tol}`, settings: { rtol: tol, atol: tol } })),
  ];
  for (const run of odeRuns) {
    const r = await sample({ sde, model, n, seed, solver: run.solver, settings: run.settings });
    const { rms, max } = errors(r.samples.data, reference.samples.data);
    ode.push({ solver: run.solver, setting: run.setting, nfe: r.nfe, rmsError: rms, maxError: max });
  }

  // Distances at the floor carry sampling noise of ±30% at this n; averaging over seeds (and the
  // floor over as many exact pairs) lets differences between solvers show.
  const nSde = quick ? 256 : 4000;
  const seeds = quick ? [1] : [1, 2, 3];
  const exact = mixture.sample(nSde, 1001);
  const swNoiseFloor = mean(seeds.map((s) => slicedWasserstein(mixture.sample(nSde, 2000 + s), exact, 2, { seed: 5 })));
  const nfeList = quick ? [8] : [4, 8, 16, 32, 64, 128, 256];
  const sdeRuns = nfeList.flatMap((nfe) => [
    { solver: 'ddim', setting: `η=1, steps=${nfe}`, settings: { steps: nfe, eta: 1 } },
    { solver: 'dpmpp_2m_sde', setting: `steps=${nfe}`, settings: { steps: nfe } },
    ...(nfe >= 5 ? [{ solver: 'edm', setting: `sChurn=40, steps=${(nfe - 1) >> 1}`, settings: { nfe, sChurn: 40, sTmin: 0.05, sTmax: 50 } }] : []),
    { solver: 'euler_maruyama', setting: `steps=${nfe}`, settings: { steps: nfe } },
    { solver: 'pc', setting: `ancestral, steps=${nfe}`, settings: { steps: nfe, predictor: 'ancestral', corrector: 'none' } },
    { solver: 'pc', setting: `reverse_diffusion+langevin(batch), steps=${nfe / 2}`, settings: { steps: nfe / 2, norm: 'batch' } },
    { solver: 'pc', setting: `reverse_diffusion+ald, steps=${nfe / 2}`, settings: { steps: nfe / 2, corrector: 'ald' } },
  ]);
  const sdeRows: SdeAccuracyRow[] = [];
  for (const run of sdeRuns) {
    const distances: number[] = [];
    let nfe = 0;
    for (const seed of seeds) {
      const r = await sample({ sde, model, n: nSde, seed, solver: run.solver, settings: run.settings });
      distances.push(slicedWasserstein(r.samples.data, exact, 2, { seed: 5 }));
      nfe = r.nfe;
    }
    sdeRows.push({ solver: run.solver, setting: run.setting, nfe, slicedWasserstein: mean(distances) });
  }
  const fast = await fastSolverAccuracy(quick);
  return { n, ode, sde: sdeRows, swNoiseFloor, fast };
}

/** The fast solvers as configured in the table (each on its default grid; edm ends at eps like the rest). */
export const FAST_RUNS: { solver: string; setting: string; settings: Record<string, unknown> }[] = [
  { solver: 'ode_heun', setting: 'uniform grid', settings: {} },
  { solver: 'ddim', setting: 'η=0', settings: {} },
  { solver: 'dpm_solver', setting: 'order 2', settings: { order: 2 } },
  { solver: 'dpm_solver', setting: 'order 3', settings: { order: 3 } },
  { solver: 'dpmpp_2m', setting: '', settings: {} },
  { solver: 'dpmpp_3m', setting: '', settings: {} },
  { solver: 'unipc', setting: 'order 3, bh1', settings: {} },
  { solver: 'unipc', setting: 'order 3, bh1, quadratic grid', settings: { grid: 'quadratic' } },
  { solver: 'unipc', setting: 'order 3, bh1, edm grid', settings: { grid: 'edm' } },
  { solver: 'edm', setting: 'no churn, Heun to eps', settings: { denoiseToZero: false } },
];

/**
 * The fast solvers on the exact mixture under VP and VE, from the same x_T, against RK45 at
 * rtol = atol = 1e-10: RMS and max error at 10, 20, 50, 100 evaluations (the `nfe` budget: a
 * solver spending 2 or 3 per step takes the most steps that fit), and the fewest evaluations from
 * which on each stays at or below Heun's error at 128.
 */
export async function fastSolverAccuracy(quick: boolean): Promise<FastAccuracy> {
  const mixture = new GaussianMixture(BENCH_MIXTURE);
  const n = quick ? 32 : 1000;
  const seed = 7;
  const budgets = quick ? [10, 20] : [10, 20, 50, 100];
  // Scanned budgets for the match: every 2 to 64, every 4 to 128, every 8 to 256.
  const scan = quick ? [16, 32] : [...range(6, 64, 2), ...range(68, 128, 4), ...range(136, 256, 8)];
  const heun128: Record<string, number> = {};
  const rows: FastAccuracyRow[] = [];
  const sdes: [string, SDE][] = [
    ['VP', new VPSDE()],
    ['VE', new VESDE()],
  ];
  for (const [name, sde] of sdes) {
    const model = new GaussianMixtureScore(sde, mixture);
    const reference = (await sample({ sde, model, n, seed, solver: 'ode_rk45', settings: { rtol: 1e-10, atol: 1e-10 } })).samples.data;
    const at = async (solver: string, settings: Record<string, unknown>, nfe: number) => {
      const r = await sample({ sde, model, n, seed, solver, settings: { ...settings, nfe } });
      return { budget: nfe, nfe: r.nfe, ...renameErrors(errors(r.samples.data, reference)) };
    };
    heun128[name] = (await at('ode_heun', {}, 128)).rmsError;
    for (const run of FAST_RUNS) {
      const row: FastAccuracyRow = { sde: name, solver: run.solver, setting: run.setting, errors: [] };
      for (const b of budgets) row.errors.push(await at(run.solver, run.settings, b));
      let match: number | undefined;
      for (let k = scan.length - 1; k >= 0; k--) {
        if ((await at(run.solver, run.settings, scan[k])).rmsError > heun128[name]) break;
        match = scan[k];
      }
      row.nfeToMatchHeun128 = match;
      rows.push(row);
    }
  }
  return { n, heun128, rows };
}

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

function renameErrors(e: { rms: number; max: number }): { rmsError: number; maxError: number } {
  return { rmsError: e.rms, maxError: e.max };
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function errors(a: Float64Array, b: Float64Array): { rms: number; max: number } {
  let sq = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sq += d * d;
    if (d > max) max = d;
  }
  return { rms: Math.sqrt(sq / a.length), max };
}
