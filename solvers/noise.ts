import { NoiseSource, Stream } from '../core/noise';
import { BrownianPath } from '../core/brownian';
import { NoiseMode, SolverNoise } from './solver';

/**
 * The noise of one chunk of rows (`source` is shifted to the chunk's first global sample).
 *   'step': increment z_i keyed by (step i, Stream.predictor): one normal per coordinate, but a
 *           grid with other steps draws unrelated noise.
 *   'path': increments of one Brownian path per coordinate on [0, T] (core/brownian.ts), so every
 *           grid integrates the same path; costs about log2(step/leaf) + 1 normals per coordinate
 *           and query, and (depth + 3) arrays of the chunk's size.
 * Corrector and other at-time noise is keyed by (t, index) in both modes.
 */
export function solverNoise(mode: NoiseMode, source: NoiseSource, n: number, dim: number, T: number): SolverNoise {
  const corrector = (t: number, k: number, out: Float64Array) => source.normalAt(out, dim, t, Stream.corrector, k);
  const atTime = (t: number, index: number, out: Float64Array) => source.normalAt(out, dim, t, Stream.atTime, index);
  if (mode === 'step') {
    return { mode, corrector, atTime, increment: (step, _tFrom, _tTo, out) => source.normal(out, dim, step, Stream.predictor) };
  }
  if (mode !== 'path') throw new RangeError(`unknown noise mode '${String(mode)}': expected 'step' or 'path'`);
  return { mode, corrector, atTime, increment: pathIncrements(source.brownian(n, dim, T)) };
}

/**
 * (W(tFrom) − W(tTo))/√|tFrom − tTo|, remembering the last W queried: a solver stepping along a
 * grid asks for W(t_i) once (as the end of step i − 1 and the start of step i).
 */
function pathIncrements(path: BrownianPath): SolverNoise['increment'] {
  let lastT = NaN;
  let last = new Float64Array(0);
  let from = new Float64Array(0);
  return (_step, tFrom, tTo, out) => {
    if (last.length !== out.length) {
      last = new Float64Array(out.length);
      from = new Float64Array(out.length);
    }
    if (tFrom === tTo) throw new RangeError(`Brownian increment over an empty interval at t=${tFrom}`);
    if (tFrom === lastT) from.set(last);
    else path.valueAt(tFrom, from);
    path.valueAt(tTo, last);
    lastT = tTo;
    const scale = 1 / Math.sqrt(Math.abs(tFrom - tTo));
    for (let j = 0; j < out.length; j++) out[j] = (from[j] - last[j]) * scale;
  };
}

/**
 * Fresh draws in call order from Stream.resample (address = the call's index): noise for steps
 * that are taken again (resampling rounds, ./resample.ts), whose own addresses are spent. A
 * fixed-grid solver calls in the same order in every chunk, so the draws stay keyed by sample.
 */
export function sequentialNoise(source: NoiseSource, dim: number): SolverNoise {
  let next = 0;
  const draw = (out: Float64Array) => source.normal(out, dim, next++, Stream.resample);
  return { mode: 'step', increment: (_step, _tFrom, _tTo, out) => draw(out), corrector: (_t, _k, out) => draw(out), atTime: (_t, _index, out) => draw(out) };
}
