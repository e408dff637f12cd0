import type { NdArray } from 'ndarray';
import type { SDE } from '../sdes/sde';
import type { ScoreModel } from '../core/score';
import type { SolverDefinition, SolverNoise } from './solver';
import type { SolverName, SolverSettingsInput } from './registry';
import type { ResampleOptions } from './resample';

/** A registered solver's name, a definition of your own, or a name only known at run time. */
export type SolverRef = SolverName | SolverDefinition<any, any, string> | (string & {});

/**
 * The settings `sample()` accepts for a solver: typed per registered name (a misspelt key fails
 * to compile), the definition's own input type for a custom solver, and a plain record for a
 * name held in a string variable (checked at run time, as from a config file).
 */
export type SettingsFor<S> = S extends SolverName
  ? SolverSettingsInput<S>
  : S extends SolverDefinition<any, infer I, string>
    ? I
    : string extends S
      ? Record<string, unknown>
      : never;

export interface SampleRequest<S extends SolverRef = SolverRef> {
  sde: SDE;
  model: ScoreModel;
  /** A solver name from the registry, or a definition of your own. */
  solver: S;
  /** Solver settings; validated against the solver's schema, defaults filled. */
  settings?: SettingsFor<S>;
  /** Number of samples. */
  n: number;
  /** Samples per solver call; results do not depend on it. Default: all n at once. */
  batchSize?: number;
  /** Seed of the noise (prior draw and every step). Default 0. */
  seed?: number;
  /**
   * Global index of the first sample (row 0): a run split into pieces (streamed, or resumed)
   * draws for rows first … first + n − 1 exactly what one big run would. Default 0.
   */
  firstSample?: number;
  /**
   * The range [lo, hi] of the data (a model card's dataRange), for solvers that threshold x̂_0
   * (`thresholding`). Default: unknown.
   */
  dataRange?: readonly [number, number];
  /** Start from these x_T (n × sampleShape) instead of prior draws. */
  xT?: Float64Array | Float32Array | NdArray;
  onProgress?: (p: SampleProgress) => void;
  /**
   * Called after every solver step (and after the final denoise step) with the chunk's state:
   * the step's index, the time reached, x, and the solver's estimate of x_0 where it has one.
   * The arrays are the solver's own buffers: copy what you keep. Runs before the abort check.
   */
  onStep?: (e: StepEvent) => void;
  /** Aborting stops the run after the current step with an AbortError; nothing is returned. */
  signal?: AbortSignal;
  /**
   * Extension point (not a user setting): in-place transforms of the state after each step, run
   * before the finiteness check, e.g. inpainting's x ← mask·(α(t)·y + σ(t)·z) + (1 − mask)·x;
   * and once more at the end of each chunk with `final` set (after the denoise step, if any).
   */
  stateTransforms?: readonly StateTransform[];
  /**
   * RePaint-style resampling (./resample.ts): each block of `jump` grid steps is solved `rounds`
   * times, going back to its start through the forward kernel in between. Fixed-grid solvers only.
   */
  resample?: ResampleOptions;
}

export interface StepEvent {
  step: number;
  /** The time every sample of the chunk has reached. */
  t: number;
  /** The chunk's state (rows first … first + n − 1 of the run), n × sample size. */
  x: Float64Array;
  first: number;
  n: number;
  /** The solver's estimate of x_0 from its evaluation at time denoisedAt, where it has one. */
  denoised?: Float64Array;
  denoisedAt?: number;
}

/** What a state transform sees: the chunk's rows, the step, and their noise (addressed by time). */
export interface StateTransformContext {
  step: number;
  t: number;
  n: number;
  dim: number;
  /** Global index of row 0. */
  first: number;
  /** The noise of the step just taken (fresh in each resampling round): draw the transform's own from it. */
  noise: SolverNoise;
  /** The last call of the chunk, after every step: t is where the solver ended. */
  final?: boolean;
}

export type StateTransform = (x: Float64Array, ctx: StateTransformContext) => void;

export interface SampleProgress {
  /** Share of the whole run done, in [0, 1]: finished chunks plus the time covered in this one. */
  fraction: number;
  /** Samples in finished chunks, of n. */
  samplesDone: number;
  n: number;
  /** Steps taken in the current chunk. */
  step: number;
  /** Network evaluations so far, per sample of the whole run. */
  nfe: number;
}

export interface SampleResult {
  /** [n, ...sampleShape], float64. */
  samples: NdArray<Float64Array>;
  solver: string;
  /** The settings the solver ran with (defaults filled). */
  settings: Record<string, unknown>;
  /** Grid steps of a fixed-step solver (from steps, nfe or the SDE's N); undefined for adaptive ones. */
  steps?: number;
  /** Score evaluations per sample (mean over samples): what the solver really spent. */
  nfe: number;
  /** Batched score calls, and per-sample evaluations in total. */
  calls: number;
  evaluations: number;
  wallTimeMs: number;
  /** What the solver flagged without failing (each distinct message once). */
  warnings: string[];
}

/** Thrown when SampleRequest.signal aborts: after the step that was running, with no result. */
export class AbortError extends Error {
  constructor(
    message: string,
    readonly reason?: unknown,
  ) {
    super(message);
    this.name = 'AbortError';
  }
}
