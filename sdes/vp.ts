import { AffineStep, SDE, eulerDiscretization } from './sde';
import { BETA_SCHEDULES, BetaSchedule } from './schedules';
import { MODEL_PARAMS, RUN_PARAMS, SdeDefinition, withDefaults } from './definition';
import { ParameterError, requireInteger, requirePositive } from '../core/errors';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { asinh, exp, expm1, log, log1p, sinh, sqrt } = Math;


export interface VpOptions {
  schedule?: 'linear' | 'cosine' | (string & {});
  betaMin?: number;
  betaMax?: number;
  /** Cosine schedule offset s. */
  cosineS?: number;
  /** Cosine schedule: ᾱ(T), where the schedule is truncated. */
  alphaBarMin?: number;
  T?: number;
  N?: number;
}

/** The schedule of the options, with the registry's defaults for what they leave out. */
function makeSchedule(opts: VpOptions, T: number): BetaSchedule {
  const name = opts.schedule ?? BETA_SCHEDULES.default;
  const variant = Object.hasOwn(BETA_SCHEDULES.options, name) ? BETA_SCHEDULES.options[name] : undefined;
  if (!variant) {
    throw new ParameterError(`unknown VP schedule '${String(name)}': expected ${Object.keys(BETA_SCHEDULES.options).map((k) => `'${k}'`).join(' or ')}`);
  }
  return variant.create(withDefaults(variant.params, { ...opts, T }));
}

/** log(1 + e^x) without overflow. */
function softplus(x: number): number {
  return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
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
    const p = withDefaults({ ...MODEL_PARAMS, ...RUN_PARAMS }, { T: opts.T, N: opts.N });
    this.T = p.T as number;
    this.N = p.N as number;
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

  /** λ = log α − log σ as a function of m = log α: each kind's closed form. */
  protected abstract lambdaOfLogMean(m: number): number;
  /** Its inverse: m from λ. */
  protected abstract logMeanOfLambda(l: number): number;

  lambda(t: number): number {
    return this.lambdaOfLogMean(this.betaSchedule.logMeanCoef(t));
  }

  timeForLambda(l: number): number {
    return this.betaSchedule.timeForLogMeanCoef(this.logMeanOfLambda(l));
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

  /** α/σ = e^m/√(1 − e^{2m}) = 1/√(e^{−2m} − 1), so λ = −½ log expm1(−2m). */
  protected lambdaOfLogMean(m: number): number {
    return -0.5 * log(expm1(-2 * m));
  }

  /** expm1(−2m) = e^{−2λ}: m = −½ log(1 + e^{−2λ}). */
  protected logMeanOfLambda(l: number): number {
    return -0.5 * softplus(-2 * l);
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

  /** α/σ = e^m/(1 − e^{2m}) = 1/(e^{−m} − e^m) = 1/(2 sinh(−m)), so λ = −log(2 sinh(−m)). */
  protected lambdaOfLogMean(m: number): number {
    return -log(2 * sinh(-m));
  }

  /** sinh(−m) = ½e^{−λ}: m = −asinh(½e^{−λ}). */
  protected logMeanOfLambda(l: number): number {
    return -asinh(0.5 * exp(-l));
  }

  /** Sub-VP has no discrete-time counterpart: Euler–Maruyama, as in the reference. */
  discretize(t: number, tNext: number): { fCoef: number; G: number } {
    return eulerDiscretization(this, t, tNext);
  }
}

/** The VP family's registry entries share the β-schedule variants. */
function vpFamilyDefinition(kind: 'vp' | 'subvp', description: string, make: (opts: VpOptions) => SDE): SdeDefinition {
  return { kind, description, params: {}, variants: BETA_SCHEDULES, create: (spec) => make(spec as VpOptions) };
}

export const VP_DEFINITION = vpFamilyDefinition('vp', 'Variance preserving (DDPM).', (o) => new VPSDE(o));
export const SUBVP_DEFINITION = vpFamilyDefinition('subvp', 'sub-VP.', (o) => new SubVPSDE(o));
