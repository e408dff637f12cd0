import { z } from 'zod';
import { AllGridParams, GRIDS, GRID_NAMES, GRID_PARAMS } from './grids';

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

/** Which time grid, with every grid's own parameters (only the chosen grid's may be given). */
export const gridSettings = {
  grid: z
    .enum(GRID_NAMES)
    .default('uniform')
    .describe(`Time grid: ${GRIDS.map((g) => `'${g.name}' ${g.summary}`).join('; ')}.`),
  ...(Object.fromEntries(Object.entries(GRID_PARAMS).map(([key, p]) => [key, p.schema])) as AllGridParams),
};

/** A fixed-step solver's grid: steps, eps, grid. */
export const fixedGridSettings = { ...stepsSetting, ...epsSetting, ...gridSettings };

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
  eps?: number;
  grid?: string;
  denoise?: boolean;
  noise?: 'step' | 'path';
  [key: string]: unknown;
}
