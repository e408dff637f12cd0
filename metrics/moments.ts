import { Samples, checkRows } from './rows';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { sqrt, max } = Math;

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
