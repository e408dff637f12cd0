import { SDE } from '../sdes/sde';
import { ParameterError } from '../core/errors';
import { reverseDiffusionStep } from '../sdes/reverse';
import { Stream } from '../core/noise';
import { SolverContext } from './solver';

// Module-level aliases: inside vm contexts (jest) every global lookup is ~50x slower.
const { sqrt } = Math;


export const PREDICTORS = ['reverse_diffusion', 'ancestral', 'euler_maruyama', 'none'] as const;
export type PredictorName = (typeof PREDICTORS)[number];

/** Scratch buffers a predictor/corrector may use (length n·dim), owned by the PC loop. */
export interface Scratch {
  score: Float64Array;
  z: Float64Array;
  t: Float64Array;
}

/**
 * The step x_next = A·x + B·s(x, t) + C·z a predictor takes from t to tNext, or undefined for
 * 'none'. Each predictor here is such an affine step; they differ only in the coefficients.
 *   reverse_diffusion  from the SDE's own discretization (see sdes/reverse.ts)
 *   ancestral          SMLD (VE) / DDPM (VP) ancestral sampling
 *   euler_maruyama     the reverse SDE with dt = tNext − t: A = 1 + a(t)dt, B = −g²dt, C = g√−dt
 */
export function predictorCoefficients(name: PredictorName, sde: SDE, t: number, tNext: number) {
  switch (name) {
    case 'reverse_diffusion':
      return reverseDiffusionStep(sde, t, tNext);
    case 'ancestral':
      if (!sde.ancestral) {
        throw new ParameterError(`predictor 'ancestral' needs a VE or VP SDE; the ${sde.kind} SDE has no ancestral step`);
      }
      return sde.ancestral(t, tNext);
    case 'euler_maruyama': {
      const dt = tNext - t;
      const g = sde.diffusion(t);
      return { A: 1 + sde.driftCoef(t) * dt, B: -g * g * dt, C: g * sqrt(-dt) };
    }
    case 'none':
      return undefined;
    default:
      throw new ParameterError(`unknown predictor '${String(name)}': expected one of ${PREDICTORS.join(', ')}`);
  }
}

/** One predictor step at grid step i; one score evaluation (none for 'none'). */
export async function predict(name: PredictorName, ctx: SolverContext, i: number, s: Scratch): Promise<void> {
  const t = ctx.grid[i];
  const c = predictorCoefficients(name, ctx.sde, t, ctx.grid[i + 1]);
  if (!c) return;
  const { x } = ctx;
  s.t.fill(t);
  await ctx.model.score(x, s.t, s.score);
  ctx.noise.normal(s.z, ctx.dim, i, Stream.predictor);
  const { A, B, C } = c;
  for (let j = 0; j < x.length; j++) x[j] = A * x[j] + B * s.score[j] + C * s.z[j];
}
