import type { SDE } from './sde';
import { ParameterError } from '../core/errors';
import { PARAMETERIZATIONS, Parameterization } from '../core/score';

export { PARAMETERIZATIONS, Parameterization };

/**
 * What a network predicts, and how each converts to another under the SDE's kernel
 * x_t = α(t) x_0 + σ(t) ε (α = meanCoef, σ = std):
 *   score: s = ∇ log p_t(x_t)
 *   eps:   ε̂,    s = −ε̂ / σ
 *   x0:    x̂_0,  s = (α x̂_0 − x_t) / σ²      (Tweedie)
 * Every conversion is one affine map per sample, out = a·x + b·y, written directly between any
 * two (ε ↔ x̂_0 never passes through the score).
 */
function coefficients(from: Parameterization, to: Parameterization, alpha: number, sigma: number): [a: number, b: number] {
  switch (`${from}>${to}`) {
    case 'score>eps': // ε = −σ s
      return [0, -sigma];
    case 'score>x0': // x0 = (x + σ² s)/α
      return [1 / alpha, (sigma * sigma) / alpha];
    case 'eps>score': // s = −ε/σ
      return [0, -1 / sigma];
    case 'eps>x0': // x0 = (x − σ ε)/α
      return [1 / alpha, -sigma / alpha];
    case 'x0>score': // s = (α x0 − x)/σ²
      return [-1 / (sigma * sigma), alpha / (sigma * sigma)];
    case 'x0>eps': // ε = (x − α x0)/σ
      return [1 / sigma, -alpha / sigma];
    default:
      throw new ParameterError(`unknown parameterization '${String(PARAMETERIZATIONS.includes(from) ? to : from)}': expected score, eps or x0`);
  }
}

/**
 * Converts a prediction y in parameterization `from` to `to` for n samples x (n·dim values) at
 * per-sample times t (length n), into out. out may alias y (not x). from === to copies.
 */
export function convertPrediction(
  from: Parameterization,
  to: Parameterization,
  sde: SDE,
  x: Float64Array,
  t: Float64Array,
  y: ArrayLike<number>,
  out: Float64Array,
): void {
  if (from === to && PARAMETERIZATIONS.includes(from)) {
    if (out !== y) for (let j = 0; j < x.length; j++) out[j] = y[j];
    return;
  }
  const n = t.length;
  const dim = x.length / n;
  // Fixed-grid solvers pass one t for the whole batch: the coefficients once per run of equal t.
  let lastT = NaN;
  let a = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    if (t[i] !== lastT) {
      lastT = t[i];
      [a, b] = coefficients(from, to, sde.meanCoef(lastT), sde.std(lastT));
    }
    const end = (i + 1) * dim;
    if (a === 0) for (let j = i * dim; j < end; j++) out[j] = b * y[j];
    else for (let j = i * dim; j < end; j++) out[j] = a * x[j] + b * y[j];
  }
}

/** Converts raw network output y (in place allowed: out may alias y) to the score. */
export function toScore(param: Parameterization, sde: SDE, x: Float64Array, t: Float64Array, y: ArrayLike<number>, out: Float64Array): void {
  convertPrediction(param, 'score', sde, x, t, y, out);
}

/** The inverse of toScore: what a network of that parameterization should output for score s. */
export function fromScore(param: Parameterization, sde: SDE, x: Float64Array, t: Float64Array, s: ArrayLike<number>, out: Float64Array): void {
  convertPrediction('score', param, sde, x, t, s, out);
}
