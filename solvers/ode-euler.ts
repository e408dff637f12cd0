import { probabilityFlowODE } from '../sdes/reverse';
import { defineSolver } from './solver';
import { denoiseSetting, fixedGridSettings, nfeSetting, solverSettings } from './settings';
import { DenoisedTap } from './denoised';

/** Euler's method on the probability-flow ODE (first order, 1 evaluation per step). */
export const odeEuler = defineSolver({
  name: 'ode_euler',
  family: 'ode',
  summary: 'Euler on the probability-flow ODE (order 1, 1 evaluation per step)',
  adaptive: false,
  budget: ['steps', 'nfe'],
  settings: solverSettings({ ...fixedGridSettings, ...nfeSetting, ...denoiseSetting }),
  evaluations: (steps) => steps,
  async run(ctx) {
    const { x, n, grid } = ctx;
    const tap = new DenoisedTap(ctx);
    const flow = probabilityFlowODE(ctx.sde, tap.model);
    const d = new Float64Array(x.length);
    const t = new Float64Array(n);
    for (let i = 0; i + 1 < grid.length; i++) {
      const h = grid[i + 1] - grid[i];
      t.fill(grid[i]);
      tap.arm();
      await flow.drift(x, t, d);
      for (let j = 0; j < x.length; j++) x[j] += h * d[j];
      ctx.stepDone(i, grid[i + 1], ...tap.take());
    }
  },
});
