import { ParameterError } from '../core/errors';
import { CommonSettings, SolverDefinition } from './solver';
import { eulerMaruyama } from './euler-maruyama';
import { predictorCorrector } from './predictor-corrector';
import { odeEuler } from './ode-euler';
import { odeHeun } from './ode-heun';
import { odeRk45 } from './ode-rk45';

/** Every solver by name. A new solver: one file exporting a SolverDefinition, one line here. */
export const SOLVERS: readonly SolverDefinition<any>[] = [eulerMaruyama, predictorCorrector, odeEuler, odeHeun, odeRk45];

export function getSolver(name: string): SolverDefinition<any> {
  const found = SOLVERS.find((s) => s.name === name);
  if (!found) {
    throw new ParameterError(`unknown solver '${name}': expected one of ${SOLVERS.map((s) => s.name).join(', ')}`);
  }
  return found;
}

/** Validates raw settings against the solver's schema, filling defaults; errors name each field. */
export function resolveSettings<S extends CommonSettings>(solver: SolverDefinition<S>, raw: unknown = {}): S {
  const parsed = solver.settings.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.join('.') : '(settings)';
    return `${path}: ${issue.message}`;
  });
  throw new ParameterError(`solver '${solver.name}' settings are invalid:\n  ${problems.join('\n  ')}`);
}
