import { SDE, AffineStep } from '../sdes/sde';
import { ParameterError } from '../core/errors';
import { eulerMaruyamaStep, reverseDiffusionStep } from '../sdes/reverse';
import { SolverContext } from './solver';
import { DenoisedTap } from './denoised';

export const PREDICTORS = ['reverse_diffusion', 'ancestral', 'euler_maruyama', 'none'] as const;
export type PredictorName = (typeof PREDICTORS)[number];

/** Scratch buffers a predictor/corrector may use (length n·dim), owned by the solver's loop. */
export interface Scratch {
  score: Float64Array;
  z: Float64Array;
  t: Float64Array;
}

export function makeScratch(ctx: SolverContext): Scratch {
  return { score: new Float64Array(ctx.x.length), z: new Float64Array(ctx.x.length), t: new Float64Array(ctx.n) };
}

/**
 * The step x_next = A·x + B·s(x, t) + C·z a predictor takes from t to tNext, or undefined for
 * 'none'. Each predictor here is such an affine step; they differ only in the coefficients.
 *   reverse_diffusion  from the SDE's own discretization (sdes/reverse.ts)
 *   ancestral          SMLD (VE) / DDPM (VP) ancestral sampling
 *   euler_maruyama     Euler–Maruyama on the reverse SDE (sdes/reverse.ts eulerMaruyamaStep)
 */
export function predictorCoefficients(name: PredictorName, sde: SDE, t: number, tNext: number): AffineStep | undefined {
  switch (name) {
    case 'reverse_diffusion':
      return reverseDiffusionStep(sde, t, tNext);
    case 'ancestral':
      if (!sde.ancestral) {
        throw new ParameterError(`predictor 'ancestral' needs a VE or VP SDE; the ${sde.kind} SDE has no ancestral step`);
      }
      return sde.ancestral(t, tNext);
    case 'euler_maruyama':
      return eulerMaruyamaStep(sde, t, tNext);
    case 'none':
      return undefined;
    default:
      throw new ParameterError(`unknown predictor '${String(name)}': expected one of ${PREDICTORS.join(', ')}`);
  }
}

/**
 * One predictor step at grid step i: one score evaluation (none for 'none'), with the step's
 * Brownian increment from ctx.noise. Records the denoised estimate from that evaluation in `tap`.
 */
export async function predict(name: PredictorName, ctx: SolverContext, i: number, s: Scratch, tap?: DenoisedTap): Promise<void> {
  const t = ctx.grid[i];
  const tNext = ctx.grid[i + 1];
  const c = predictorCoefficients(name, ctx.sde, t, tNext);
  if (!c) return;
  const { x } = ctx;
  s.t.fill(t);
  await ctx.model.score(x, s.t, s.score);
  tap?.record(x, s.t, s.score);
  ctx.noise.increment(i, t, tNext, s.z);
  const { A, B, C } = c;
  for (let j = 0; j < x.length; j++) x[j] = A * x[j] + B * s.score[j] + C * s.z[j];
}
