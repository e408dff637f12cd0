import { z } from 'zod';
import { probabilityFlowODE } from '../sdes/reverse';
import { SolverDefinition, commonSettingsSchema } from './solver';

const settings = commonSettingsSchema.extend({}).strict();

/** Euler's method on the probability-flow ODE (first order, 1 evaluation per step). */
export const odeEuler: SolverDefinition<z.infer<typeof settings>> = {
  name: 'ode_euler',
  family: 'ode',
  summary: 'Euler on the probability-flow ODE (order 1, 1 evaluation per step)',
  settings,
  async run(ctx) {
    const { x, n, grid } = ctx;
    const flow = probabilityFlowODE(ctx.sde, ctx.model);
    const d = new Float64Array(x.length);
    const t = new Float64Array(n);
    for (let i = 0; i + 1 < grid.length; i++) {
      const h = grid[i + 1] - grid[i];
      t.fill(grid[i]);
      await flow.drift(x, t, d);
      for (let j = 0; j < x.length; j++) x[j] += h * d[j];
      ctx.stepDone(i, grid[i + 1]);
    }
  },
};
