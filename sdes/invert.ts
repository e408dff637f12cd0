import { SDE, dLambdaDt } from './sde';
import { ParameterError } from '../core/errors';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { abs } = Math;
const EPSILON = Number.EPSILON;

/**
 * The x in [lo, hi] with f(x) = y for a strictly decreasing f, by Newton's method kept inside a
 * shrinking bracket (a bisection step wherever Newton would leave it), to full float64 precision:
 * it stops when a step moves x by at most 2 ulp or the bracket closes on adjacent floats. f may be
 * infinite at an end (λ at t = 0). ParameterError when y is not between f(hi) and f(lo).
 */
export function invertDecreasing(f: (x: number) => number, df: (x: number) => number, y: number, lo: number, hi: number): number {
  let a = lo;
  let b = hi;
  const fa = f(a) - y;
  const fb = f(b) - y;
  if (!(fa >= 0 && fb <= 0)) throw new ParameterError(`cannot invert: ${y} is not between f(${hi}) = ${fb + y} and f(${lo}) = ${fa + y}`);
  if (fa === 0) return a;
  if (fb === 0) return b;
  let x = 0.5 * (a + b);
  for (let i = 0; i < 400; i++) {
    const r = f(x) - y;
    if (r === 0) return x;
    if (r > 0) a = x;
    else b = x;
    let next = x - r / df(x);
    if (!(next > a && next < b)) next = 0.5 * (a + b);
    if (next === a || next === b || abs(next - x) <= 2 * EPSILON * abs(next)) return next;
    x = next;
  }
  return x;
}

/**
 * t(λ) by invertDecreasing on [0, T] with dλ/dt = −g²/(2σ²): for an SDE without a closed-form
 * inverse (every SDE here has one; this checks them and serves new kinds). λ must be in
 * [λ(T), λ(0)].
 */
export function numericTimeForLambda(sde: SDE, l: number): number {
  return invertDecreasing(
    (t) => sde.lambda(t),
    (t) => dLambdaDt(sde, t),
    l,
    0,
    sde.T,
  );
}
