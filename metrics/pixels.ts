import { Samples } from './rows';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { sqrt, abs, floor } = Math;

/** Mean and standard deviation of all values pooled (pixel statistics of an image set). */
export function pixelStats(x: Samples): { mean: number; std: number } {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  const mean = s / x.length;
  let v = 0;
  for (let i = 0; i < x.length; i++) v += (x[i] - mean) ** 2;
  return { mean, std: sqrt(v / x.length) };
}

/**
 * Total-variation distance ½ Σ |p_a − p_b| between the histograms of all values pooled, with
 * `bins` equal bins over `range` (values outside are counted in the end bins). In [0, 1].
 */
export function pixelHistogramDistance(a: Samples, b: Samples, range: readonly [number, number], bins = 64): number {
  const ha = histogram(a, range, bins);
  const hb = histogram(b, range, bins);
  let s = 0;
  for (let k = 0; k < bins; k++) s += abs(ha[k] / a.length - hb[k] / b.length);
  return s / 2;
}

export function histogram(x: Samples, range: readonly [number, number], bins: number): Float64Array {
  const [lo, hi] = range;
  const h = new Float64Array(bins);
  const scale = bins / (hi - lo);
  for (let i = 0; i < x.length; i++) {
    let k = floor((x[i] - lo) * scale);
    if (k < 0) k = 0;
    else if (k >= bins) k = bins - 1;
    else if (k !== k) continue;
    h[k]++;
  }
  return h;
}
