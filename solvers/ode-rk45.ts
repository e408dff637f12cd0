import { z } from 'zod';
import { probabilityFlowODE } from '../sdes/reverse';
import { defineSolver } from './solver';
import { denoiseSetting, epsSetting, normSetting, solverSettings } from './settings';
import { integrateRk45 } from './rk45/integrate';

const settings = solverSettings({
  ...epsSetting,
  ...denoiseSetting,
  rtol: z.number().positive().default(1e-5).describe('Relative tolerance of the local error, per coordinate.'),
  atol: z.number().positive().default(1e-5).describe('Absolute tolerance of the local error, per coordinate.'),
  ...normSetting('Error norm, hence step size'),
  safety: z.number().positive().max(1).default(0.9).describe('Safety factor of the step-size update h ← h·min(facMax, max(facMin, safety·err^(−1/5))).'),
  facMin: z.number().positive().max(1).default(0.2).describe('Smallest factor a step may shrink by in one update.'),
  facMax: z.number().min(1).default(10).describe('Largest factor a step may grow by in one update (none right after a rejection).'),
  maxSteps: z.number().int().positive().default(100000).describe('Attempted steps per sample before giving up with an error.'),
  h0: z.number().positive().optional().describe("First step size |h|. Default: Hairer's rule (one extra evaluation)."),
  hMin: z.number().positive().optional().describe('Smallest step size |h| before giving up with an error. Default 1e-10·T.'),
});

/**
 * Adaptive Dormand–Prince 5(4) on the probability-flow ODE from T down to eps (./rk45/integrate.ts):
 * with the per-sample norm every sample has its own t and h, so a sample's path never depends on
 * its batch-mates. 6 evaluations per attempted step (FSAL), plus 1 at the start and 1 for the
 * initial-step probe. Takes no steps/grid: its budget is rtol/atol.
 */
export const odeRk45 = defineSolver({
  name: 'ode_rk45',
  family: 'ode',
  summary: 'Adaptive Dormand–Prince 5(4) on the probability-flow ODE (rtol/atol)',
  adaptive: true,
  budget: ['rtol', 'atol'],
  settings,
  async run(ctx, st) {
    const flow = probabilityFlowODE(ctx.sde, ctx.model);
    await integrateRk45(
      { y: ctx.x, n: ctx.n, width: ctx.dim, t0: ctx.grid[0], t1: ctx.grid[ctx.grid.length - 1], field: (y, t, out, rows) => flow.drift(y, t, out, rows) },
      { ...st, label: 'ode_rk45', onIteration: (iteration, t) => ctx.stepDone(iteration, t) },
    );
  },
});
