/**
 * Type tests, checked by `tsc --noEmit` (never run): sample()'s settings are typed per solver
 * name, so a misspelt key or a wrong value fails to compile; a custom SolverDefinition brings its
 * own settings type; a name held in a string (from a config) takes any record, checked at run time.
 * Each `@ts-expect-error` line must fail to compile, or tsc reports the directive as unused.
 */
import { z } from 'zod';
import { GaussianMixtureScore, VPSDE, defineSolver, sample } from '../../index';
import { fixedGridSettings, solverSettings } from '../../solvers/settings';

export function typeChecks(): void {
  const sde = new VPSDE();
  const model = new GaussianMixtureScore(sde, { means: [[0, 0]] });

  void sample({ sde, model, solver: 'pc', settings: { snr: 0.1, steps: 10, predictor: 'ancestral', noise: 'path' }, n: 1 });
  void sample({ sde, model, solver: 'ode_rk45', settings: { rtol: 1e-4, facMax: 5 }, n: 1 });
  void sample({ sde, model, solver: 'euler_maruyama', settings: { grid: 'edm', rho: 5 }, n: 1 });

  // @ts-expect-error misspelt key
  void sample({ sde, model, solver: 'pc', settings: { snrr: 0.1 }, n: 1 });
  // @ts-expect-error a value outside the enum
  void sample({ sde, model, solver: 'pc', settings: { predictor: 'heun' }, n: 1 });
  // @ts-expect-error ode_rk45 takes no steps
  void sample({ sde, model, solver: 'ode_rk45', settings: { steps: 5 }, n: 1 });
  // @ts-expect-error the deterministic solvers take no noise mode
  void sample({ sde, model, solver: 'ode_heun', settings: { noise: 'path' }, n: 1 });
  // @ts-expect-error an unknown grid
  void sample({ sde, model, solver: 'ode_euler', settings: { grid: 'cosine' }, n: 1 });

  const custom = defineSolver({
    name: 'custom',
    family: 'ode',
    summary: 'a solver of your own',
    adaptive: false,
    budget: ['steps'],
    settings: solverSettings({ ...fixedGridSettings, factor: z.number().default(1).describe('a factor') }),
    run: async () => {},
  });
  void sample({ sde, model, solver: custom, settings: { factor: 2, steps: 3 }, n: 1 });
  // @ts-expect-error misspelt key of a custom solver
  void sample({ sde, model, solver: custom, settings: { factr: 2 }, n: 1 });

  const fromConfig: string = 'pc';
  void sample({ sde, model, solver: fromConfig, settings: { anything: 1 }, n: 1 });
}
