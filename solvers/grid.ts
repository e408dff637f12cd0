import { SDE } from '../sdes/sde';
import { ParameterError, requireInteger, requirePositive } from '../core/errors';

export type GridKind = 'uniform' | 'edm';

/**
 * The decreasing time grid t_0 = T > t_1 > … > t_N = eps (N steps, N + 1 points), in float64.
 *   uniform: equal steps in t.
 *   edm:     Karras et al.'s ρ-schedule, equal steps in σ^{1/ρ} between σ(T) and σ(eps), mapped
 *            back to t through the kernel std (exact for VE, by bisection otherwise).
 */
export function timeGrid(sde: SDE, steps: number, eps: number, kind: GridKind = 'uniform', rho = 7): Float64Array {
  requireInteger('steps', steps, 1);
  requirePositive('eps', eps);
  if (eps >= sde.T) throw new ParameterError(`eps must be < T=${sde.T}, got ${eps}`);
  const grid = new Float64Array(steps + 1);
  if (kind === 'uniform') {
    for (let i = 0; i <= steps; i++) grid[i] = sde.T + ((eps - sde.T) * i) / steps;
  } else if (kind === 'edm') {
    requirePositive('rho', rho);
    const hi = sde.std(sde.T) ** (1 / rho);
    const lo = sde.std(eps) ** (1 / rho);
    for (let i = 0; i <= steps; i++) {
      const sigma = (hi + ((lo - hi) * i) / steps) ** rho;
      grid[i] = timeForStd(sde, sigma, eps);
    }
  } else {
    throw new ParameterError(`unknown time grid '${String(kind)}': expected 'uniform' or 'edm'`);
  }
  grid[0] = sde.T;
  grid[steps] = eps;
  return grid;
}

/** t with std(t) = s, exact where the SDE knows its inverse, else bisection on [eps, T]. */
export function timeForStd(sde: SDE, s: number, eps: number): number {
  if (sde.timeForStd) return sde.timeForStd(s);
  let lo = eps;
  let hi = sde.T;
  for (let k = 0; k < 200 && hi - lo > 1e-15 * sde.T; k++) {
    const mid = 0.5 * (lo + hi);
    if (sde.std(mid) < s) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}
