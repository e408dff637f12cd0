import { probabilityFlowODE } from '../sdes/reverse';
import { defineSolver } from './solver';
import { denoiseSetting, fixedGridSettings, nfeSetting, solverSettings } from './settings';
import { DenoisedTap } from './denoised';

/**
 * Heun's method (explicit trapezoid) on the probability-flow ODE: second order, 2 evaluations
 * per step. Every step ends at t > 0 (the grid stops at eps), so the corrector is always taken.
 */
export const odeHeun = defineSolver({
  name: 'ode_heun',
  family: 'ode',
  summary: 'Heun on the probability-flow ODE (order 2, 2 evaluations per step)',
  adaptive: false,
  budget: ['steps', 'nfe'],
  settings: solverSettings({ ...fixedGridSettings, ...nfeSetting, ...denoiseSetting }),
  evaluations: (steps) => 2 * steps,
  async run(ctx) {
    const { x, n, grid } = ctx;
    const tap = new DenoisedTap(ctx);
    const flow = probabilityFlowODE(ctx.sde, tap.model);
    const d0 = new Float64Array(x.length);
    const d1 = new Float64Array(x.length);
    const xEuler = new Float64Array(x.length);
    const t = new Float64Array(n);
    for (let i = 0; i + 1 < grid.length; i++) {
      const h = grid[i + 1] - grid[i];
      t.fill(grid[i]);
      tap.arm();
      await flow.drift(x, t, d0);
      for (let j = 0; j < x.length; j++) xEuler[j] = x[j] + h * d0[j];
      t.fill(grid[i + 1]);
      await flow.drift(xEuler, t, d1);
      const half = 0.5 * h;
      for (let j = 0; j < x.length; j++) x[j] += half * (d0[j] + d1[j]);
      ctx.stepDone(i, grid[i + 1], ...tap.take());
    }
  },
});
