import ndarray, { NdArray } from 'ndarray';
import { SDE } from '../sdes/sde';
import { reverseDiffusionStep } from '../sdes/reverse';
import { ParameterError, requireInteger } from '../core/errors';
import { CountingScoreModel, ScoreModel, sampleSize } from '../core/score';
import { NoiseSource, Stream } from '../core/noise';
import { timeGrid } from './grid';
import { getSolver, resolveSettings } from './registry';
import { CommonSettings, NonFiniteError, SolverDefinition, firstNonFinite } from './solver';

export interface SampleRequest {
  sde: SDE;
  model: ScoreModel;
  /** A solver name from the registry, or a definition of your own. */
  solver: string | SolverDefinition<any>;
  /** Solver settings; validated against the solver's schema, defaults filled. */
  settings?: Record<string, unknown>;
  /** Number of samples. */
  n: number;
  /** Samples per solver call; results do not depend on it. Default: all n at once. */
  batchSize?: number;
  /** Seed of the noise (prior draw and every step). Default 0. */
  seed?: number;
  /** Start from these x_T (n × sampleShape) instead of prior draws. */
  xT?: Float64Array | Float32Array | NdArray;
  /** Global index of the first sample (default 0): a run split into calls draws the noise of one call. */
  firstSample?: number;
  onProgress?: (p: SampleProgress) => void;
}

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
  settings: CommonSettings & Record<string, unknown>;
  /** Score evaluations per sample (mean over samples): what the solver really spent. */
  nfe: number;
  /** Batched score calls, and per-sample evaluations in total. */
  calls: number;
  evaluations: number;
  wallTimeMs: number;
  /** What the solver flagged without failing (each distinct message once). */
  warnings: string[];
}

/**
 * Draws n samples: x_T from the prior (or given), then the solver from T to eps, then optionally a
 * noise-free denoising step. Work is split in chunks of batchSize; noise is addressed by global
 * sample index, so sample i is the same whatever the chunking.
 */
export async function sample(req: SampleRequest): Promise<SampleResult> {
  const started = performance.now();
  const solver = typeof req.solver === 'string' ? getSolver(req.solver) : req.solver;
  const settings = resolveSettings(solver, req.settings ?? {}) as CommonSettings & Record<string, unknown>;
  const { sde } = req;
  requireInteger('n', req.n, 1);
  const batchSize = req.batchSize ?? req.n;
  requireInteger('batchSize', batchSize, 1);
  const seed = req.seed ?? 0;
  const shape = req.model.sampleShape;
  const dim = sampleSize(shape);
  const steps = settings.steps ?? sde.N;
  const eps = settings.eps ?? sde.defaultEps;
  const grid = timeGrid(sde, steps, eps, settings.grid, settings.rho);
  const xT = req.xT ? initialStates(req.xT, req.n, dim, shape) : undefined;

  const counter = new CountingScoreModel(req.model);
  const out = new Float64Array(req.n * dim);
  const root = new NoiseSource(seed, req.firstSample ?? 0);
  const warnings = new Set<string>();

  for (let start = 0; start < req.n; start += batchSize) {
    const n = Math.min(batchSize, req.n - start);
    const x = out.subarray(start * dim, (start + n) * dim);
    const noise = root.shifted(start);
    if (xT) x.set(xT.subarray(start * dim, (start + n) * dim));
    else drawPrior(sde, noise, x, dim);

    let current = 0;
    const guarded = new NonFiniteGuard(counter, solver.name, () => current);
    await solver.run(
      {
        sde,
        model: guarded,
        x,
        n,
        dim,
        grid,
        noise,
        warn: (message: string) => warnings.add(message),
        stepDone(step: number, t: number) {
          if (firstNonFinite(x) >= 0) throw new NonFiniteError(solver.name, step, t, 'x');
          current = step + 1;
          if (req.onProgress) {
            const covered = (sde.T - t) / (sde.T - eps);
            const fraction = (start + n * covered) / req.n;
            req.onProgress({ fraction, samplesDone: start, n: req.n, step: step + 1, nfe: counter.evaluations / req.n });
          }
        },
      },
      settings,
    );
    if (settings.denoise) await denoise(sde, guarded, x, n, eps);
  }
  return {
    samples: ndarray(out, [req.n, ...shape]),
    solver: solver.name,
    settings,
    nfe: counter.evaluations / req.n,
    calls: counter.calls,
    evaluations: counter.evaluations,
    wallTimeMs: performance.now() - started,
    warnings: [...warnings],
  };
}

function drawPrior(sde: SDE, noise: NoiseSource, x: Float64Array, dim: number): void {
  noise.normal(x, dim, 0, Stream.prior);
  const s = sde.priorStd;
  if (s !== 1) for (let j = 0; j < x.length; j++) x[j] *= s;
}

/** The last noise-free reverse-diffusion step from eps to 0 (the reference's `denoise`). */
async function denoise(sde: SDE, model: ScoreModel, x: Float64Array, n: number, eps: number): Promise<void> {
  const score = new Float64Array(x.length);
  await model.score(x, new Float64Array(n).fill(eps), score);
  const { A, B } = reverseDiffusionStep(sde, eps, 0);
  for (let j = 0; j < x.length; j++) x[j] = A * x[j] + B * score[j];
}

function initialStates(xT: Float64Array | Float32Array | NdArray, n: number, dim: number, shape: readonly number[]): Float64Array {
  const data = 'data' in xT && !(xT instanceof Float64Array) && !(xT instanceof Float32Array) ? (xT as NdArray).data : xT;
  if (!data || typeof (data as ArrayLike<number>).length !== 'number') {
    throw new ParameterError('xT must be a Float64Array, Float32Array or ndarray');
  }
  const arr = data as ArrayLike<number>;
  if ('shape' in xT && Array.isArray((xT as NdArray).shape)) {
    const got = (xT as NdArray).shape;
    const want = [n, ...shape];
    if (got.length !== want.length || got.some((v, i) => v !== want[i])) {
      throw new ParameterError(`xT has shape [${got.join(', ')}], expected [${want.join(', ')}]`);
    }
  }
  if (arr.length !== n * dim) {
    throw new ParameterError(`xT has ${arr.length} values, expected n × sample size = ${n} × ${dim} = ${n * dim}`);
  }
  return Float64Array.from(arr);
}

/** Checks every score the solver receives; a NaN names the solver, step and t. */
class NonFiniteGuard implements ScoreModel {
  constructor(
    private readonly inner: ScoreModel,
    private readonly solver: string,
    private readonly step: () => number,
  ) {}

  get sampleShape(): readonly number[] {
    return this.inner.sampleShape;
  }

  async score(x: Float64Array, t: Float64Array, out: Float64Array): Promise<void> {
    await this.inner.score(x, t, out);
    const bad = firstNonFinite(out);
    if (bad >= 0) {
      const dim = x.length / t.length;
      throw new NonFiniteError(this.solver, this.step(), t[Math.floor(bad / dim)], 'the score');
    }
  }
}
