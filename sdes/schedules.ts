import { ParameterError, requirePositive } from '../core/errors';

// Module-level aliases: inside vm contexts (jest) every global lookup is ~50x slower.
const { acos, cos, log, sqrt, tan, PI } = Math;


/**
 * A noise schedule of the VP family: β(t) and m(t) = −½∫₀ᵗ β(s) ds, the log of the kernel mean
 * coefficient, so ᾱ(t) = e^{2m(t)}. Both exact; the kernels are built from m(t).
 */
export interface BetaSchedule {
  readonly name: 'linear' | 'cosine';
  beta(t: number): number;
  logMeanCoef(t: number): number;
}

/** β(t) = β_min + t(β_max − β_min) (score_sde's VP and sub-VP; DDPM in the limit N → ∞). */
export class LinearBetaSchedule implements BetaSchedule {
  readonly name = 'linear' as const;
  constructor(
    readonly betaMin = 0.1,
    readonly betaMax = 20,
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
  private readonly logCos0: number;

  constructor(
    readonly s = 0.008,
    readonly alphaBarMin = 1e-4,
    readonly T = 1,
  ) {
    requirePositive('cosine s', s);
    if (!(alphaBarMin > 0 && alphaBarMin < 1)) {
      throw new ParameterError(`alphaBarMin must be in (0, 1), got ${alphaBarMin}`);
    }
    const phi0 = this.phi(0);
    this.logCos0 = log(cos(phi0));
    const phiEnd = acos(sqrt(alphaBarMin) * cos(phi0));
    this.uEnd = (phiEnd * 2 * (1 + s)) / PI - s;
  }

  private phi(u: number): number {
    return ((PI / 2) * (u + this.s)) / (1 + this.s);
  }

  beta(t: number): number {
    const u = (t / this.T) * this.uEnd;
    return ((this.uEnd / this.T) * PI * tan(this.phi(u))) / (1 + this.s);
  }

  logMeanCoef(t: number): number {
    const u = (t / this.T) * this.uEnd;
    return log(cos(this.phi(u))) - this.logCos0;
  }
}
