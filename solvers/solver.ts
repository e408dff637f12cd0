import { z } from 'zod';
import { SDE } from '../sdes/sde';
import { ScoreModel } from '../core/score';

/**
 * The noise a solver draws, for its chunk of rows (bitwise batch-invariant: keyed by the global
 * sample index). See ./noise.ts and core/streams.ts.
 */
export interface SolverNoise {
  /** 'path': increments of one Brownian path addressed by time; 'step': fresh draws per step index. */
  readonly mode: NoiseMode;
  /**
   * The standardized Brownian increment of the step from tFrom to tTo into out (n·dim):
   * (W(tFrom) − W(tTo))/√|tFrom − tTo| in 'path' mode, so runs with different grids see the
   * same path; in 'step' mode a fresh N(0, I) keyed by `step`. Call with the steps in order.
   */
  increment(step: number, tFrom: number, tTo: number, out: Float64Array): void;
  /** Langevin corrector noise at time t, corrector step k (0 ≤ k < 256): N(0, I) keyed by (t, k). */
  corrector(t: number, k: number, out: Float64Array): void;
  /**
   * Other fresh noise at time t that is not a Brownian increment (e.g. EDM churn), index < 256.
   * Index 255 is the state transforms' (inpainting's perturbed known values), not a solver's.
   */
  atTime(t: number, index: number, out: Float64Array): void;
}

export type NoiseMode = 'path' | 'step';

/**
 * What a solver is handed for one chunk of samples. A solver is a function over this context:
 * it advances x (n × dim, holding x_T on entry) from grid[0] = T down to grid[N] = eps in place.
 */
export interface SolverContext {
  readonly sde: SDE;
  /**
   * The score model; every call is counted as network evaluations. A solver that evaluates only
   * some of the chunk's rows passes their indices (0 … n − 1) as `rows` (per-sample models need
   * them; see ScoreModel.perSample).
   */
  readonly model: ScoreModel;
  readonly x: Float64Array;
  readonly n: number;
  readonly dim: number;
  /** Decreasing time grid T … eps. Fixed-step solvers take its steps; adaptive ones get [T, eps]. */
  readonly grid: Float64Array;
  readonly noise: SolverNoise;
  /** Whether anyone listens for denoised estimates: compute them only then. */
  readonly wantsDenoised: boolean;
  /**
   * The range [lo, hi] the data lie in (image pixels, from the model card's dataRange), where it
   * is known: what dynamic thresholding of x̂_0 clips to (./thresholding.ts).
   */
  readonly dataRange?: readonly [number, number];
  /**
   * Call after each step with the step index and the time every sample has reached, and where the
   * solver has one, its estimate of x_0 (n·dim) from the step's model evaluation at time
   * denoisedAt. The driver then runs, in order: state transforms (in place on x), the finiteness
   * check (NonFiniteError naming solver, step and t), the user's onStep, the abort check
   * (AbortError after this step) and progress (the share of [eps, T] covered).
   */
  stepDone(step: number, t: number, denoised?: Float64Array, denoisedAt?: number): void;
  /** Something the user should know that is not an error (collected in SampleResult.warnings). */
  warn(message: string): void;
}

export type SolverFamily = 'sde' | 'pc' | 'ode';

/**
 * A solver: a name, a settings schema (zod, strict, every field described, defaults filled) and a
 * run function. Adding a solver is one file exporting defineSolver({...}) plus one line in
 * ./registry.ts. The driver reads the shared settings a solver opts into (./settings.ts): the
 * fixed grid (steps, eps, grid and its parameters), denoise and noise.
 */
export interface SolverDefinition<S = any, I = any, N extends string = string> {
  readonly name: N;
  readonly family: SolverFamily;
  /** One line for `score-sde solvers`. */
  readonly summary: string;
  /**
   * Adaptive solvers choose their own steps between T and eps (their grid is [T, eps]); fixed-step
   * ones get the grid built from steps/grid/eps.
   */
  readonly adaptive: boolean;
  /** The settings that set the cost (a sweep's budget axes): ['steps'], or ['rtol', 'atol']. */
  readonly budget: readonly string[];
  readonly settings: z.ZodType<S, I>;
  /**
   * Network evaluations per sample a run of `steps` grid steps spends (what the solver itself
   * evaluates, a final step to t = 0 included; the driver's `denoise` not). Required of solvers
   * that take the `nfe` setting: the driver picks the most steps that fit the budget.
   */
  evaluations?(steps: number, settings: S): number;
  run(ctx: SolverContext, settings: S): Promise<void>;
}

/**
 * Checks a definition (every setting described, budget settings exist, fixed-step solvers take
 * `steps`, solvers taking `nfe` count their evaluations) and returns it with its literal name type, which types `sample()`'s settings.
 */
export function defineSolver<const N extends string, Schema extends z.ZodObject>(def: {
  name: N;
  family: SolverFamily;
  summary: string;
  adaptive: boolean;
  budget: readonly string[];
  settings: Schema;
  evaluations?(steps: number, settings: z.output<Schema>): number;
  run(ctx: SolverContext, settings: z.output<Schema>): Promise<void>;
}): SolverDefinition<z.output<Schema>, z.input<Schema>, N> {
  // Descriptions sit on the outermost schema of each field (`.describe()` last), where
  // `score-sde solvers` and the config schema read them.
  const shape = def.settings.shape as Record<string, z.ZodType>;
  const keys = Object.keys(shape);
  const undescribed = keys.filter((k) => !shape[k].description);
  if (undescribed.length) throw new Error(`solver '${def.name}': settings without a description: ${undescribed.join(', ')}`);
  const missing = def.budget.filter((b) => !keys.includes(b));
  if (missing.length || def.budget.length === 0) throw new Error(`solver '${def.name}': budget settings [${def.budget.join(', ')}] must be non-empty settings of its schema`);
  if (!def.adaptive && !keys.includes('steps')) throw new Error(`solver '${def.name}': a fixed-step solver must take 'steps'`);
  if (keys.includes('nfe') && !def.evaluations) throw new Error(`solver '${def.name}': a solver that takes 'nfe' must say its evaluations(steps, settings)`);
  return def as unknown as SolverDefinition<z.output<Schema>, z.input<Schema>, N>;
}

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
