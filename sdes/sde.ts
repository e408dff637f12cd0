import type { GaussianKernel } from '../core/score';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { abs, log, max, sqrt, PI } = Math;

/**
 * A forward SDE dx = f(x, t) dt + g(t) dw on t ∈ [0, T] with an exact Gaussian perturbation kernel
 * p_0t(x_t | x_0) = N(meanCoef(t)·x_0, std(t)² I).
 *
 * Every SDE in this package has a drift linear in x, f(x, t) = driftCoef(t)·x, so an SDE is a set
 * of scalar functions of t. That keeps the reverse SDE, the probability-flow ODE and every
 * discretized step a fused affine update over typed arrays (see ./reverse.ts).
 */
export interface SDE {
  /** The registry kind ('ve' | 'vp' | 'subvp' | …), with the schedule in `schedule` for the VP family. */
  readonly kind: SdeKind;
  readonly schedule: string;
  /** End of the time interval. */
  readonly T: number;
  /** Default number of discretization steps (the reference implementation's N). */
  readonly N: number;
  /** Default smallest time the samplers integrate down to. */
  readonly defaultEps: number;

  /** a(t) in f(x, t) = a(t)·x. */
  driftCoef(t: number): number;
  /** g(t). */
  diffusion(t: number): number;
  /** α(t), the kernel mean coefficient: E[x_t | x_0] = meanCoef(t)·x_0. */
  meanCoef(t: number): number;
  /** σ(t), the kernel standard deviation. */
  std(t: number): number;
  /**
   * λ(t) = log(α(t)/σ(t)), half the log signal-to-noise ratio: the time variable of exponential
   * integrators (DDIM, DPM-Solver, UniPC). Strictly decreasing on (0, T]; +∞ at t = 0 where σ = 0.
   * To full float64 precision (written to avoid cancellation near t = 0).
   */
  lambda(t: number): number;
  /**
   * The inverse of lambda: the t in (0, T] with λ(t) = l, to full float64 precision (closed form
   * for every SDE here; see ./invert.ts for a numeric one). Outside [λ(T), λ(0)) the continued
   * formula's value is returned where it exists (t > T for l < λ(T)), else NaN.
   */
  timeForLambda(l: number): number;
  /** The prior p_T is N(0, priorStd² I). */
  readonly priorStd: number;

  /**
   * One step of the SDE's own discretization from t down to tNext < t, as
   * x_{t} = x_{tNext} + f_i + G_i z in the forward direction with f_i = fCoef·x.
   * The reverse-diffusion predictor is built from it.
   */
  discretize(t: number, tNext: number): { fCoef: number; G: number };

  /**
   * Ancestral sampling step from t to tNext as x_next = A·x + B·score + C·z (SMLD for VE, DDPM
   * for VP); undefined where the SDE has none (sub-VP).
   */
  ancestral?(t: number, tNext: number): AffineStep;

  /**
   * The α in the Langevin step size 2α(snr·‖z‖/‖s‖)²: 1 for VE, the DDPM α_i = ᾱ(t)/ᾱ(tNext) for
   * the VP family (sub-VP included, where the reference implementation crashes).
   */
  langevinAlpha(t: number, tNext: number): number;

  /** Time at which std(t) = s (inverse of the kernel std), for σ-spaced grids. */
  timeForStd?(s: number): number;
}

/** An SDE registry kind: 've' | 'vp' | 'subvp' here, open to registered kinds (./registry.ts). */
export type SdeKind = string;

/** x_next = A·x + B·score + C·z. */
export interface AffineStep {
  A: number;
  B: number;
  C: number;
}

/** log N(x; 0, priorStd² I) for each of the n rows of x (length n·dim), into a new array. */
export function priorLogProb(sde: SDE, x: Float64Array, dim: number): Float64Array {
  const n = x.length / dim;
  const s2 = sde.priorStd * sde.priorStd;
  const norm = -0.5 * dim * log(2 * PI * s2);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sq = 0;
    for (let j = i * dim, end = j + dim; j < end; j++) sq += x[j] * x[j];
    out[i] = norm - sq / (2 * s2);
  }
  return out;
}

/** Euler–Maruyama discretization of the forward SDE: the default where an SDE has no better one. */
export function eulerDiscretization(sde: SDE, t: number, tNext: number): { fCoef: number; G: number } {
  const dt = t - tNext;
  return { fCoef: sde.driftCoef(t) * dt, G: sde.diffusion(t) * sqrt(dt) };
}

/**
 * dλ/dt = −g(t)²/(2σ(t)²) for every SDE here: with α'/α = f(t) and dσ²/dt = 2f σ² + g², the f
 * terms of d log α − d log σ cancel. Built from diffusion and std, not from lambda, so a test of
 * it against differences of lambda checks the three against each other.
 */
export function dLambdaDt(sde: SDE, t: number): number {
  const g = sde.diffusion(t);
  const s = sde.std(t);
  return (-0.5 * g * g) / (s * s);
}

/** EDM's noise level σ_EDM(t) = σ(t)/α(t) = e^{−λ(t)}: the std of x_t/α(t) (= σ(t) for VE). */
export function edmSigma(sde: SDE, t: number): number {
  return sde.std(t) / sde.meanCoef(t);
}

/** The inverse of edmSigma: the t with σ(t)/α(t) = s. */
export function timeForEdmSigma(sde: SDE, s: number): number {
  return sde.timeForLambda(-log(s));
}

/**
 * Whether two SDEs have the same kernel: same T, and α(t), σ(t) equal to 1e-12 relative on 17
 * points of [0, T] (both are analytic in t and in their parameters, so any parameter difference
 * shows at these points). The discretization defaults (N, eps) may differ.
 */
export function sameKernel(a: GaussianKernel, b: GaussianKernel): { same: true } | { same: false; why: string } {
  if (a === b) return { same: true };
  if (a.kind !== b.kind) return { same: false, why: `kind ${a.kind} vs ${b.kind}` };
  if (a.schedule !== b.schedule) return { same: false, why: `schedule ${a.schedule} vs ${b.schedule}` };
  if (!close(a.T, b.T)) return { same: false, why: `T ${a.T} vs ${b.T}` };
  for (let i = 1; i <= 16; i++) {
    const t = (a.T * i) / 16;
    if (!close(a.meanCoef(t), b.meanCoef(t))) return { same: false, why: `α(${t}) ${a.meanCoef(t)} vs ${b.meanCoef(t)}` };
    if (!close(a.std(t), b.std(t))) return { same: false, why: `σ(${t}) ${a.std(t)} vs ${b.std(t)}` };
  }
  return { same: true };
}

function close(x: number, y: number): boolean {
  return x === y || abs(x - y) <= 1e-12 * max(abs(x), abs(y));
}
