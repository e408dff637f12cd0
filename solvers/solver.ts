import { z } from 'zod';
import { SDE } from '../sdes/sde';
import { ScoreModel } from '../core/score';
import { NoiseSource } from '../core/noise';

/**
 * What a solver is handed for one chunk of samples. A solver is a function over this context:
 * it advances x (n × dim, holding x_T on entry) from grid[0] = T down to grid[N] = eps in place.
 */
export interface SolverContext {
  readonly sde: SDE;
  /** The score model; every call is counted as network evaluations. */
  readonly model: ScoreModel;
  readonly x: Float64Array;
  readonly n: number;
  readonly dim: number;
  /** Decreasing time grid T … eps. Fixed-step solvers take its steps; adaptive ones its ends. */
  readonly grid: Float64Array;
  /** Seeded, batch-invariant noise for these rows: draw with (step, stream). */
  readonly noise: NoiseSource;
  /**
   * Call after each step with the step index and the time every sample has reached: checks x
   * for non-finite values (throwing with solver, step and t) and reports progress as the share
   * of [eps, T] covered, which adaptive solvers know even when their step count is unknown.
   */
  stepDone(step: number, t: number): void;
  /** Something the user should know that is not an error (collected in SampleResult.warnings). */
  warn(message: string): void;
}

export type SolverFamily = 'sde' | 'pc' | 'ode';

/** Settings every solver takes; each solver extends this schema with its own. */
export const commonSettingsSchema = z.object({
  /** Number of steps (grid intervals); default: the SDE's N. */
  steps: z.number().int().positive().optional(),
  /** Smallest time integrated to; default: the SDE's (1e-3 VP family, 1e-5 VE). */
  eps: z.number().positive().optional(),
  /** 'uniform' in t, or 'edm' ρ-spacing in σ. */
  grid: z.enum(['uniform', 'edm']).default('uniform'),
  /** ρ of the EDM grid. */
  rho: z.number().positive().default(7),
  /** One noise-free reverse-diffusion step from eps to 0 at the end (costs one evaluation). */
  denoise: z.boolean().default(false),
});
export type CommonSettings = z.infer<typeof commonSettingsSchema>;

/**
 * A solver: a name, a settings schema (zod, with defaults, unknown keys rejected) and a run
 * function. Adding a solver is one file exporting one of these, listed in ./registry.ts.
 */
export interface SolverDefinition<S extends CommonSettings = CommonSettings> {
  readonly name: string;
  readonly family: SolverFamily;
  /** One line for `score-sde solvers`. */
  readonly summary: string;
  readonly settings: z.ZodType<S>;
  run(ctx: SolverContext, settings: S): Promise<void>;
}

/** Whether per-sample quantities (Langevin norms, RK45 error norms) are per sample or batch-wide. */
export const normSchema = z.enum(['sample', 'batch']).default('sample');
export type NormMode = z.infer<typeof normSchema>;

/** Raised when a run produces NaN or ±Infinity; names where. */
export class NonFiniteError extends Error {
  constructor(
    readonly solver: string,
    readonly step: number,
    readonly t: number,
    what: string,
  ) {
    super(`solver '${solver}': non-finite value in ${what} at step ${step} (t=${t})`);
    this.name = 'NonFiniteError';
  }
}

/** Index of the first non-finite entry, or −1. */
export function firstNonFinite(a: Float64Array): number {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v - v !== 0) return i;
  }
  return -1;
}
