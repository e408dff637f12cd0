import { z } from 'zod';
import { SDE } from '../sdes/sde';
import { ParameterError, requireInteger, requirePositive } from '../core/errors';

/**
 * Time grids, by name: a grid maps (SDE, steps, eps, its own parameters) to the decreasing times
 * t_0 = T > t_1 > … > t_N = eps. A new grid is one entry in GRIDS; its parameters become solver
 * settings (grid names and parameter names must be unique across grids).
 */
export interface GridDefinition<N extends string = string, P extends GridParams = GridParams> {
  readonly name: N;
  /** One line for `score-sde solvers` and the settings' descriptions. */
  readonly summary: string;
  /** The grid's own settings (optional and described; their defaults live in `point`). */
  readonly params: P;
  /** Interior point t_i for u = i/N (the ends T and eps are set exactly by timeGrid). */
  point(sde: SDE, u: number, eps: number, params: { [K in keyof P]?: z.output<P[K]> }): number;
}
type GridParams = Record<string, z.ZodOptional<z.ZodType>>;

function defineGrid<const N extends string, P extends GridParams>(g: GridDefinition<N, P>): GridDefinition<N, P> {
  return g;
}

const lerp = (a: number, b: number, u: number) => a + (b - a) * u;

export const GRIDS = [
  defineGrid({
    name: 'uniform',
    summary: 'equal steps in t',
    params: {},
    point: (sde, u, eps) => sde.T + (eps - sde.T) * u,
  }),
  defineGrid({
    name: 'quadratic',
    summary: 'steps growing linearly in t, from fine near eps to coarse near T (DDIM\'s quadratic schedule)',
    params: {},
    point: (sde, u, eps) => eps + (sde.T - eps) * (1 - u) ** 2,
  }),
  defineGrid({
    name: 'edm',
    summary: 'equal steps in σ^{1/ρ}, σ = σ(t)/α(t) the noise level of x/α (Karras et al. 2022; σ(t) itself for VE)',
    params: { rho: z.number().positive().optional().describe("ρ of the 'edm' grid (larger: finer near eps). Default 7.") },
    point: (sde, u, eps, p) => {
      const rho = p.rho ?? 7;
      const hi = Math.exp(-sde.lambda(sde.T) / rho);
      const lo = Math.exp(-sde.lambda(eps) / rho);
      return sde.timeForLambda(-rho * Math.log(lerp(hi, lo, u)));
    },
  }),
  defineGrid({
    name: 'logsnr',
    summary: 'equal steps in λ = log(α/σ), half the log signal-to-noise ratio (DPM-Solver\'s time-uniform-in-λ grid)',
    params: {},
    point: (sde, u, eps) => sde.timeForLambda(lerp(sde.lambda(sde.T), sde.lambda(eps), u)),
  }),
] as const;

export type GridName = (typeof GRIDS)[number]['name'];
export const GRID_NAMES = GRIDS.map((g) => g.name) as [GridName, ...GridName[]];
type UnionToIntersection<U> = (U extends unknown ? (k: U) => void : never) extends (k: infer I) => void ? I : never;
/** Every grid's parameter schemas in one shape (names are unique across grids). */
export type AllGridParams = UnionToIntersection<(typeof GRIDS)[number]['params']>;

/** Every grid parameter, by setting name → the grid that takes it. */
export const GRID_PARAMS: Record<string, { grid: string; schema: z.ZodOptional<z.ZodType> }> = {};
for (const g of GRIDS) {
  for (const [key, schema] of Object.entries(g.params as GridParams)) {
    if (GRID_PARAMS[key]) throw new Error(`grid parameter '${key}' is declared by both '${GRID_PARAMS[key].grid}' and '${g.name}'`);
    GRID_PARAMS[key] = { grid: g.name, schema };
  }
}

export function getGrid(name: string): GridDefinition {
  const g = (GRIDS as readonly GridDefinition[]).find((d) => d.name === name);
  if (!g) throw new ParameterError(`unknown time grid '${name}': expected one of ${GRID_NAMES.join(', ')}`);
  return g;
}

/** The decreasing grid T = t_0 > … > t_N = eps (N = steps), in float64; ends exact. */
export function timeGrid(sde: SDE, steps: number, eps: number, name: string = 'uniform', params: Record<string, unknown> = {}): Float64Array {
  requireInteger('steps', steps, 1);
  requirePositive('eps', eps);
  if (eps >= sde.T) throw new ParameterError(`eps must be < T=${sde.T}, got ${eps}`);
  const grid = getGrid(name);
  for (const key of Object.keys(params)) {
    if (params[key] !== undefined && !(key in grid.params)) throw new ParameterError(`grid '${name}' takes no parameter '${key}'`);
  }
  const out = new Float64Array(steps + 1);
  out[0] = sde.T;
  for (let i = 1; i < steps; i++) out[i] = grid.point(sde, i / steps, eps, params);
  out[steps] = eps;
  for (let i = 0; i < steps; i++) {
    if (!(out[i + 1] < out[i])) {
      throw new ParameterError(`time grid '${name}' with ${steps} steps is not strictly decreasing at step ${i} (t=${out[i]} → ${out[i + 1]}); use fewer steps`);
    }
  }
  return out;
}
