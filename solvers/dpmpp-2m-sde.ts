import { z } from 'zod';
import { defineSolver } from './solver';
import { evaluationsWith } from './exponential';
import { noiseSetting, solverSettings } from './settings';
import { dpmppSettings, runDpmpp } from './dpmpp-multistep';

const settings = solverSettings({
  ...dpmppSettings,
  eta: z
    .number()
    .positive()
    .max(1)
    .default(1)
    .describe('η of the noise injected per step, σ_t√(1 − e^{−2ηh}): 1 is SDE-DPM-Solver++(2M) (the reverse SDE); smaller values move towards dpmpp_2m (the probability-flow ODE, η → 0).'),
  ...noiseSetting,
});

/**
 * SDE-DPM-Solver++(2M): the 2M multistep on the data prediction for the reverse SDE, with fresh
 * noise per step from ctx.noise (./dpmpp-multistep.ts). One evaluation per step.
 */
export const dpmpp2mSde = defineSolver({
  name: 'dpmpp_2m_sde',
  family: 'sde',
  summary: 'SDE-DPM-Solver++(2M): multistep on the data prediction for the reverse SDE (1 evaluation per step)',
  adaptive: false,
  budget: ['steps', 'nfe'],
  settings,
  evaluations: (steps, st) => evaluationsWith(1, steps, st),
  run: (ctx, st) => runDpmpp(ctx, 'dpmpp_2m_sde', 2, st, st.eta),
});
