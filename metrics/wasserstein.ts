import { NoiseSource } from '../core/noise';
import { Stream } from '../core/streams';
import { Samples, checkRows } from './rows';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { sqrt, abs, pow } = Math;

/** Noise stream for projection directions (apart from the samplers' streams 0–4). */
const PROJECTION_STREAM = Stream.projections;

/**
 * Exact p-Wasserstein distance between two 1-D empirical distributions with uniform weights:
 * (∫₀¹ |F_a⁻¹(u) − F_b⁻¹(u)|^p du)^{1/p}, integrating the two step quantile functions over the
 * merged breakpoints i/n_a and j/n_b. Equal sizes reduce to the mean over sorted pairs.
 * Inputs are sorted in place unless `sorted` says they already are.
 */
export function wasserstein1d(a: Float64Array, b: Float64Array, p = 2, sorted = false): number {
  return pow(wassersteinPow1d(a, b, p, sorted), 1 / p);
}

function wassersteinPow1d(a: Float64Array, b: Float64Array, p: number, sorted: boolean): number {
  const na = a.length;
  const nb = b.length;
  if (na === 0 || nb === 0) throw new RangeError('wasserstein1d: empty sample');
  if (!sorted) {
    a.sort();
    b.sort();
  }
  let sum = 0;
  if (na === nb) {
    for (let i = 0; i < na; i++) sum += pow(abs(a[i] - b[i]), p);
    return sum / na;
  }
  // Quantile levels advance in units of 1/(na·nb): a's i-th step covers nb units, b's j-th na.
  let i = 0;
  let j = 0;
  let leftA = nb;
  let leftB = na;
  while (i < na && j < nb) {
    const w = leftA < leftB ? leftA : leftB;
    sum += w * pow(abs(a[i] - b[j]), p);
    leftA -= w;
    leftB -= w;
    if (leftA === 0) {
      i++;
      leftA = nb;
    }
    if (leftB === 0) {
      j++;
      leftB = na;
    }
  }
  return sum / (na * nb);
}

export interface SlicedWassersteinOptions {
  /** Number of random directions. Default 256. */
  projections?: number;
  /** Seed of the directions (Philox; the same seed gives the same directions). Default 0. */
  seed?: number;
  /** Order p. Default 2. */
  p?: number;
}

/**
 * Sliced Wasserstein distance SW_p = (mean over θ of W_p^p(θ·a, θ·b))^{1/p}, θ uniform on the unit
 * sphere (normalized Gaussian draws, seeded). a and b are n_a × dim and n_b × dim; sizes may differ.
 */
export function slicedWasserstein(a: Samples, b: Samples, dim: number, opts: SlicedWassersteinOptions = {}): number {
  const projections = opts.projections ?? 256;
  const p = opts.p ?? 2;
  const na = checkRows(a, dim, 'a');
  const nb = checkRows(b, dim, 'b');
  const dirs = new Float64Array(projections * dim);
  new NoiseSource(opts.seed ?? 0).normal(dirs, dim, 0, PROJECTION_STREAM);
  const pa = new Float64Array(na);
  const pb = new Float64Array(nb);
  let total = 0;
  for (let k = 0; k < projections; k++) {
    const off = k * dim;
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += dirs[off + d] * dirs[off + d];
    norm = sqrt(norm);
    for (let d = 0; d < dim; d++) dirs[off + d] /= norm;
    project(a, na, dim, dirs, off, pa);
    project(b, nb, dim, dirs, off, pb);
    total += wassersteinPow1d(pa, pb, p, false);
  }
  return pow(total / projections, 1 / p);
}

function project(x: Samples, n: number, dim: number, dirs: Float64Array, off: number, out: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let s = 0;
    const row = i * dim;
    for (let d = 0; d < dim; d++) s += x[row + d] * dirs[off + d];
    out[i] = s;
  }
}
