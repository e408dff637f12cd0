// Module-level aliases: inside vm contexts (jest) every global lookup is ~50x slower.
const { log, sqrt, PI } = Math;

/**
 * A forward SDE dx = f(x, t) dt + g(t) dw on t ∈ [0, T] with an exact Gaussian perturbation kernel
 * p_0t(x_t | x_0) = N(meanCoef(t)·x_0, std(t)² I).
 *
 * Every SDE in this package has a drift linear in x, f(x, t) = driftCoef(t)·x, so an SDE is a set
 * of scalar functions of t. That keeps the reverse SDE, the probability-flow ODE and every
 * discretized step a fused affine update over typed arrays (see ./reverse.ts).
 */
export interface SDE {
  /** 've' | 'vp' | 'subvp', with the schedule in `schedule` for the VP family. */
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
  /** Kernel mean coefficient: E[x_t | x_0] = meanCoef(t)·x_0. */
  meanCoef(t: number): number;
  /** Kernel standard deviation. */
  std(t: number): number;
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

export type SdeKind = 've' | 'vp' | 'subvp';

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
