import { SDE } from './sde';
import { ParameterError } from '../core/errors';

/**
 * What a network predicts, and how each converts to the score under the SDE's kernel
 * x_t = α(t) x_0 + σ(t) ε:
 *   score: s
 *   eps:   ε̂,   s = −ε̂ / σ(t)
 *   x0:    x̂_0, s = (α(t) x̂_0 − x_t) / σ(t)²      (Tweedie)
 */
export type Parameterization = 'score' | 'eps' | 'x0';
export const PARAMETERIZATIONS: readonly Parameterization[] = ['score', 'eps', 'x0'];

/** Converts raw network output y (in place allowed: out may alias y) to the score. */
export function toScore(
  param: Parameterization,
  sde: SDE,
  x: Float64Array,
  t: Float64Array,
  y: ArrayLike<number>,
  out: Float64Array,
): void {
  const n = t.length;
  const dim = x.length / n;
  if (param === 'score') {
    for (let j = 0; j < x.length; j++) out[j] = y[j];
    return;
  }
  if (param !== 'eps' && param !== 'x0') {
    throw new ParameterError(`unknown parameterization '${String(param)}': expected score, eps or x0`);
  }
  // Fixed-grid solvers pass one t for the whole batch: compute the kernel once per run of equal t.
  let lastT = NaN;
  let a = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    if (t[i] !== lastT) {
      lastT = t[i];
      const s = sde.std(lastT);
      if (param === 'eps') c = -1 / s;
      else {
        a = sde.meanCoef(lastT);
        c = 1 / (s * s);
      }
    }
    const start = i * dim;
    const end = start + dim;
    if (param === 'eps') for (let j = start; j < end; j++) out[j] = c * y[j];
    else for (let j = start; j < end; j++) out[j] = (a * y[j] - x[j]) * c;
  }
}

/** The inverse of toScore: what a network of that parameterization should output for score s. */
export function fromScore(
  param: Parameterization,
  sde: SDE,
  x: Float64Array,
  t: Float64Array,
  s: ArrayLike<number>,
  out: Float64Array,
): void {
  const n = t.length;
  const dim = x.length / n;
  for (let i = 0; i < n; i++) {
    const start = i * dim;
    const end = start + dim;
    if (param === 'score') {
      for (let j = start; j < end; j++) out[j] = s[j];
    } else if (param === 'eps') {
      const c = -sde.std(t[i]);
      for (let j = start; j < end; j++) out[j] = c * s[j];
    } else if (param === 'x0') {
      const a = sde.meanCoef(t[i]);
      const v = sde.std(t[i]) ** 2;
      for (let j = start; j < end; j++) out[j] = (x[j] + v * s[j]) / a;
    } else {
      throw new ParameterError(`unknown parameterization '${String(param)}': expected score, eps or x0`);
    }
  }
}
