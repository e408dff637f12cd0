import ndarray, { NdArray } from 'ndarray';
import { SDE } from '../sdes/sde';
import { reverseDiffusionStep } from '../sdes/reverse';
import { ParameterError, requireInteger } from '../core/errors';
import { CountingScoreModel, GaussianKernel, Parameterization, SampleRows, ScoreModel, sampleSize } from '../core/score';
import { NoiseSource, Stream } from '../core/noise';
import { GRID_PARAMS, timeGrid } from './grids';
import { getSolver, resolveSettings } from './registry';
import { NonFiniteError, SolverContext, SolverDefinition, SolverNoise, firstNonFinite } from './solver';
import { SharedSettings } from './settings';
import { sequentialNoise, solverNoise } from './noise';
import { checkResample, runResampled } from './resample';
import { AbortError, SampleRequest, SampleResult, SolverRef, StepEvent } from './request';

export * from './request';

/**
 * Draws n samples: x_T from the prior (or given), then the solver from T to eps, then optionally a
 * noise-free denoising step. Work is split in chunks of batchSize; noise is addressed by global
 * sample index, so sample i is the same whatever the chunking.
 */
export async function sample<const S extends SolverRef>(req: SampleRequest<S>): Promise<SampleResult> {
  const started = performance.now();
  const solver: SolverDefinition = typeof req.solver === 'string' ? getSolver(req.solver) : (req.solver as SolverDefinition);
  const settings = resolveSettings(solver, req.settings ?? {}) as SharedSettings;
  const { sde } = req;
  requireInteger('n', req.n, 1);
  const batchSize = req.batchSize ?? req.n;
  requireInteger('batchSize', batchSize, 1);
  const firstSample = req.firstSample ?? 0;
  requireInteger('firstSample', firstSample, 0);
  const shape = req.model.sampleShape;
  const dim = sampleSize(shape);
  const eps = settings.eps ?? sde.defaultEps;
  const steps = solver.adaptive ? undefined : fixedSteps(solver, settings, sde);
  const grid = steps === undefined ? runEnds(sde, eps) : timeGrid(sde, steps, eps, settings.grid, gridParams(settings));
  const xT = req.xT ? initialStates(req.xT, req.n, dim, shape) : undefined;
  if (req.resample) checkResample(solver, req.resample);
  throwIfAborted(req.signal, 'before the first step');

  const counter = new CountingScoreModel(req.model);
  const out = new Float64Array(req.n * dim);
  const root = new NoiseSource(req.seed ?? 0, firstSample);
  const warnings = new Set<string>();

  for (let start = 0; start < req.n; start += batchSize) {
    const n = Math.min(batchSize, req.n - start);
    const x = out.subarray(start * dim, (start + n) * dim);
    const source = root.shifted(start);
    if (xT) x.set(xT.subarray(start * dim, (start + n) * dim));
    else drawPrior(sde, source, x, dim);

    const noise = solverNoise(settings.noise ?? 'step', source, n, dim, sde.T);
    const first = firstSample + start;
    let stepsDone = 0;
    let reached = sde.T;
    const guarded = new NonFiniteGuard(counter, solver.name, () => stepsDone, first, n);
    const afterStep = (step: number, t: number, denoised?: Float64Array, denoisedAt?: number, stepNoise: SolverNoise = noise) => {
      for (const transform of req.stateTransforms ?? []) transform(x, { step, t, n, dim, first, noise: stepNoise });
      reached = t;
      if (firstNonFinite(x) >= 0) throw new NonFiniteError(solver.name, step, t, 'x');
      req.onStep?.({ step, t, x, first, n, denoised, denoisedAt } satisfies StepEvent);
      throwIfAborted(req.signal, `after step ${step} (t=${t}) of samples ${first}–${first + n - 1}`);
      stepsDone = step + 1;
      if (req.onProgress) {
        const covered = Math.min(1, (sde.T - t) / (sde.T - eps));
        const fraction = (start + n * covered) / req.n;
        req.onProgress({ fraction, samplesDone: start, n: req.n, step: step + 1, nfe: counter.evaluations / req.n });
      }
    };
    const ctx: SolverContext = {
      sde,
      model: guarded,
      x,
      n,
      dim,
      grid,
      noise,
      wantsDenoised: req.onStep !== undefined,
      dataRange: req.dataRange,
      warn: (message: string) => warnings.add(message),
      stepDone: (step, t, denoised, denoisedAt) => afterStep(step, t, denoised, denoisedAt),
    };
    if (req.resample) await runResampled(solver, ctx, settings, req.resample, afterStep, sequentialNoise(source, dim));
    else await solver.run(ctx, settings);
    if (settings.denoise) {
      await denoise(sde, guarded, x, n, eps);
      afterStep(stepsDone, 0, x, eps);
    }
    if (req.stateTransforms?.length) {
      for (const transform of req.stateTransforms) transform(x, { step: stepsDone, t: reached, n, dim, first, noise, final: true });
      if (firstNonFinite(x) >= 0) throw new NonFiniteError(solver.name, stepsDone, reached, 'x');
    }
  }
  return {
    samples: ndarray(out, [req.n, ...shape]),
    solver: solver.name,
    settings,
    steps,
    nfe: counter.evaluations / req.n,
    calls: counter.calls,
    evaluations: counter.evaluations,
    wallTimeMs: performance.now() - started,
    warnings: [...warnings],
  };
}

/**
 * A fixed-step solver's number of steps: `steps`, or the most steps whose evaluations fit in
 * `nfe` (the solver's own count plus the driver's denoise step), or the SDE's N.
 */
function fixedSteps(solver: SolverDefinition, settings: SharedSettings, sde: SDE): number {
  const budget = settings.nfe;
  if (budget === undefined) return settings.steps ?? sde.N;
  if (!solver.evaluations) throw new ParameterError(`solver '${solver.name}' takes no nfe budget (it does not count its evaluations): give steps`);
  const cost = (steps: number) => solver.evaluations!(steps, settings) + (settings.denoise ? 1 : 0);
  if (!(cost(2) > cost(1))) throw new ParameterError(`nfe: '${solver.name}' with these settings spends no evaluations per step, so no budget sets its steps; give steps`);
  if (cost(1) > budget) throw new ParameterError(`nfe: ${budget} evaluations are fewer than one step of '${solver.name}' with these settings takes (${cost(1)})`);
  // cost grows with steps: double past the budget, then bisect for the last count within it.
  let lo = 1;
  let hi = 2;
  while (cost(hi) <= budget) [lo, hi] = [hi, hi * 2];
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (cost(mid) <= budget) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** An adaptive solver's "grid": its ends. */
function runEnds(sde: SDE, eps: number): Float64Array {
  if (!(eps > 0 && eps < sde.T)) throw new ParameterError(`eps must be in (0, T=${sde.T}), got ${eps}`);
  return Float64Array.of(sde.T, eps);
}

/** The grid parameters among the settings (rho, …). */
function gridParams(settings: SharedSettings): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const key of Object.keys(GRID_PARAMS)) if (settings[key] !== undefined) params[key] = settings[key];
  return params;
}

function throwIfAborted(signal: AbortSignal | undefined, where: string): void {
  if (signal?.aborted) throw new AbortError(`sampling aborted ${where}`, signal.reason);
}

function drawPrior(sde: SDE, noise: NoiseSource, x: Float64Array, dim: number): void {
  noise.normal(x, dim, 0, Stream.prior);
  const s = sde.priorStd;
  if (s !== 1) for (let j = 0; j < x.length; j++) x[j] *= s;
}

/**
 * The last noise-free reverse-diffusion step from eps to 0 (score_sde's `denoise`): x ← A·x + B·s
 * with A, B of the reverse-diffusion step, i.e. x − f + G²·s (the full G², not the ½G² of the flow).
 */
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

/**
 * The model as one chunk's solver sees it: checks every prediction it returns (a NaN names the
 * solver, step and t), forwards what the model has beyond score() (its native parameterization,
 * predict, sde, scoreDivergence) so a solver's predict(model, sde, 'eps' | 'x0', …) reaches an
 * ε- or x̂_0-network's own output, and says which samples of the run each call's rows are (`rows`,
 * for perSample models): the chunk's rows in order, or the rows a solver names (chunk indices)
 * when it evaluates a subset of them (ode_rk45 once samples finish).
 */
class NonFiniteGuard implements ScoreModel {
  readonly parameterization?: Parameterization;
  readonly predict?: (x: Float64Array, t: Float64Array, out: Float64Array, rows?: SampleRows) => Promise<void>;
  readonly scoreDivergence?: (x: Float64Array, t: Float64Array, out: Float64Array, div: Float64Array) => Promise<void>;
  private readonly ownRows: Float64Array | undefined;
  private named: Float64Array | undefined;

  constructor(
    private readonly inner: ScoreModel,
    private readonly solver: string,
    private readonly step: () => number,
    private readonly first: number,
    private readonly n: number,
  ) {
    if (inner.perSample) this.ownRows = Float64Array.from({ length: n }, (_, r) => first + r);
    const { predict, scoreDivergence } = inner;
    if (predict && inner.parameterization) {
      this.parameterization = inner.parameterization;
      this.predict = async (x, t, out, rows) => {
        await predict.call(inner, x, t, out, this.globalRows(t.length, rows));
        this.check(x, t, out, `the model's ${this.parameterization} prediction`);
      };
    }
    if (scoreDivergence) {
      this.scoreDivergence = async (x, t, out, div) => {
        await scoreDivergence.call(inner, x, t, out, div);
        this.check(x, t, out, 'the score');
        this.check(x, t, div, 'the score divergence', 1);
      };
    }
  }

  get sampleShape(): readonly number[] {
    return this.inner.sampleShape;
  }

  get sde(): GaussianKernel | undefined {
    return this.inner.sde;
  }

  get perSample(): boolean | undefined {
    return this.inner.perSample;
  }

  async score(x: Float64Array, t: Float64Array, out: Float64Array, rows?: SampleRows): Promise<void> {
    await this.inner.score(x, t, out, this.globalRows(t.length, rows));
    this.check(x, t, out, 'the score');
  }

  /** The run's sample index of each row of a call of m rows (chunk indices `local`, else in order). */
  private globalRows(m: number, local: SampleRows | undefined): SampleRows | undefined {
    if (!this.ownRows) return undefined;
    if (!local) {
      if (m === this.n) return this.ownRows;
      throw new Error(
        `solver '${this.solver}' evaluated ${m} of the chunk's ${this.n} rows without saying which (rows): the model's output depends on the sample (per-sample labels)`,
      );
    }
    this.named ??= new Float64Array(this.n);
    for (let r = 0; r < m; r++) this.named[r] = this.first + local[r];
    return this.named.subarray(0, m);
  }

  private check(x: Float64Array, t: Float64Array, values: Float64Array, what: string, width = x.length / t.length): void {
    const bad = firstNonFinite(values);
    if (bad >= 0) throw new NonFiniteError(this.solver, this.step(), t[Math.floor(bad / width)], what);
  }
}
