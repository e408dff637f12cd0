import { z } from 'zod';
import { AffineStep, SDE } from './sde';
import { MODEL_PARAMS, RUN_PARAMS, SdeDefinition, ordered, param, withDefaults } from './definition';
import { ParameterError, requireInteger, requirePositive } from '../core/errors';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { exp, log, sqrt } = Math;


export interface VeOptions {
  sigmaMin?: number;
  sigmaMax?: number;
  T?: number;
  N?: number;
}

const VE_PARAMS = {
  sigmaMin: param(z.number().positive(), 0.01, 'σ_min'),
  sigmaMax: param(z.number().positive(), 50, 'σ_max (the prior std)'),
};

/**
 * Variance-exploding SDE (the continuous limit of SMLD/NCSN):
 * σ(t) = σ_min (σ_max/σ_min)^t, f = 0, g(t) = σ(t)·√(2 ln(σ_max/σ_min)).
 * Kernel N(x_0, σ(t)² I); prior N(0, σ_max² I).
 */
export class VESDE implements SDE {
  readonly kind = 've' as const;
  readonly schedule = 'geometric';
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  readonly T: number;
  readonly N: number;
  readonly defaultEps = 1e-5;
  private readonly logRatio: number;
  private readonly logSigmaMin: number;

  constructor(opts: VeOptions = {}) {
    const p = withDefaults({ ...VE_PARAMS, ...MODEL_PARAMS, ...RUN_PARAMS }, opts);
    this.sigmaMin = p.sigmaMin as number;
    this.sigmaMax = p.sigmaMax as number;
    this.T = p.T as number;
    this.N = p.N as number;
    requirePositive('sigmaMin', this.sigmaMin);
    requirePositive('sigmaMax', this.sigmaMax);
    requirePositive('T', this.T);
    requireInteger('N', this.N, 1);
    if (this.sigmaMin >= this.sigmaMax) {
      throw new ParameterError(
        `VE SDE needs sigmaMin < sigmaMax, got sigmaMin=${this.sigmaMin}, sigmaMax=${this.sigmaMax}`,
      );
    }
    this.logRatio = log(this.sigmaMax / this.sigmaMin);
    this.logSigmaMin = log(this.sigmaMin);
  }

  get priorStd(): number {
    return this.sigmaMax;
  }

  sigma(t: number): number {
    return this.sigmaMin * exp(this.logRatio * (t / this.T));
  }

  driftCoef(): number {
    return 0;
  }

  diffusion(t: number): number {
    return this.sigma(t) * sqrt((2 * this.logRatio) / this.T);
  }

  meanCoef(): number {
    return 1;
  }

  std(t: number): number {
    return this.sigma(t);
  }

  /** λ = −log σ(t) = −log σ_min − ln(σ_max/σ_min)·t/T: affine in t. */
  lambda(t: number): number {
    return -this.logSigmaMin - this.logRatio * (t / this.T);
  }

  timeForLambda(l: number): number {
    return (this.T * (-l - this.logSigmaMin)) / this.logRatio;
  }

  timeForStd(s: number): number {
    return (this.T * log(s / this.sigmaMin)) / this.logRatio;
  }

  /** SMLD: x_i = x_{i-1} + √(σ_i² − σ_{i-1}²) z. At tNext ≤ 0 the lower σ is 0, as in the reference. */
  discretize(t: number, tNext: number): { fCoef: number; G: number } {
    const s = this.sigma(t);
    const sNext = tNext > 0 ? this.sigma(tNext) : 0;
    return { fCoef: 0, G: sqrt(s * s - sNext * sNext) };
  }

  ancestral(t: number, tNext: number): AffineStep {
    const s2 = this.sigma(t) ** 2;
    const sNext2 = tNext > 0 ? this.sigma(tNext) ** 2 : 0;
    const d = s2 - sNext2;
    return { A: 1, B: d, C: sqrt((sNext2 * d) / s2) };
  }

  langevinAlpha(): number {
    return 1;
  }
}

export const VE_DEFINITION: SdeDefinition = {
  kind: 've',
  description: 'Variance exploding (SMLD/NCSN).',
  params: VE_PARAMS,
  check: ordered('sigmaMin', 'sigmaMax'),
  create: (spec) => new VESDE(spec as VeOptions),
};
