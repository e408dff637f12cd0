import { z } from 'zod';
import { ParameterError, requirePositive } from '../core/errors';
import { SdeVariants, ordered, param } from './definition';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { acos, atan2, cos, exp, expm1, log, log1p, sin, sqrt, tan, PI } = Math;


/**
 * A noise schedule of the VP family: β(t) and m(t) = −½∫₀ᵗ β(s) ds, the log of the kernel mean
 * coefficient, so ᾱ(t) = e^{2m(t)}. Both exact; the kernels are built from m(t).
 */
export interface BetaSchedule {
  readonly name: string;
  beta(t: number): number;
  logMeanCoef(t: number): number;
  /** The inverse of logMeanCoef (m is decreasing): the t with m(t) = m, to full precision. */
  timeForLogMeanCoef(m: number): number;
}

/** β(t) = β_min + t(β_max − β_min) (score_sde's VP and sub-VP; DDPM in the limit N → ∞). */
export class LinearBetaSchedule implements BetaSchedule {
  readonly name = 'linear' as const;
  /** Defaults live in BETA_SCHEDULES (the registry), not here. */
  constructor(
    readonly betaMin: number,
    readonly betaMax: number,
  ) {
    requirePositive('betaMin', betaMin);
    requirePositive('betaMax', betaMax);
    if (betaMin > betaMax) {
      throw new ParameterError(`betaMin must be <= betaMax, got betaMin=${betaMin}, betaMax=${betaMax}`);
    }
  }

  beta(t: number): number {
    return this.betaMin + t * (this.betaMax - this.betaMin);
  }

  logMeanCoef(t: number): number {
    return -0.25 * t * t * (this.betaMax - this.betaMin) - 0.5 * t * this.betaMin;
  }

  /**
   * The root of ¼Δβ t² + ½β_min t + m = 0 in the form −2m / (½β_min + √(¼β_min² − Δβ m)):
   * no cancellation (m ≤ 0), and right for Δβ = 0.
   */
  timeForLogMeanCoef(m: number): number {
    const b = 0.5 * this.betaMin;
    return (-2 * m) / (b + sqrt(b * b - (this.betaMax - this.betaMin) * m));
  }
}

/**
 * Nichol & Dhariwal's cosine schedule, ᾱ(u) = cos²(φ(u)) / cos²(φ(0)), φ(u) = π/2·(u + s)/(1 + s).
 * At u = 1 it reaches ᾱ = 0 and β = ∞ (they clip β in discrete time), so continuous time t ∈ [0, T]
 * is mapped onto u ∈ [0, u_end] with u_end chosen so that ᾱ(T) = alphaBarMin exactly: β stays
 * finite and the prior N(0, I) is off by a mean coefficient of √alphaBarMin (0.01 by default).
 */
export class CosineBetaSchedule implements BetaSchedule {
  readonly name = 'cosine' as const;
  private readonly uEnd: number;
  private readonly phi0: number;
  private readonly tanPhi0: number;
  private readonly cosPhi0: number;
  private readonly sinPhi0: number;

  /** Defaults live in BETA_SCHEDULES (the registry), not here. */
  constructor(
    readonly s: number,
    readonly alphaBarMin: number,
    readonly T: number,
  ) {
    requirePositive('cosine s', s);
    if (!(alphaBarMin > 0 && alphaBarMin < 1)) {
      throw new ParameterError(`alphaBarMin must be in (0, 1), got ${alphaBarMin}`);
    }
    this.phi0 = this.phi(0);
    this.tanPhi0 = tan(this.phi0);
    this.cosPhi0 = cos(this.phi0);
    this.sinPhi0 = sin(this.phi0);
    const phiEnd = acos(sqrt(alphaBarMin) * cos(this.phi0));
    this.uEnd = (phiEnd * 2 * (1 + s)) / PI - s;
  }

  private phi(u: number): number {
    return ((PI / 2) * (u + this.s)) / (1 + this.s);
  }

  beta(t: number): number {
    const u = (t / this.T) * this.uEnd;
    return ((this.uEnd / this.T) * PI * tan(this.phi(u))) / (1 + this.s);
  }

  /**
   * log(cos(φ0 + δ)/cos φ0) = log1p(−2 sin²(δ/2) − tan φ0 · sin δ) with δ = φ(u) − φ0: the
   * quotient of two cosines near 1 would lose ~1e-16/|m| relative near t = 0.
   */
  logMeanCoef(t: number): number {
    const delta = ((PI / 2) * ((t / this.T) * this.uEnd)) / (1 + this.s);
    const h = sin(0.5 * delta);
    return log1p(-2 * h * h - this.tanPhi0 * sin(delta));
  }

  /**
   * cos(φ0 + δ) = e^m cos φ0 for δ, as δ = atan2(sin δ, cos δ) with (x, y) = (cos φ, sin φ) =
   * (e^m cos φ0, √(sin²φ0 − cos²φ0·expm1(2m))) a unit vector: cos δ = x cos φ0 + y sin φ0 and
   * sin δ = y cos φ0 − x sin φ0 = −cos²φ0·expm1(2m) / (y cos φ0 + x sin φ0), the difference
   * rewritten without cancellation (acos, or φ − φ0, would lose φ0·1e-16 absolute near t = 0).
   */
  timeForLogMeanCoef(m: number): number {
    const c0 = this.cosPhi0;
    const s0 = this.sinPhi0;
    const e2 = expm1(2 * m);
    const x = exp(m) * c0;
    const y = sqrt(s0 * s0 - c0 * c0 * e2);
    const delta = atan2((-c0 * c0 * e2) / (y * c0 + x * s0), x * c0 + y * s0);
    return ((delta * 2 * (1 + this.s)) / PI / this.uEnd) * this.T;
  }
}

/** The VP family's `schedule` field: each β schedule, its parameters, defaults and factory. */
export const BETA_SCHEDULES: SdeVariants<BetaSchedule> = {
  field: 'schedule',
  description: 'β schedule',
  default: 'linear',
  options: {
    linear: {
      description: 'β(t) = β_min + t(β_max − β_min)',
      params: {
        betaMin: param(z.number().positive(), 0.1, 'β_min of the linear schedule'),
        betaMax: param(z.number().positive(), 20, 'β_max of the linear schedule'),
      },
      check: ordered('betaMin', 'betaMax', true),
      create: (p) => new LinearBetaSchedule(p.betaMin as number, p.betaMax as number),
    },
    cosine: {
      description: "Nichol & Dhariwal's cosine ᾱ, truncated at ᾱ(T) = alphaBarMin",
      params: {
        cosineS: param(z.number().positive(), 0.008, 'Offset s of the cosine schedule'),
        alphaBarMin: param(z.number().gt(0).lt(1), 1e-4, 'Cosine schedule: ᾱ(T), where it is truncated'),
      },
      create: (p) => new CosineBetaSchedule(p.cosineS as number, p.alphaBarMin as number, p.T),
    },
  },
};
