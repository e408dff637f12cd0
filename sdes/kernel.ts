import { SDE } from './sde';

/**
 * Draws x_t ~ p_0t(x_t | x_0) = N(meanCoef(t)·x_0, std(t)² I) for n samples at per-sample times t,
 * given standard normal noise z of the same size as x0. Writes into out (which may alias x0).
 */
export function perturb(sde: SDE, x0: Float64Array, t: Float64Array, z: Float64Array, out: Float64Array): void {
  const n = t.length;
  const dim = x0.length / n;
  for (let i = 0; i < n; i++) {
    const m = sde.meanCoef(t[i]);
    const s = sde.std(t[i]);
    for (let j = i * dim, end = j + dim; j < end; j++) out[j] = m * x0[j] + s * z[j];
  }
}
