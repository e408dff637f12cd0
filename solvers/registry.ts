import { z } from 'zod';
import { ParameterError } from '../core/errors';
import { SolverDefinition } from './solver';
import { eulerMaruyama } from './euler-maruyama';
import { predictorCorrector } from './predictor-corrector';
import { odeEuler } from './ode-euler';
import { odeHeun } from './ode-heun';
import { odeRk45 } from './ode-rk45';
import { ddim } from './ddim';
import { dpmSolver } from './dpm-solver';
import { dpmpp2m } from './dpmpp-2m';
import { dpmpp3m } from './dpmpp-3m';
import { dpmpp2mSde } from './dpmpp-2m-sde';
import { unipc } from './unipc';
import { edm } from './edm';

/** Every solver by name. A new solver: one file exporting defineSolver({...}), one line here. */
export const SOLVERS = [eulerMaruyama, predictorCorrector, odeEuler, odeHeun, odeRk45, ddim, dpmSolver, dpmpp2m, dpmpp3m, dpmpp2mSde, unipc, edm] as const;

type Registered = (typeof SOLVERS)[number];
export type SolverName = Registered['name'];
/** The settings a registered solver accepts (input form: defaults optional), by name. */
export type SolverSettingsInput<N extends SolverName> = z.input<Extract<Registered, { name: N }>['settings']>;
/** The settings it runs with (defaults filled), by name. */
export type SolverSettings<N extends SolverName> = z.output<Extract<Registered, { name: N }>['settings']>;

export function getSolver(name: string): SolverDefinition {
  const found = (SOLVERS as readonly SolverDefinition[]).find((s) => s.name === name);
  if (!found) {
    throw new ParameterError(`unknown solver '${name}': expected one of ${SOLVERS.map((s) => s.name).join(', ')}`);
  }
  return found;
}

/** The settings paths (`solver.<key>`) that set some solver's cost: a sweep's budget axes. */
export function budgetAxes(): string[] {
  return [...new Set(SOLVERS.flatMap((s) => s.budget.map((key) => `solver.${key}`)))];
}

/** Validates raw settings against the solver's schema, filling defaults; errors name each field. */
export function resolveSettings<D extends SolverDefinition>(solver: D, raw: unknown = {}): D extends SolverDefinition<infer S> ? S : never {
  const parsed = solver.settings.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.join('.') : '(settings)';
    return `${path}: ${issue.message}`;
  });
  throw new ParameterError(`solver '${solver.name}' settings are invalid:\n  ${problems.join('\n  ')}`);
}
