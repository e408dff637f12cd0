import { NoiseSource } from '../core/noise';
import { Stream } from '../core/streams';
import { Samples, checkRows } from './rows';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { sqrt, min, floor } = Math;

/**
 * Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs"), in any feature
 * space: the unbiased MMD² with the cubic polynomial kernel k(x, y) = (xᵀy / d + 1)³, averaged
 * over random subsets of both sets, with the standard deviation of the subset estimates.
 *
 * Unbiased means E[KID] = 0 when both sets come from one distribution, at every n: unlike FD it
 * has no small-n floor to subtract, and a single estimate may be slightly negative (that reads
 * "indistinguishable at this n", not an error). The reported `std` is the spread of the subset
 * estimates (what KID papers quote as ±), not a standard error of their mean.
 *
 * Cost: the kernel matrices of at most `maxSamples` rows per set are computed once (O(n²·d)),
 * (by `dots`: plain JavaScript, or onnxruntime's GEMM), then each subset only sums entries. Larger sets are first cut down to `maxSamples` rows drawn
 * at random; the estimate stays unbiased, its spread is that of maxSamples rows.
 */

export interface KidOptions {
  /** Number of random subsets. Default 100. */
  subsets?: number;
  /** Rows per subset (from each set). Default min(1000, rows of either set). */
  subsetSize?: number;
  /** Rows of each set used at most (drawn at random when a set is larger). Default 2000. */
  maxSamples?: number;
  /** Seed of the subset draws. Default 0. */
  seed?: number;
  /** How the rows' dot products are computed. Default jsDotProducts. */
  dots?: DotProducts;
}

export interface KidResult {
  kid: number;
  /** Standard deviation of the subset estimates. */
  std: number;
  subsets: number;
  subsetSize: number;
  /** Rows used from each set (after maxSamples). */
  rows: [number, number];
}

/** Noise streams of the subset draws (allocated in core/streams.ts with every other draw). */
export const KID_STREAMS = { subsetA: Stream.kidSubsetA, subsetB: Stream.kidSubsetB, rowsA: Stream.kidRowsA, rowsB: Stream.kidRowsB } as const;

/** Row dot products A·Bᵀ (na × nb, row-major) of row-major na × dim and nb × dim matrices. */
export type DotProducts = (a: Float64Array, na: number, b: Float64Array, nb: number, dim: number) => Float64Array | Promise<Float64Array>;

/** A·Bᵀ in plain JavaScript (O(na·nb·dim); metrics/onnx-dots.ts does it ~40× faster through onnxruntime). */
export const jsDotProducts: DotProducts = (a, na, b, nb, dim) => {
  const out = new Float64Array(na * nb);
  for (let i = 0; i < na; i++) {
    const ri = i * dim;
    for (let j = 0; j < nb; j++) {
      const rj = j * dim;
      let s = 0;
      for (let d = 0; d < dim; d++) s += a[ri + d] * b[rj + d];
      out[i * nb + j] = s;
    }
  }
  return out;
};

/** The cubic polynomial kernel matrix (aᵢᵀbⱼ/d + 1)³ of the rows of a against those of b, in place of their dot products. */
async function polynomialKernel(a: Float64Array, na: number, b: Float64Array, nb: number, dim: number, dots: DotProducts): Promise<Float64Array> {
  const k = await dots(a, na, b, nb, dim);
  const inv = 1 / dim;
  for (let i = 0; i < k.length; i++) {
    const v = k[i] * inv + 1;
    k[i] = v * v * v;
  }
  return k;
}

function gatherRows(x: Samples, idx: Int32Array, dim: number): Float64Array {
  const out = new Float64Array(idx.length * dim);
  for (let i = 0; i < idx.length; i++) {
    const src = idx[i] * dim;
    for (let d = 0; d < dim; d++) out[i * dim + d] = x[src + d];
  }
  return out;
}

/**
 * min(k, n) distinct indices out of 0..n−1 in random order (a partial Fisher–Yates shuffle; k ≥ n
 * gives a random permutation), from the uniform draws of (seed, step, stream): the same arguments
 * give the same choice.
 */
export function chooseDistinct(n: number, k: number, noise: NoiseSource, step: number, stream: number): Int32Array {
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  k = min(k, n);
  const u = new Float64Array(k);
  noise.uniform(u, step, stream);
  for (let i = 0; i < k; i++) {
    const j = i + min(floor(u[i] * (n - i)), n - i - 1);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm.slice(0, k);
}

/** KID between the rows of a and b (n_a × dim and n_b × dim); see the file comment. */
export async function kernelInceptionDistance(a: Samples, b: Samples, dim: number, opts: KidOptions = {}): Promise<KidResult> {
  const na = checkRows(a, dim, 'a');
  const nb = checkRows(b, dim, 'b');
  const cap = opts.maxSamples ?? 2000;
  const subsets = opts.subsets ?? 100;
  const noise = new NoiseSource(opts.seed ?? 0);
  // All rows where a set fits the cap, else maxSamples of them at random.
  const rowsOf = (n: number, stream: number) => (n <= cap ? Int32Array.from({ length: n }, (_, i) => i) : chooseDistinct(n, cap, noise, 0, stream));
  const ia = rowsOf(na, KID_STREAMS.rowsA);
  const ib = rowsOf(nb, KID_STREAMS.rowsB);
  const ma = ia.length;
  const mb = ib.length;
  const s = opts.subsetSize ?? min(1000, ma, mb);
  if (!(Number.isInteger(s) && s >= 2)) throw new RangeError(`kernelInceptionDistance: subsetSize must be an integer >= 2, got ${s}`);
  if (s > ma || s > mb) throw new RangeError(`kernelInceptionDistance: subsetSize ${s} exceeds the rows available (${ma} and ${mb})`);
  if (!(Number.isInteger(subsets) && subsets >= 1)) throw new RangeError(`kernelInceptionDistance: subsets must be an integer >= 1, got ${subsets}`);
  const dots = opts.dots ?? jsDotProducts;
  const ra = gatherRows(a, ia, dim);
  const rb = gatherRows(b, ib, dim);
  const kaa = await polynomialKernel(ra, ma, ra, ma, dim, dots);
  const kbb = await polynomialKernel(rb, mb, rb, mb, dim, dots);
  const kab = await polynomialKernel(ra, ma, rb, mb, dim, dots);
  const values = new Float64Array(subsets);
  for (let t = 0; t < subsets; t++) {
    // Sorted, so that the sums below walk the kernel matrices' rows in order.
    const sa = chooseDistinct(ma, s, noise, t + 1, KID_STREAMS.subsetA).sort();
    const sb = chooseDistinct(mb, s, noise, t + 1, KID_STREAMS.subsetB).sort();
    values[t] = unbiasedMmd2(kaa, ma, sa, kbb, mb, sb, kab);
  }
  let mean = 0;
  for (let t = 0; t < subsets; t++) mean += values[t];
  mean /= subsets;
  let v = 0;
  for (let t = 0; t < subsets; t++) v += (values[t] - mean) ** 2;
  return { kid: mean, std: subsets > 1 ? sqrt(v / (subsets - 1)) : 0, subsets, subsetSize: s, rows: [ma, mb] };
}

/**
 * Unbiased MMD² of the subsets sa, sb (equal sizes s) from precomputed kernel matrices:
 *   Σ_{i≠j} k(aᵢ, aⱼ)/(s(s−1)) + Σ_{i≠j} k(bᵢ, bⱼ)/(s(s−1)) − 2 Σ_{i,j} k(aᵢ, bⱼ)/s².
 */
function unbiasedMmd2(kaa: Float64Array, ma: number, sa: Int32Array, kbb: Float64Array, mb: number, sb: Int32Array, kab: Float64Array): number {
  const s = sa.length;
  let xx = 0;
  let yy = 0;
  let xy = 0;
  for (let i = 0; i < s; i++) {
    const ra = sa[i] * ma;
    const rb = sb[i] * mb;
    const rab = sa[i] * mb;
    // The within-set matrices are symmetric: the pairs j > i, counted twice below.
    for (let j = i + 1; j < s; j++) {
      xx += kaa[ra + sa[j]];
      yy += kbb[rb + sb[j]];
    }
    for (let j = 0; j < s; j++) xy += kab[rab + sb[j]];
  }
  return (2 * (xx + yy)) / (s * (s - 1)) - (2 * xy) / (s * s);
}
