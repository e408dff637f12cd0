import { defineSolver } from '../../solvers/solver';
import { denoiseSetting, fixedGridSettings, solverSettings } from '../../solvers/settings';
import { makeScratch, predictorCoefficients } from '../../solvers/predictors';

/**
 * Deliberately wrong samplers for negative controls: Euler–Maruyama on the reverse SDE with its
 * noise variance multiplied by `varianceFactor` (the noise term C·z scaled by its square root).
 * Everything else is the euler_maruyama solver's step.
 */
export function scaledNoiseEulerMaruyama(varianceFactor: number) {
  const scale = Math.sqrt(varianceFactor);
  return defineSolver({
    name: `euler_maruyama_noise_x${varianceFactor}`,
    family: 'sde',
    summary: `Euler–Maruyama with noise variance × ${varianceFactor} (a negative control)`,
    adaptive: false,
    budget: ['steps'],
    settings: solverSettings({ ...fixedGridSettings, ...denoiseSetting }),
    async run(ctx) {
      const s = makeScratch(ctx);
      const { x, grid } = ctx;
      for (let i = 0; i + 1 < grid.length; i++) {
        const { A, B, C } = predictorCoefficients('euler_maruyama', ctx.sde, grid[i], grid[i + 1])!;
        s.t.fill(grid[i]);
        await ctx.model.score(x, s.t, s.score);
        ctx.noise.increment(i, grid[i], grid[i + 1], s.z);
        for (let j = 0; j < x.length; j++) x[j] = A * x[j] + B * s.score[j] + scale * C * s.z[j];
        ctx.stepDone(i, grid[i + 1]);
      }
    },
  });
}
