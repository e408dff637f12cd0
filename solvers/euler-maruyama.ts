import { z } from 'zod';
import { reverseSDE } from '../sdes/reverse';
import { Stream } from '../core/noise';
import { SolverDefinition, commonSettingsSchema } from './solver';

// Module-level aliases: inside vm contexts (jest) every global lookup is ~50x slower.
const { sqrt } = Math;


const settings = commonSettingsSchema.extend({}).strict();

/** Euler–Maruyama on the reverse-time SDE: x ← x + [f − g²s]·dt + g·√|dt|·z with dt < 0. */
export const eulerMaruyama: SolverDefinition<z.infer<typeof settings>> = {
  name: 'euler_maruyama',
  family: 'sde',
  summary: 'Euler–Maruyama on the reverse-time SDE (1 evaluation per step)',
  settings,
  async run(ctx) {
    const { x, n, dim, grid, noise } = ctx;
    const reverse = reverseSDE(ctx.sde, ctx.model);
    const drift = new Float64Array(x.length);
    const z = new Float64Array(x.length);
    const t = new Float64Array(n);
    for (let i = 0; i + 1 < grid.length; i++) {
      const dt = grid[i + 1] - grid[i];
      t.fill(grid[i]);
      await reverse.drift(x, t, drift);
      noise.normal(z, dim, i, Stream.predictor);
      const g = reverse.diffusion(grid[i]) * sqrt(-dt);
      for (let j = 0; j < x.length; j++) x[j] += drift[j] * dt + g * z[j];
      ctx.stepDone(i, grid[i + 1]);
    }
  },
};
