/**
 * The probability-flow ODE of Gaussian data in closed form (shared by the convergence tests).
 *
 * For data N(μ, diag σ_d²) the marginal is p_t = N(α(t)μ, V(t)), V = α²σ_d² + s², and the PF-ODE
 * dx/dt = a x − ½g²∇log p_t = a x + ½g²(x − αμ)/V is solved by
 *   x_t = α(t)μ + sqrt(V(t))·u,   u constant per coordinate,
 * because α' = aα and V' = 2aV + g² (the kernel's variance ODE). So from a given x_T the exact
 * x_eps is known: it depends on a solver only through its discretization error.
 */
import { NoiseSource, SDE, Stream } from '../../index';

const { sqrt } = Math;

/** The 2-D Gaussian data of the convergence tests: mean MU, per-coordinate stds SD. */
export const MU = [1, -2];
export const SD = [0.5, 2];

/** The exact PF-ODE image at time `to` of the rows x_T (2-D, data MU/SD). */
export function exactFlow(sde: SDE, xT: Float64Array, to: number): Float64Array {
  const aT = sde.meanCoef(sde.T);
  const sT = sde.std(sde.T);
  const ae = sde.meanCoef(to);
  const se = sde.std(to);
  const out = new Float64Array(xT.length);
  for (let i = 0; i < xT.length; i++) {
    const d = i % 2;
    const VT = aT * aT * SD[d] ** 2 + sT * sT;
    const Ve = ae * ae * SD[d] ** 2 + se * se;
    out[i] = ae * MU[d] + sqrt(Ve) * ((xT[i] - aT * MU[d]) / sqrt(VT));
  }
  return out;
}

/** n prior draws (2-D), scaled by priorStd (what sample() would draw), plus a few far-out points. */
export function priorDraws(sde: SDE, n: number, seed: number): Float64Array {
  const x = new Float64Array(n * 2);
  new NoiseSource(seed).normal(x, 2, 0, Stream.prior);
  for (let i = 0; i < x.length; i++) x[i] *= sde.priorStd;
  x[0] = 4 * sde.priorStd; // 4σ tails too
  x[1] = -4 * sde.priorStd;
  return x;
}
