import { Samples, checkRows } from './rows';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { sqrt, exp, floor, min } = Math;

export interface MmdOptions {
  /** RBF bandwidth h in k(x, y) = exp(−‖x − y‖² / (2h²)). Default: median pairwise distance of the pooled samples. */
  bandwidth?: number;
  /** Use at most this many rows of each set (the first ones). Default 2000 (500 when dim > 64). */
  maxSamples?: number;
}

/**
 * Unbiased MMD² (Gretton et al. 2012, eq. 3) with an RBF kernel: the within-set means exclude the
 * diagonal, so the estimate is 0 in expectation for equal distributions. It is therefore not a
 * squared distance of the samples but an estimate of one, and comes out slightly < 0 about half
 * the time when the two sets are indistinguishable at their size: a negative value is noise around
 * 0 (its scale is ~ 1/n), not an error, and reads "no difference detectable at this n".
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
