import { z } from 'zod';
import { AllGridParams, GRIDS, GRID_NAMES, GRID_PARAMS, GridName } from './grids';

/**
 * Settings that several solvers share, each opted into by the solvers it fits (a solver accepts
 * only settings it uses). The driver (./sample.ts) reads them where a solver's schema has them.
 * Descriptions go last on each field: that is where `score-sde solvers` reads them.
 */

/** Number of grid intervals: the budget of every fixed-step solver. */
export const stepsSetting = {
  steps: z.number().int().positive().optional().describe("Number of steps (grid intervals). Default: the SDE's N."),
};

/** Where integration stops (every solver: the SDE's score is unusable at t = 0). */
export const epsSetting = {
  eps: z.number().positive().optional().describe("Smallest time integrated to. Default: the SDE's (1e-3 VP family, 1e-5 VE)."),
};

/**
 * Which time grid, with every grid's own parameters (only the chosen grid's may be given).
 * Default 'uniform'; a method with a grid of its own names it and why (gridSettingsFor).
 */
export function gridSettingsFor(grid: GridName, why?: string) {
  return {
    grid: z
      .enum(GRID_NAMES)
      .default(grid)
      .describe(`Time grid: ${GRIDS.map((g) => `'${g.name}' ${g.summary}`).join('; ')}.${why ? ` Default '${grid}': ${why}` : ''}`),
    ...(Object.fromEntries(Object.entries(GRID_PARAMS).map(([key, p]) => [key, p.schema])) as AllGridParams),
  };
}
export const gridSettings = gridSettingsFor('uniform');

/** A fixed-step solver's grid: steps, eps, grid. */
export const fixedGridSettings = { ...stepsSetting, ...epsSetting, ...gridSettings };

/**
 * An evaluation budget instead of steps (a sweep's common axis across solvers that spend 1, 2 or
 * 3 evaluations per step). A solver taking it says its evaluations(steps, settings).
 */
export const nfeSetting = {
  nfe: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('Evaluation budget instead of steps: the most steps whose network evaluations per sample (final denoising included) fit in it. Give steps or nfe, not both.'),
};

/**
 * The data-prediction step from eps to t = 0, x ← x̂_0(x, eps): the last step of the exponential
 * integrators and EDM (their ODE in λ or σ ends there), where score_sde's `denoise` would be wrong.
 */
export function denoiseToZeroSetting(dflt: boolean, why: string) {
  return {
    denoiseToZero: z
      .boolean()
      .default(dflt)
      .describe(`End with x ← x̂_0(x, eps), the model's data prediction at eps (thresholded where thresholding is on): one more evaluation. Default ${dflt}: ${why}`),
  };
}

/**
 * The reverse-diffusion denoising step from eps to 0 (score_sde's `denoise`): right after
 * score_sde's samplers, wrong after a solver whose last step already returns x̂_0.
 */
export const denoiseSetting = {
  denoise: z
    .boolean()
    .default(false)
    .describe('One noise-free reverse-diffusion step from eps to 0 at the end (one more evaluation), as in score_sde.'),
};

/** How a stochastic solver's Brownian increments are addressed (./noise.ts). */
export const noiseSetting = {
  noise: z
    .enum(['step', 'path'])
    .default('step')
    .describe(
      "Brownian increments: 'step' fresh draws per step index (cheapest); 'path' increments of one Brownian path " +
        'addressed by time (a virtual Brownian tree), so runs with different steps or grids share the path.',
    ),
};

/** Per-sample or batch-wide norms (Langevin step sizes, RK45 error norms). */
export function normSetting(what: string) {
  return {
    norm: z
      .enum(['sample', 'batch'])
      .default('sample')
      .describe(`${what}: per sample (a sample never depends on its batch-mates) or batch-wide (the reference implementation).`),
  };
}
export type NormMode = 'sample' | 'batch';

/**
 * A solver's settings schema: strict (unknown keys rejected), and a grid parameter is accepted
 * only with the grid that takes it (rho only with grid: edm).
 */
export function solverSettings<Shape extends z.ZodRawShape>(shape: Shape) {
  return z
    .object(shape)
    .strict()
    .superRefine((value: Record<string, unknown>, ctx) => {
      if (value.steps !== undefined && value.nfe !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['nfe'], message: `give steps or nfe, not both (steps is ${String(value.steps)})` });
      }
      if (value.thresholdRatio !== undefined && !value.thresholding) {
        ctx.addIssue({ code: 'custom', path: ['thresholdRatio'], message: 'thresholdRatio applies with thresholding: true only' });
      }
      for (const [key, p] of Object.entries(GRID_PARAMS)) {
        if (value[key] !== undefined && value.grid !== p.grid) {
          ctx.addIssue({ code: 'custom', path: [key], message: `${key} applies to grid '${p.grid}' only (grid is '${String(value.grid ?? 'uniform')}')` });
        }
      }
    });
}

/** The shared settings as the driver reads them (each present only where the solver opted in). */
export interface SharedSettings {
  steps?: number;
  nfe?: number;
  eps?: number;
  grid?: string;
  denoise?: boolean;
  noise?: 'step' | 'path';
  [key: string]: unknown;
}
