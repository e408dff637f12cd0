import { z } from 'zod';
import { ParameterError } from '../sdes/errors';
import { SolverDefinition, commonSettingsSchema, normSchema } from './solver';
import { PREDICTORS, Scratch, predict } from './predictors';
import { CORRECTORS, correct } from './correctors';

const settings = commonSettingsSchema
  .extend({
    predictor: z.enum(PREDICTORS).default('reverse_diffusion'),
    corrector: z.enum(CORRECTORS).default('langevin'),
    /** Target signal-to-noise ratio of a corrector step. */
    snr: z.number().positive().default(0.16),
    /** Corrector steps per grid step. */
    correctorSteps: z.number().int().nonnegative().default(1),
    /** Langevin norms per sample (batch-invariant) or batch means (the reference). */
    norm: normSchema,
  })
  .strict();

/**
 * Predictor–corrector sampling (Song et al. 2021, Alg. 1–3): at each grid time t_i, the
 * corrector's Langevin steps at t_i, then the predictor from t_i to t_{i+1}.
 * Evaluations per step: (predictor ≠ none) + correctorSteps (for a corrector ≠ none).
 */
export const predictorCorrector: SolverDefinition<z.infer<typeof settings>> = {
  name: 'pc',
  family: 'pc',
  summary: 'Predictor–corrector: reverse_diffusion | ancestral | euler_maruyama predictor, langevin | ald corrector',
  settings,
  async run(ctx, st) {
    if (st.predictor === 'none' && (st.corrector === 'none' || st.correctorSteps === 0)) {
      throw new ParameterError("pc: predictor 'none' needs a corrector with correctorSteps >= 1");
    }
    const len = ctx.x.length;
    const scratch: Scratch = { score: new Float64Array(len), z: new Float64Array(len), t: new Float64Array(ctx.n) };
    const stepSizes = new Float64Array(ctx.n);
    for (let i = 0; i + 1 < ctx.grid.length; i++) {
      await correct(st.corrector, ctx, i, st, scratch, stepSizes);
      await predict(st.predictor, ctx, i, scratch);
      ctx.stepDone(i, ctx.grid[i + 1]);
    }
  },
};
