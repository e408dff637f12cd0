import { AffineStep, SDE, eulerDiscretization } from './sde';
import type { SampleRows, ScoreModel } from '../core/score';

/**
 * The reverse-time process of any SDE given a score model, written once here instead of per SDE:
 *   λ = 1: the reverse-time SDE  dx = [f − g² s] dt + g dw̄   (Anderson 1982)
 *   λ = ½: the probability-flow ODE dx = [f − ½ g² s] dt      (same marginals, deterministic)
 * Time runs backwards: solvers step with dt < 0.
 */
export interface ReverseProcess {
  readonly sde: SDE;
  readonly probabilityFlow: boolean;
  /**
   * Drift for n samples (x has n·dim entries) at per-sample times t (length n), written into out.
   * Costs one score evaluation; `rows` goes to the model (ScoreModel.score).
   */
  drift(x: Float64Array, t: Float64Array, out: Float64Array, rows?: SampleRows): Promise<void>;
  /** Diffusion coefficient of the reverse process: g(t), or 0 for the probability-flow ODE. */
  diffusion(t: number): number;
}

class LinearDriftReverse implements ReverseProcess {
  private readonly lambda: number;

  constructor(
    readonly sde: SDE,
    private readonly model: ScoreModel,
    readonly probabilityFlow: boolean,
  ) {
    this.lambda = probabilityFlow ? 0.5 : 1;
  }

  async drift(x: Float64Array, t: Float64Array, out: Float64Array, rows?: SampleRows): Promise<void> {
    await this.model.score(x, t, out, rows);
    const n = t.length;
    const dim = x.length / n;
    // Coefficients once per run of equal t (fixed-grid solvers pass one t for the batch).
    let lastT = NaN;
    let a = 0;
    let c = 0;
    for (let i = 0; i < n; i++) {
      if (t[i] !== lastT) {
        lastT = t[i];
        a = this.sde.driftCoef(lastT);
        const g = this.sde.diffusion(lastT);
        c = -this.lambda * g * g;
      }
      for (let j = i * dim, end = j + dim; j < end; j++) out[j] = a * x[j] + c * out[j];
    }
  }

  diffusion(t: number): number {
    return this.probabilityFlow ? 0 : this.sde.diffusion(t);
  }
}

export function reverseSDE(sde: SDE, model: ScoreModel): ReverseProcess {
  return new LinearDriftReverse(sde, model, false);
}

export function probabilityFlowODE(sde: SDE, model: ScoreModel): ReverseProcess {
  return new LinearDriftReverse(sde, model, true);
}

/**
 * The reverse-time step implied by a forward discretization x_t = x_next + f_i + G_i z (f_i =
 * fCoef·x): x_next = x − f_i + G_i² s + G_i z, or with probabilityFlow the noise-free
 * x − f_i + ½G_i² s. Returned as x_next = A·x + B·s + C·z.
 */
export function reverseStep(d: { fCoef: number; G: number }, probabilityFlow = false): AffineStep {
  const g2 = d.G * d.G;
  return probabilityFlow ? { A: 1 - d.fCoef, B: 0.5 * g2, C: 0 } : { A: 1 - d.fCoef, B: g2, C: d.G };
}

/** The reverse-diffusion step from t down to tNext, from the SDE's own discretization. */
export function reverseDiffusionStep(sde: SDE, t: number, tNext: number, probabilityFlow = false): AffineStep {
  return reverseStep(sde.discretize(t, tNext), probabilityFlow);
}

/**
 * Euler–Maruyama on the reverse-time SDE from t down to tNext: the reverse step of the Euler
 * discretization, A = 1 + a(t)dt, B = −g²dt, C = g√−dt with dt = tNext − t. The one definition
 * behind the euler_maruyama solver and predictor (and sub-VP's own discretization).
 */
export function eulerMaruyamaStep(sde: SDE, t: number, tNext: number): AffineStep {
  return reverseStep(eulerDiscretization(sde, t, tNext));
}
