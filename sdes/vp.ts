import { AffineStep, SDE, eulerDiscretization } from './sde';
import { BetaSchedule, CosineBetaSchedule, LinearBetaSchedule } from './schedules';
import { ParameterError, requireInteger, requirePositive } from '../core/errors';

// Module-level aliases: inside vm contexts (jest) every global lookup is ~50x slower.
const { exp, expm1, sqrt } = Math;


export interface VpOptions {
  schedule?: 'linear' | 'cosine';
  betaMin?: number;
  betaMax?: number;
  /** Cosine schedule offset s. */
  cosineS?: number;
  /** Cosine schedule: ᾱ(T), where the schedule is truncated. */
  alphaBarMin?: number;
  T?: number;
  N?: number;
}

function makeSchedule(opts: VpOptions, T: number): BetaSchedule {
  const name = opts.schedule ?? 'linear';
  if (name === 'linear') return new LinearBetaSchedule(opts.betaMin ?? 0.1, opts.betaMax ?? 20);
  if (name === 'cosine') return new CosineBetaSchedule(opts.cosineS ?? 0.008, opts.alphaBarMin ?? 1e-4, T);
  throw new ParameterError(`unknown VP schedule '${String(name)}': expected 'linear' or 'cosine'`);
}

/** What VP and sub-VP share: the drift −½β(t)x and the kernel mean e^{m(t)}. */
abstract class VpFamilySDE implements SDE {
  abstract readonly kind: 'vp' | 'subvp';
  readonly T: number;
  readonly N: number;
  readonly defaultEps = 1e-3;
  readonly priorStd = 1;
  readonly betaSchedule: BetaSchedule;

  constructor(opts: VpOptions) {
    this.T = opts.T ?? 1;
    this.N = opts.N ?? 1000;
    requirePositive('T', this.T);
    requireInteger('N', this.N, 1);
    this.betaSchedule = makeSchedule(opts, this.T);
  }

  get schedule(): string {
    return this.betaSchedule.name;
  }

  driftCoef(t: number): number {
    return -0.5 * this.betaSchedule.beta(t);
  }

  meanCoef(t: number): number {
    return exp(this.betaSchedule.logMeanCoef(t));
  }

  /** 1 − ᾱ(t)/ᾱ(tNext): the DDPM β_i of a step from t down to tNext. */
  protected stepBeta(t: number, tNext: number): number {
    const m = this.betaSchedule.logMeanCoef(t);
    const mNext = tNext > 0 ? this.betaSchedule.logMeanCoef(tNext) : 0;
    return -expm1(2 * (m - mNext));
  }

  langevinAlpha(t: number, tNext: number): number {
    return 1 - this.stepBeta(t, tNext);
  }

  abstract diffusion(t: number): number;
  abstract std(t: number): number;
  abstract discretize(t: number, tNext: number): { fCoef: number; G: number };
}

/**
 * Variance-preserving SDE (the continuous limit of DDPM): f = −½β(t)x, g = √β(t).
 * Kernel N(e^{m(t)} x_0, (1 − e^{2m(t)}) I); prior N(0, I).
 */
export class VPSDE extends VpFamilySDE {
  readonly kind = 'vp' as const;

  constructor(opts: VpOptions = {}) {
    super(opts);
  }

  diffusion(t: number): number {
    return sqrt(this.betaSchedule.beta(t));
  }

  std(t: number): number {
    return sqrt(-expm1(2 * this.betaSchedule.logMeanCoef(t)));
  }

  /** DDPM: x_i = √(1 − β_i) x_{i-1} + √β_i z. */
  discretize(t: number, tNext: number): { fCoef: number; G: number } {
    const b = this.stepBeta(t, tNext);
    return { fCoef: sqrt(1 - b) - 1, G: sqrt(b) };
  }

  /** DDPM ancestral step: x_next = (x + β_i s)/√(1 − β_i) + √β_i z. */
  ancestral(t: number, tNext: number): AffineStep {
    const b = this.stepBeta(t, tNext);
    const r = 1 / sqrt(1 - b);
    return { A: r, B: b * r, C: sqrt(b) };
  }
}

/**
 * Sub-VP SDE: the VP drift with g² = β(t)(1 − e^{−2∫₀ᵗβ}) = β(t)(1 − e^{4m(t)}).
 * Kernel N(e^{m(t)} x_0, (1 − e^{2m(t)})² I) (std without a square root); prior N(0, I).
 */
export class SubVPSDE extends VpFamilySDE {
  readonly kind = 'subvp' as const;

  constructor(opts: VpOptions = {}) {
    super(opts);
  }

  diffusion(t: number): number {
    return sqrt(this.betaSchedule.beta(t) * -expm1(4 * this.betaSchedule.logMeanCoef(t)));
  }

  std(t: number): number {
    return -expm1(2 * this.betaSchedule.logMeanCoef(t));
  }

  /** Sub-VP has no discrete-time counterpart: Euler–Maruyama, as in the reference. */
  discretize(t: number, tNext: number): { fCoef: number; G: number } {
    return eulerDiscretization(this, t, tNext);
  }
}
