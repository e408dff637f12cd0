import { SDE } from '../sdes/sde';
import { ParameterError, requireInteger } from '../core/errors';
import { SolverContext, SolverDefinition, SolverNoise } from './solver';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { sqrt } = Math;

/**
 * RePaint-style resampling (Lugmayr et al. 2022, "RePaint: Inpainting using Denoising Diffusion
 * Probabilistic Models", §4.2), as an option of the sampling driver: the grid is cut into blocks
 * of `jump` steps, and each block is solved `rounds` times; between two rounds the state goes back
 * to the block's start through the forward kernel from t to s > t,
 *   x_s = (α_s/α_t)·x_t + √(σ_s² − (α_s/α_t)²·σ_t²)·z,
 * so that the state transforms (inpainting's replacement of the known pixels) and the model's
 * steps harmonize over several passes instead of one. Costs `rounds` times the solver's steps.
 *
 * Any fixed-grid solver can be re-run on a block (a multistep solver restarts its history at each
 * block); an adaptive one chooses its own steps and is refused. Round 0 of every block draws the
 * run's own noise at the block's own step indices (rounds: 1 is the plain run, bit for bit); the
 * later rounds and the jumps back draw `fresh` noise, which must never repeat.
 */
export interface ResampleOptions {
  /** Passes over each block (RePaint's U; r = U − 1 resamplings). 1: no resampling. */
  rounds: number;
  /** Steps per block: how far each jump back goes (RePaint's j). */
  jump: number;
}

/** stepDone as the driver takes it: with the noise the step drew (the state transforms draw from it too). */
export type StepDoneWithNoise = (step: number, t: number, denoised: Float64Array | undefined, denoisedAt: number | undefined, noise: SolverNoise) => void;

export function checkResample(solver: SolverDefinition, opts: ResampleOptions): void {
  requireInteger('resample.rounds', opts.rounds, 1);
  requireInteger('resample.jump', opts.jump, 1);
  if (solver.adaptive) {
    throw new ParameterError(
      `resampling (RePaint) re-runs blocks of a fixed time grid; solver '${solver.name}' is adaptive (it chooses its own steps): use a fixed-grid solver`,
    );
  }
}

export async function runResampled(
  solver: SolverDefinition,
  ctx: SolverContext,
  settings: unknown,
  opts: ResampleOptions,
  stepDone: StepDoneWithNoise,
  fresh: SolverNoise,
): Promise<void> {
  checkResample(solver, opts);
  const steps = ctx.grid.length - 1;
  const z = new Float64Array(ctx.x.length);
  for (let i = 0; i < steps; i += opts.jump) {
    const end = Math.min(i + opts.jump, steps);
    const grid = ctx.grid.subarray(i, end + 1);
    const own = shiftedSteps(ctx.noise, i);
    for (let round = 0; round < opts.rounds; round++) {
      const noise = round === 0 ? own : fresh;
      const block: SolverContext = { ...ctx, grid, noise, stepDone: (k, t, d, at) => stepDone(i + k, t, d, at, noise) };
      await solver.run(block, blockSettings(settings, end - i, steps, end === steps && round + 1 === opts.rounds));
      if (round + 1 < opts.rounds) {
        fresh.atTime(grid[grid.length - 1], 0, z);
        jumpBack(ctx.sde, ctx.x, grid[grid.length - 1], grid[0], z);
      }
    }
  }
}

/**
 * A block's settings: the final step to t = 0 (denoiseToZero) only at the end of the whole run,
 * never between blocks or rounds (the next block starts from x at eps, not from x̂_0); EDM's churn
 * S_churn/N per step with N the whole run's steps, not the block's.
 */
function blockSettings(settings: unknown, blockSteps: number, steps: number, last: boolean): unknown {
  const st = settings as { denoiseToZero?: boolean; sChurn?: number };
  if (st.denoiseToZero === undefined && st.sChurn === undefined) return settings;
  return {
    ...st,
    ...(st.denoiseToZero !== undefined ? { denoiseToZero: st.denoiseToZero && last } : {}),
    ...(st.sChurn !== undefined ? { sChurn: (st.sChurn * blockSteps) / steps } : {}),
  };
}

/** The run's noise with step k of a block starting at grid step i addressed as step i + k. */
function shiftedSteps(noise: SolverNoise, first: number): SolverNoise {
  if (first === 0) return noise;
  return {
    mode: noise.mode,
    increment: (step, tFrom, tTo, out) => noise.increment(first + step, tFrom, tTo, out),
    corrector: (t, k, out) => noise.corrector(t, k, out),
    atTime: (t, index, out) => noise.atTime(t, index, out),
  };
}

/** x ← x_s drawn from the forward kernel p(x_s | x_t), s > t, with the standard normals z. */
export function jumpBack(sde: SDE, x: Float64Array, t: number, s: number, z: Float64Array): void {
  const ratio = sde.meanCoef(s) / sde.meanCoef(t);
  // σ_s² − (α_s/α_t)²σ_t² = σ_s²(1 − e^{−2(λ_t − λ_s)}), without the cancellation of short jumps.
  const c = sde.std(s) * sqrt(-Math.expm1(-2 * (sde.lambda(t) - sde.lambda(s))));
  for (let j = 0; j < x.length; j++) x[j] = ratio * x[j] + c * z[j];
}
