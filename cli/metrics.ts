import { NoiseSource } from '../solvers/noise';

// Module-level aliases: inside vm contexts (jest) every global lookup is ~50x slower.
const { sqrt, exp, abs, floor, min, max, pow } = Math;

/**
 * Sample-quality metrics between generated samples and reference samples. Every function takes
 * row-major sample sets (n × dim, any numeric array) and is usable on its own:
 *   slicedWasserstein   SW_p over seeded random directions, exact 1-D W_p per direction
 *   wasserstein1d       exact W_p between two 1-D empirical distributions (any sizes)
 *   mmdRbf              unbiased MMD² with an RBF kernel, median-heuristic bandwidth
 *   meanError           ‖mean_a − mean_b‖₂
 *   covarianceError     ‖cov_a − cov_b‖_F
 *   pixelStats, pixelHistogramDistance   for images (all values pooled)
 */

type Samples = ArrayLike<number>;

/** Noise stream for projection directions (apart from the samplers' streams 0–4). */
const PROJECTION_STREAM = 0x51;

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

export interface MmdOptions {
  /** RBF bandwidth h in k(x, y) = exp(−‖x − y‖² / (2h²)). Default: median pairwise distance of the pooled samples. */
  bandwidth?: number;
  /** Use at most this many rows of each set (the first ones). Default 2000 (500 when dim > 64). */
  maxSamples?: number;
}

/**
 * Unbiased MMD² (Gretton et al. 2012, eq. 3) with an RBF kernel: the within-set means exclude the
 * diagonal, so the estimate is 0 in expectation for equal distributions and may be slightly < 0.
 */
export function mmdRbf(a: Samples, b: Samples, dim: number, opts: MmdOptions = {}): { mmd2: number; bandwidth: number } {
  const cap = opts.maxSamples ?? (dim > 64 ? 500 : 2000);
  const m = min(checkRows(a, dim, 'a'), cap);
  const n = min(checkRows(b, dim, 'b'), cap);
  if (m < 2 || n < 2) throw new RangeError('mmdRbf: need at least 2 samples in each set');
  const h = opts.bandwidth ?? medianDistance(a, m, b, n, dim);
  const gamma = h > 0 ? 1 / (2 * h * h) : 1;
  const kaa = kernelSum(a, m, a, m, dim, gamma, true);
  const kbb = kernelSum(b, n, b, n, dim, gamma, true);
  const kab = kernelSum(a, m, b, n, dim, gamma, false);
  return { mmd2: kaa / (m * (m - 1)) + kbb / (n * (n - 1)) - (2 * kab) / (m * n), bandwidth: h };
}

function kernelSum(x: Samples, nx: number, y: Samples, ny: number, dim: number, gamma: number, same: boolean): number {
  let total = 0;
  for (let i = 0; i < nx; i++) {
    const ri = i * dim;
    for (let j = same ? i + 1 : 0; j < ny; j++) {
      const rj = j * dim;
      let d2 = 0;
      for (let d = 0; d < dim; d++) {
        const v = x[ri + d] - y[rj + d];
        d2 += v * v;
      }
      total += exp(-gamma * d2);
    }
  }
  return same ? 2 * total : total;
}

/** Median pairwise distance over (at most 1000 of) the pooled rows. */
function medianDistance(a: Samples, m: number, b: Samples, n: number, dim: number): number {
  const take = min(m + n, 1000);
  const ta = min(m, floor(take / 2));
  const tb = min(n, take - ta);
  const pooled = new Float64Array((ta + tb) * dim);
  for (let i = 0; i < ta * dim; i++) pooled[i] = a[i];
  for (let i = 0; i < tb * dim; i++) pooled[ta * dim + i] = b[i];
  const k = ta + tb;
  const dists = new Float64Array((k * (k - 1)) / 2);
  let c = 0;
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++) {
      let d2 = 0;
      for (let d = 0; d < dim; d++) {
        const v = pooled[i * dim + d] - pooled[j * dim + d];
        d2 += v * v;
      }
      dists[c++] = d2;
    }
  }
  dists.sort();
  return sqrt(dists[dists.length >> 1]);
}

export function sampleMean(x: Samples, dim: number): Float64Array {
  const n = checkRows(x, dim, 'x');
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) mean[d] += x[i * dim + d];
  for (let d = 0; d < dim; d++) mean[d] /= n;
  return mean;
}

/** Sample covariance (divisor n − 1), dim × dim row-major. */
export function sampleCovariance(x: Samples, dim: number): Float64Array {
  const n = checkRows(x, dim, 'x');
  const mean = sampleMean(x, dim);
  const cov = new Float64Array(dim * dim);
  const r = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) r[d] = x[i * dim + d] - mean[d];
    for (let d = 0; d < dim; d++) {
      const rd = r[d];
      for (let e = d; e < dim; e++) cov[d * dim + e] += rd * r[e];
    }
  }
  const div = max(n - 1, 1);
  for (let d = 0; d < dim; d++) {
    for (let e = d; e < dim; e++) {
      cov[d * dim + e] /= div;
      cov[e * dim + d] = cov[d * dim + e];
    }
  }
  return cov;
}

/** ‖mean(a) − mean(b)‖₂. */
export function meanError(a: Samples, b: Samples, dim: number): number {
  const ma = sampleMean(a, dim);
  const mb = sampleMean(b, dim);
  let s = 0;
  for (let d = 0; d < dim; d++) s += (ma[d] - mb[d]) ** 2;
  return sqrt(s);
}

/** ‖cov(a) − cov(b)‖_F. */
export function covarianceError(a: Samples, b: Samples, dim: number): number {
  const ca = sampleCovariance(a, dim);
  const cb = sampleCovariance(b, dim);
  let s = 0;
  for (let i = 0; i < ca.length; i++) s += (ca[i] - cb[i]) ** 2;
  return sqrt(s);
}

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

export interface MetricOptions {
  /** Sliced Wasserstein directions and their seed. */
  projections?: number;
  projectionSeed?: number;
  mmdMaxSamples?: number;
  /** Image data range for the pixel histogram; default the reference's min/max. */
  dataRange?: readonly [number, number];
  /** Which metrics; default all that apply. */
  only?: readonly string[];
}

export type Metrics = Record<string, number>;

/** Whether a sample shape is an image (channels × height × width or height × width). */
export function isImageShape(shape: readonly number[]): boolean {
  return shape.length >= 2;
}

/**
 * Every metric that applies to this sample shape:
 *   all:      sw (SW₂), mmd2, meanError; covError where dim ≤ 256
 *   images:   pixelMean, pixelStd, refPixelMean, refPixelStd, pixelHist (TV distance, 64 bins)
 */
export function computeMetrics(samples: Samples, reference: Samples, shape: readonly number[], opts: MetricOptions = {}): Metrics {
  const dim = shape.reduce((x, y) => x * y, 1);
  const want = (name: string) => !opts.only || opts.only.includes(name);
  const out: Metrics = {};
  if (want('sw')) out.sw = slicedWasserstein(samples, reference, dim, { projections: opts.projections, seed: opts.projectionSeed });
  if (want('mmd2')) out.mmd2 = mmdRbf(samples, reference, dim, { maxSamples: opts.mmdMaxSamples }).mmd2;
  if (want('meanError')) out.meanError = meanError(samples, reference, dim);
  if (want('covError') && dim <= 256) out.covError = covarianceError(samples, reference, dim);
  if (isImageShape(shape)) {
    const s = pixelStats(samples);
    const r = pixelStats(reference);
    out.pixelMean = s.mean;
    out.pixelStd = s.std;
    out.refPixelMean = r.mean;
    out.refPixelStd = r.std;
    if (want('pixelHist')) {
      let range = opts.dataRange;
      if (!range) {
        let lo = Infinity;
        let hi = -Infinity;
        for (let i = 0; i < reference.length; i++) {
          lo = min(lo, reference[i]);
          hi = max(hi, reference[i]);
        }
        range = [lo, hi > lo ? hi : lo + 1];
      }
      out.pixelHist = pixelHistogramDistance(samples, reference, range);
    }
  }
  return out;
}

function checkRows(x: Samples, dim: number, name: string): number {
  if (!(Number.isInteger(dim) && dim >= 1)) throw new RangeError(`dim must be an integer >= 1, got ${dim}`);
  if (x.length % dim !== 0) throw new RangeError(`${name} has ${x.length} values, not a multiple of dim=${dim}`);
  return x.length / dim;
}
