import { z } from 'zod';
import { SDE } from '../sdes/sde';
import { predict } from '../sdes/predict';
import { convertPrediction } from '../sdes/parameterization';
import { SolverContext } from './solver';
import { Thresholder } from './thresholding';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { abs, expm1, min } = Math;

/**
 * The pieces the exponential integrators share (ddim, dpm_solver, dpmpp_*, unipc; Lu et al. 2022,
 * Zhao et al. 2023). With x_t = α(t)x_0 + σ(t)ε and λ = log(α/σ), the probability-flow ODE is
 * solved exactly in its linear part:
 *   data prediction  x_t = (σ_t/σ_s)·x_s + σ_t ∫ e^λ x̂_0(λ) dλ
 *   noise prediction x_t = (α_t/α_s)·x_s − α_t ∫ e^{−λ} ε̂(λ) dλ
 * and the methods differ in how they approximate the prediction along λ. With h = λ_t − λ_s and
 * hh = −h (data) or h (noise), a Taylor expansion of the prediction m(λ) = Σ m^(k)(λ_s)(λ−λ_s)^k/k!
 * integrates to x_t = A·x_s − scale·Σ_k ψ_{k+1}(hh)·hh^{-k}·(±h)^k·m^(k) with ψ_k(z) = z·φ_k(z);
 * the solvers' coefficients below are those integrals in their own notation.
 */

/** A time with the kernel values exponential integrators need there. */
export interface Node {
  t: number;
  lambda: number;
  alpha: number;
  sigma: number;
}

export function nodeAt(sde: SDE, t: number): Node {
  return { t, lambda: sde.lambda(t), alpha: sde.meanCoef(t), sigma: sde.std(t) };
}

/** The node at λ = l (an intermediate point of a singlestep method): t from the SDE's inverse. */
export function nodeAtLambda(sde: SDE, l: number): Node {
  const t = sde.timeForLambda(l);
  return { t, lambda: l, alpha: sde.meanCoef(t), sigma: sde.std(t) };
}

const FACTORIALS = [1, 1, 2, 6, 24, 120, 720];

/**
 * φ_k(z) = Σ_n z^n/(n+k)!: φ_1(z) = (e^z − 1)/z, φ_{k+1}(z) = (φ_k(z) − 1/k!)/z. The series
 * near 0, where the recursion cancels (φ_3 at z = 1e-3 loses 6 digits to it); k ≤ 5.
 */
export function phi(k: number, z: number): number {
  if (abs(z) < 1) {
    let term = 1 / FACTORIALS[k];
    let sum = term;
    for (let n = 1; n < 30 && abs(term) > 1e-18 * abs(sum); n++) {
      term *= z / (n + k);
      sum += term;
    }
    return sum;
  }
  let p = expm1(z) / z;
  for (let j = 1; j < k; j++) p = (p - 1 / FACTORIALS[j]) / z;
  return p;
}

/** ψ_k(z) = z·φ_k(z): ψ_1 = e^z − 1, ψ_2 = (e^z − 1)/z − 1, ψ_3 = ψ_2/z − 1/2, … */
export function psi(k: number, z: number): number {
  return z * phi(k, z);
}

/** What a step works with: data prediction (x̂_0) or noise prediction (ε̂). */
export type Prediction = 'x0' | 'eps';

/**
 * The exact linear part of a step from s to t: x_t = A·x_s − scale·(ψ_1(hh)·m_s + corrections).
 *   x0:  A = σ_t/σ_s, scale = α_t, hh = −h
 *   eps: A = α_t/α_s, scale = σ_t, hh = h
 */
export interface ExpStep {
  h: number;
  hh: number;
  A: number;
  scale: number;
}

export function expStep(want: Prediction, s: Node, t: Node): ExpStep {
  const h = t.lambda - s.lambda;
  return want === 'x0' ? { h, hh: -h, A: t.sigma / s.sigma, scale: t.alpha } : { h, hh: h, A: t.alpha / s.alpha, scale: t.sigma };
}

/**
 * out ← A·x + Σ_k c[k]·m[k], fused in one pass (the hot loop of every exponential integrator;
 * out may alias x). Up to 4 terms.
 */
export function combine(out: Float64Array, A: number, x: Float64Array, c: readonly number[], m: readonly Float64Array[]): void {
  const len = out.length;
  switch (c.length) {
    case 1: {
      const [c0] = c;
      const [m0] = m;
      for (let j = 0; j < len; j++) out[j] = A * x[j] + c0 * m0[j];
      return;
    }
    case 2: {
      const [c0, c1] = c;
      const [m0, m1] = m;
      for (let j = 0; j < len; j++) out[j] = A * x[j] + c0 * m0[j] + c1 * m1[j];
      return;
    }
    case 3: {
      const [c0, c1, c2] = c;
      const [m0, m1, m2] = m;
      for (let j = 0; j < len; j++) out[j] = A * x[j] + c0 * m0[j] + c1 * m1[j] + c2 * m2[j];
      return;
    }
    case 4: {
      const [c0, c1, c2, c3] = c;
      const [m0, m1, m2, m3] = m;
      for (let j = 0; j < len; j++) out[j] = A * x[j] + c0 * m0[j] + c1 * m1[j] + c2 * m2[j] + c3 * m3[j];
      return;
    }
    default:
      throw new RangeError(`combine takes 1 to 4 terms, got ${c.length}`);
  }
}

/**
 * The model's predictions as a solver wants them: one evaluation each through predict() (the
 * model's native output where it matches, never a round trip through the score), x̂_0 thresholded
 * where thresholding is on, and the latest x̂_0 kept for stepDone.
 */
export class Predictions {
  private readonly t: Float64Array;
  private x0?: Float64Array;
  private x0At = NaN;

  constructor(
    private readonly ctx: SolverContext,
    readonly want: Prediction,
    private readonly thresholder?: Thresholder,
  ) {
    this.t = new Float64Array(ctx.n);
    if (thresholder && want !== 'x0') throw new RangeError('thresholding applies to data predictions only');
  }

  /**
   * out ← the prediction at (x, time): one evaluation per sample. out must not alias x. `report`
   * false keeps the x̂_0 stepDone reports (a singlestep method's intermediate points).
   */
  async at(x: Float64Array, time: number, out: Float64Array, report = true): Promise<void> {
    const { ctx } = this;
    this.t.fill(time);
    await predict(ctx.model, ctx.sde, this.want, x, this.t, out);
    this.thresholder?.apply(out);
    if (!report) return;
    if (this.want === 'x0') {
      this.x0 = out;
    } else if (ctx.wantsDenoised) {
      // x̂_0 from ε̂, only for listeners.
      this.x0 ??= new Float64Array(x.length);
      convertPrediction('eps', 'x0', ctx.sde, x, this.t, out, this.x0);
    }
    this.x0At = time;
  }

  /** The last x̂_0 and its time, for stepDone(step, t, ...denoised()); nothing when nobody listens. */
  denoised(): [Float64Array | undefined, number | undefined] {
    return this.ctx.wantsDenoised && this.x0 ? [this.x0, this.x0At] : [undefined, undefined];
  }
}

/**
 * The last `size` predictions of a multistep method with their λ, newest first, in buffers that
 * rotate (no copies): write the next prediction into slot(), then push(λ).
 */
export class History {
  private readonly buffers: Float64Array[];
  private readonly lambdas: number[];
  private filled = 0;

  constructor(
    readonly size: number,
    length: number,
  ) {
    this.buffers = Array.from({ length: size }, () => new Float64Array(length));
    this.lambdas = new Array<number>(size).fill(NaN);
  }

  /** The buffer the next prediction goes into (the oldest one's). */
  slot(): Float64Array {
    return this.buffers[this.size - 1];
  }

  /** Makes slot() the newest entry, at λ = lambda. */
  push(lambda: number): void {
    this.buffers.unshift(this.buffers.pop()!);
    this.lambdas.unshift(lambda);
    this.lambdas.pop();
    this.filled = min(this.filled + 1, this.size);
  }

  /** The k-th newest prediction (0 = latest). */
  m(k: number): Float64Array {
    if (k >= this.filled) throw new RangeError(`history holds ${this.filled} predictions, asked for #${k}`);
    return this.buffers[k];
  }

  lambda(k: number): number {
    return this.lambdas[k];
  }

  get count(): number {
    return this.filled;
  }
}

/**
 * The last step of a data-prediction method, from eps to t = 0: x ← x̂_0(x, eps), thresholded
 * where thresholding is on (one evaluation), reported as step `step` at t = 0.
 */
export async function denoiseToZero(ctx: SolverContext, step: number, thresholder?: Thresholder): Promise<void> {
  const eps = ctx.grid[ctx.grid.length - 1];
  const x0 = new Float64Array(ctx.x.length);
  await predict(ctx.model, ctx.sde, 'x0', ctx.x, new Float64Array(ctx.n).fill(eps), x0);
  thresholder?.apply(x0);
  ctx.x.set(x0);
  ctx.stepDone(step, 0, ctx.wantsDenoised ? ctx.x : undefined, ctx.wantsDenoised ? eps : undefined);
}

/** Evaluations of a method with `perStep` per grid step and the optional step to t = 0. */
export function evaluationsWith(perStep: number, steps: number, st: { denoiseToZero: boolean }): number {
  return perStep * steps + (st.denoiseToZero ? 1 : 0);
}

/** Below this many steps, multistep methods lower their order on the last steps (lowerOrderFinal). */
export const LOWER_ORDER_FINAL_BELOW = 15;

/**
 * The order of multistep step i (0-based) of `steps`: warm-up min(order, i + 1); with
 * lowerOrderFinal and fewer than LOWER_ORDER_FINAL_BELOW steps, at most steps − i on the last
 * steps (DPM-Solver lowers below 10 steps, diffusers below 15).
 */
export function stepOrder(i: number, steps: number, order: number, lowerOrderFinal: boolean): number {
  const warm = min(order, i + 1);
  return lowerOrderFinal && steps < LOWER_ORDER_FINAL_BELOW ? min(warm, steps - i) : warm;
}

/** The lowerOrderFinal setting of the multistep methods. */
export const lowerOrderFinalSetting = {
  lowerOrderFinal: z
    .boolean()
    .default(true)
    .describe(
      `With fewer than ${LOWER_ORDER_FINAL_BELOW} steps, lower the order of the last steps (at most k at the k-th last step, first order at the last): ` +
        'multistep extrapolation over few, long steps is unstable (DPM-Solver lowers below 10 steps, diffusers below 15).',
    ),
};
