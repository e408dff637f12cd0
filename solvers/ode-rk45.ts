import { z } from 'zod';
import { SolverDefinition, commonSettingsSchema, normSchema } from './solver';

// PLACEHOLDER: being written (adaptive Dormand–Prince 5(4)).
const settings = commonSettingsSchema
  .extend({
    rtol: z.number().positive().default(1e-5),
    atol: z.number().positive().default(1e-5),
    norm: normSchema,
  })
  .strict();

export const odeRk45: SolverDefinition<z.infer<typeof settings>> = {
  name: 'ode_rk45',
  family: 'ode',
  summary: 'Adaptive Dormand–Prince 5(4) on the probability-flow ODE (rtol/atol)',
  settings,
  async run() {
    throw new Error('ode_rk45 not implemented yet');
  },
};
