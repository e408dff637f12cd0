/**
 * Statistics helpers for the core tests: moments with their standard errors, a sliced
 * Wasserstein distance, a Kolmogorov–Smirnov statistic against N(0, 1), correlations and a
 * log-log slope. Everything works on row-major Float64Array batches (n rows of dim).
 *
 * Standard errors are the usual large-sample ones estimated from the data themselves:
 *   mean:        sqrt(var / n)
 *   (co)variance sqrt(Var[(x_j − μ_j)(x_k − μ_k)] / n)   (= var·sqrt(2/n) for Gaussian data)
 * so a check "within k standard errors" holds for any distribution with finite fourth moments.
 */
import { slicedWasserstein as librarySlicedWasserstein } from '../../metrics';
import { NoiseSource } from '../../core/noise';

// Shorthands (jest injects Math, Number and Infinity into its vm context: see jest.config.js).
const { abs, exp, log, max, sqrt, SQRT2 } = Math;
const INF = Number.POSITIVE_INFINITY;

/** Per-column means of n rows of dim. */
export function columnMeans(x: ArrayLike<number>, dim: number): Float64Array {
  const n = x.length / dim;
  const m = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) m[j] += x[i * dim + j];
  for (let j = 0; j < dim; j++) m[j] /= n;
  return m;
}

/** Sample covariance (dim × dim, row-major, divisor n − 1). */
export function covariance(x: ArrayLike<number>, dim: number): Float64Array {
  const n = x.length / dim;
  const m = columnMeans(x, dim);
  const c = new Float64Array(dim * dim);
  for (let i = 0; i < n; i++) {
    const row = i * dim;
    for (let j = 0; j < dim; j++) {
      const dj = x[row + j] - m[j];
      for (let k = j; k < dim; k++) c[j * dim + k] += dj * (x[row + k] - m[k]);
    }
  }
  for (let j = 0; j < dim; j++) {
    for (let k = j; k < dim; k++) {
      c[j * dim + k] /= n - 1;
      c[k * dim + j] = c[j * dim + k];
    }
  }
  return c;
}

export interface Moments {
  n: number;
  dim: number;
  mean: Float64Array;
  /** dim × dim. */
  cov: Float64Array;
  /** Standard error of each mean. */
  meanSE: Float64Array;
  /** Standard error of each covariance entry, dim × dim, from the data's fourth moments. */
  covSE: Float64Array;
}

/** Means and covariances with their standard errors. */
export function moments(x: ArrayLike<number>, dim: number): Moments {
  const n = x.length / dim;
  const mean = columnMeans(x, dim);
  const cov = covariance(x, dim);
  const meanSE = new Float64Array(dim);
  for (let j = 0; j < dim; j++) meanSE[j] = sqrt(cov[j * dim + j] / n);
  const covSE = new Float64Array(dim * dim);
  for (let j = 0; j < dim; j++) {
    for (let k = j; k < dim; k++) {
      const c = cov[j * dim + k];
      let s = 0;
      for (let i = 0; i < n; i++) {
        const p = (x[i * dim + j] - mean[j]) * (x[i * dim + k] - mean[k]) - c;
        s += p * p;
      }
      covSE[j * dim + k] = covSE[k * dim + j] = sqrt(s / (n - 1) / n);
    }
  }
  return { n, dim, mean, cov, meanSE, covSE };
}

/** Mean and variance of all entries of x pooled (for iid coordinates). */
export function pooledMeanVar(x: ArrayLike<number>): { mean: number; variance: number; meanSE: number; varianceSE: number } {
  const n = x.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += x[i];
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
  v /= n - 1;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const p = (x[i] - m) * (x[i] - m) - v;
    s += p * p;
  }
  return { mean: m, variance: v, meanSE: sqrt(v / n), varianceSE: sqrt(s / (n - 1) / n) };
}

/** Pearson correlation of two equally long sequences. */
export function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / sqrt(saa * sbb);
}

/**
 * Sliced 2-Wasserstein distance between two equally sized point sets (n rows of dim), over
 * `directions` seeded random unit directions: the library's metric (metrics/wasserstein.ts), so the
 * tests and `score-sde run` report the same distance.
 */
export function slicedWasserstein(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  dim: number,
  directions = 128,
  seed = 20240607,
): number {
  if (b.length !== a.length) throw new Error(`slicedWasserstein: sets differ in size (${a.length} vs ${b.length})`);
  return librarySlicedWasserstein(a, b, dim, { projections: directions, seed });
}

/** Index of the nearest of K means (K × dim) for each row, as counts per component. */
export function nearestModeCounts(x: ArrayLike<number>, dim: number, means: readonly (readonly number[])[]): number[] {
  const n = x.length / dim;
  const counts = new Array<number>(means.length).fill(0);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestD = INF;
    for (let k = 0; k < means.length; k++) {
      let d = 0;
      for (let j = 0; j < dim; j++) d += (x[i * dim + j] - means[k][j]) ** 2;
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    counts[best]++;
  }
  return counts;
}

/**
 * Standard normal CDF. erfc by the Numerical Recipes Chebyshev fit (erfcc), |relative error|
 * < 1.2e-7 everywhere: far below the ~4e-3 a KS test on 1e5 draws can resolve.
 */
export function normalCdf(x: number): number {
  const z = abs(x) / SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t *
    exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - 0.5 * erfc : 0.5 * erfc;
}

/** Kolmogorov–Smirnov statistic sup |F_n − Φ| of the draws against N(0, 1). */
export function ksStatisticNormal(draws: ArrayLike<number>): number {
  const sorted = Float64Array.from(draws).sort();
  const n = sorted.length;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const f = normalCdf(sorted[i]);
    d = max(d, abs(f - i / n), abs((i + 1) / n - f));
  }
  return d;
}

/** Least-squares slope of log(y) against log(x). */
export function logLogSlope(xs: readonly number[], ys: readonly number[]): number {
  const lx = xs.map((v) => log(v));
  const ly = ys.map((v) => log(v));
  const mx = lx.reduce((a, b) => a + b, 0) / lx.length;
  const my = ly.reduce((a, b) => a + b, 0) / ly.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < lx.length; i++) {
    sxy += (lx[i] - mx) * (ly[i] - my);
    sxx += (lx[i] - mx) ** 2;
  }
  return sxy / sxx;
}

/** Largest |a_i − b_i|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = max(d, abs(a[i] - b[i]));
  return d;
}
