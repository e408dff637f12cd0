import { VPSDE } from '../sdes';
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

export interface AccuracyResult {
  n: number;
  ode: OdeAccuracyRow[];
  sde: SdeAccuracyRow[];
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
  return { n, ode, sde: sdeRows, swNoiseFloor };
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
