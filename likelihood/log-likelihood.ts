import { ParameterError } from '../core/errors';
import { NoiseSource } from '../core/noise';
import { ScoreModel, sampleSize } from '../core/score';
import { SDE, priorLogProb } from '../sdes/sde';
import { integrateRk45 } from '../solvers/rk45/integrate';
import { odeRk45 } from '../solvers/ode-rk45';
import { DEFAULT_DIVERGENCE, DivergenceMethod, DivergenceSettings, divergenceEstimator } from './divergence';
import { Quantization, bitsPerDim, dequantize } from './dequantize';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { sqrt } = Math;

export interface LikelihoodOptions {
  sde: SDE;
  model: ScoreModel;
  /** n rows of prod(model.sampleShape) values. Dequantized first when `quantization` is given. */
  data: Float64Array;
  /** Image data on a grid of levels in its data range: dequantize and report bits/dim. */
  quantization?: Quantization;
  /** The ODE runs from t = eps (score_sde's likelihood default 1e-5) to T. */
  eps?: number;
  /** Tolerances of the per-sample RK45 controller (score_sde's defaults 1e-5, 1e-5). */
  rtol?: number;
  atol?: number;
  /** Attempted RK45 steps per sample before giving up. Default: ode_rk45's. */
  maxSteps?: number;
  divergence?: Partial<DivergenceSettings>;
  /** Global index of data row 0 (probes and dequantization noise are keyed by it). Default 0. */
  firstSample?: number;
  /** Samples per integration (each sample keeps its own steps; the result does not depend on it). Default: all. */
  batchSize?: number;
  /** After each batch: samples done so far. */
  onBatch?(done: number, n: number): void;
}

export interface LikelihoodResult {
  /** log p(x) in nats of each (dequantized) data row under the model: prior + Δ. */
  logp: Float64Array;
  /** Bits per dimension (with quantization, see ./dequantize.ts). */
  bpd?: Float64Array;
  /** Per-sample standard error of logp over the Hutchinson probes (≥ 2 probes), else undefined. */
  logpStderr?: Float64Array;
  /** log p_T(x(T)) under the prior, and Δ = ∫_eps^T ∇·f̃ dt (the mean over channels). */
  priorLogp: Float64Array;
  delta: Float64Array;
  /** x(T): the data's latent codes. */
  latents: Float64Array;
  /** The data the ODE started from (dequantized where it was). */
  input: Float64Array;
  method: DivergenceMethod;
  /** Log-density channels integrated per sample (one per Hutchinson probe). */
  channels: number;
  /** Vector-field evaluations per sample (score_sde's nfe counts the same), and model evaluations per sample. */
  nfe: number;
  modelEvaluations: number;
  settings: { eps: number; T: number; rtol: number; atol: number; maxSteps: number; divergence: DivergenceSettings; quantization?: Quantization };
}

/**
 * log p(x) through the probability-flow ODE (Song et al. 2021, app. D.2; score_sde's
 * likelihood.py): with f̃(x, t) = f(t)·x − ½ g(t)² s(x, t) the PF-ODE drift, integrate
 *
 *   dx/dt = f̃(x, t),   dΔ/dt = ∇·f̃ = D·f(t) − ½ g(t)² ∇·s(x, t)
 *
 * from x(eps) = data, Δ(eps) = 0 to T, and log p_eps(x) = log p_T(x(T)) + Δ(T) with p_T the
 * prior (the instantaneous change of variables: d log p_t(x(t))/dt = −∇·f̃). The state is one
 * row [x, Δ_1 … Δ_C] per sample, integrated by the adaptive Dormand–Prince of solvers/rk45 with a
 * step size per sample (the error norm per row, so a sample's result does not depend on its
 * batch). ∇·s comes from ./divergence.ts: exact, Jacobian trace, or C Hutchinson probes fixed over
 * the solve (each probe its own channel Δ_c; the estimate is their mean).
 *
 * What it estimates: log p_eps of the model, not log p_0, and with the prior in place of the
 * model's true p_T; tests/likelihood-mixture.test.ts measures both gaps on exact mixtures.
 */
export async function logLikelihood(o: LikelihoodOptions): Promise<LikelihoodResult> {
  const { sde, model } = o;
  const dim = sampleSize(model.sampleShape);
  const n = o.data.length / dim;
  if (!Number.isInteger(n) || n === 0) throw new ParameterError(`likelihood data has ${o.data.length} values: not a positive multiple of the sample size ${dim} ([${model.sampleShape.join(', ')}])`);
  const rk = rk45Settings(o);
  const eps = o.eps ?? 1e-5;
  if (!(eps > 0 && eps < sde.T)) throw new ParameterError(`likelihood eps must be in (0, T = ${sde.T}), got ${eps}`);
  const div: DivergenceSettings = { ...DEFAULT_DIVERGENCE, ...o.divergence };
  const first = o.firstSample ?? 0;
  const noise = new NoiseSource(div.seed, first);
  const input = o.quantization ? dequantize(o.data, dim, o.quantization, noise) : o.data.slice();
  const batch = o.batchSize ?? n;
  if (!(Number.isInteger(batch) && batch >= 1)) throw new ParameterError(`likelihood batchSize must be an integer >= 1, got ${batch}`);

  const latents = new Float64Array(n * dim);
  const delta = new Float64Array(n);
  let stderr: Float64Array | undefined;
  let evaluations = 0;
  let method: DivergenceMethod = 'exact';
  let channels = 1;
  let perRow = 1;
  for (let start = 0; start < n; start += batch) {
    const m = Math.min(batch, n - start);
    const est = divergenceEstimator(model, sde, dim, m, div, noise.shifted(start));
    ({ method, channels } = est);
    perRow = est.evaluationsPerRow;
    const W = dim + channels;
    const y = new Float64Array(m * W);
    for (let r = 0; r < m; r++) y.set(input.subarray((start + r) * dim, (start + r + 1) * dim), r * W);
    const xs = new Float64Array(m * dim);
    const ss = new Float64Array(m * dim);
    const ds = new Float64Array(m * channels);
    const sampleRows = new Float64Array(m);
    const stats = await integrateRk45(
      {
        y,
        n: m,
        width: W,
        t0: eps,
        t1: sde.T,
        async field(ys, ts, out, rows) {
          const k = ts.length;
          const x = xs.subarray(0, k * dim);
          for (let r = 0; r < k; r++) x.set(ys.subarray(r * W, r * W + dim), r * dim);
          for (let r = 0; r < k; r++) sampleRows[r] = first + start + rows[r];
          await est.evaluate(x, ts, rows, ss.subarray(0, k * dim), ds.subarray(0, k * channels), sampleRows.subarray(0, k));
          augmentedDrift(sde, x, ts, ss, ds, dim, channels, out);
        },
      },
      { ...rk, norm: 'sample', label: 'likelihood' },
    );
    evaluations += stats.evaluations;
    if (channels > 1) stderr ??= new Float64Array(n);
    for (let r = 0; r < m; r++) {
      latents.set(y.subarray(r * W, r * W + dim), (start + r) * dim);
      const [mean, se] = meanAndStderr(y.subarray(r * W + dim, (r + 1) * W));
      delta[start + r] = mean;
      if (stderr) stderr[start + r] = se;
    }
    o.onBatch?.(start + m, n);
  }
  const priorLogp = priorLogProb(sde, latents, dim);
  const logp = priorLogp.map((p, i) => p + delta[i]);
  return {
    logp,
    bpd: o.quantization ? bitsPerDim(logp, dim, o.quantization) : undefined,
    logpStderr: stderr,
    priorLogp,
    delta,
    latents,
    input,
    method,
    channels,
    nfe: evaluations / n,
    modelEvaluations: (evaluations / n) * perRow,
    settings: { eps, T: sde.T, rtol: rk.rtol, atol: rk.atol, maxSteps: rk.maxSteps, divergence: { ...div, method }, quantization: o.quantization },
  };
}

/** rtol, atol, maxSteps checked by ode_rk45's own schema (its defaults for the controller's other settings). */
function rk45Settings(o: LikelihoodOptions) {
  const parsed = odeRk45.settings.safeParse({ rtol: o.rtol ?? 1e-5, atol: o.atol ?? 1e-5, ...(o.maxSteps !== undefined ? { maxSteps: o.maxSteps } : {}) });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ParameterError(`likelihood ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/** out = [f̃(x, t), ∇·f̃ per channel] per row of width dim + channels (see logLikelihood). */
function augmentedDrift(sde: SDE, x: Float64Array, t: Float64Array, s: Float64Array, div: Float64Array, dim: number, channels: number, out: Float64Array): void {
  const W = dim + channels;
  for (let r = 0; r < t.length; r++) {
    const a = sde.driftCoef(t[r]);
    const g = sde.diffusion(t[r]);
    const c = -0.5 * g * g;
    for (let j = 0, o = r * W, i = r * dim; j < dim; j++) out[o + j] = a * x[i + j] + c * s[i + j];
    for (let q = 0; q < channels; q++) out[r * W + dim + q] = dim * a + c * div[r * channels + q];
  }
}

/** Mean and standard error of the mean (sample std / √n; 0 for a single value). */
export function meanAndStderr(v: ArrayLike<number>): [mean: number, stderr: number] {
  const n = v.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += v[i];
  mean /= n;
  if (n < 2) return [mean, 0];
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (v[i] - mean) ** 2;
  return [mean, sqrt(ss / (n - 1) / n)];
}
