import { defineSolver } from './solver';
import { denoiseSetting, fixedGridSettings, nfeSetting, noiseSetting, solverSettings } from './settings';
import { makeScratch, predict } from './predictors';
import { DenoisedTap } from './denoised';

/**
 * Euler–Maruyama on the reverse-time SDE, x ← x + [f − g²s]·dt + g·√|dt|·z with dt < 0: the
 * euler_maruyama predictor alone (one definition of the step, sdes/reverse.ts eulerMaruyamaStep).
 */
export const eulerMaruyama = defineSolver({
  name: 'euler_maruyama',
  family: 'sde',
  summary: 'Euler–Maruyama on the reverse-time SDE (1 evaluation per step)',
  adaptive: false,
  budget: ['steps', 'nfe'],
  settings: solverSettings({ ...fixedGridSettings, ...nfeSetting, ...denoiseSetting, ...noiseSetting }),
  evaluations: (steps) => steps,
  async run(ctx) {
    const scratch = makeScratch(ctx);
    const tap = new DenoisedTap(ctx);
    for (let i = 0; i + 1 < ctx.grid.length; i++) {
      await predict('euler_maruyama', ctx, i, scratch, tap);
      ctx.stepDone(i, ctx.grid[i + 1], ...tap.take());
    }
  },
});
