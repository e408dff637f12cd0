import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { Samples, checkRows } from './rows';
import { sampleCovariance, sampleMean } from './moments';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { sqrt, max, abs } = Math;

/**
 * Fréchet distance between Gaussians (the FID formula, Heusel et al. 2017, in any feature space):
 *   FD = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁^½ Σ₂ Σ₁^½)^½)
 * computed with two symmetric eigendecompositions (ml-matrix): Σ₁ = V Λ Vᵀ gives Σ₁^½ = V Λ^½ Vᵀ,
 * and Tr((Σ₁^½ Σ₂ Σ₁^½)^½) is the sum of the square roots of the eigenvalues of that symmetric
 * matrix. (Σ₁^½ Σ₂ Σ₁^½ has the eigenvalues of Σ₁Σ₂, whose square root FID code usually takes
 * with a general sqrtm; the symmetric form needs no complex arithmetic and no fix-ups.)
 *
 * Covariances are positive semi-definite, but computed ones are so only up to rounding: a
 * sample covariance from n ≤ dim rows is singular, and its zero eigenvalues come out as ±ε·λ_max.
 * Such tiny negative eigenvalues (≥ −1e-8·λ_max) are clipped to 0 before square roots are taken;
 * anything more negative means the input is no covariance matrix, and is an error.
 */

export interface GaussianStats {
  dim: number;
  /** Rows the statistics were computed from. */
  n: number;
  mean: Float64Array;
  /** dim × dim, row-major, divisor n − 1. */
  cov: Float64Array;
}

export interface FrechetResult {
  fd: number;
  /** ‖μ₁ − μ₂‖². */
  meanTerm: number;
  /** Tr(Σ₁ + Σ₂ − 2 (Σ₁^½ Σ₂ Σ₁^½)^½). */
  covTerm: number;
  /** The most negative eigenvalue clipped to 0, relative to the largest (0 when none was). */
  clipped: number;
}

/** Relative size below which a negative eigenvalue of a covariance is rounding, not an error. */
export const PSD_TOLERANCE = 1e-8;

/** Mean and covariance (divisor n − 1) of n rows of dim. */
export function gaussianStats(x: Samples, dim: number): GaussianStats {
  const n = checkRows(x, dim, 'x');
  if (n < 2) throw new RangeError('gaussianStats: need at least 2 rows');
  return { dim, n, mean: sampleMean(x, dim), cov: sampleCovariance(x, dim) };
}

/** Eigenvalues and eigenvectors (the columns of `vectors`) of the symmetric part of a dim × dim matrix. */
export function symmetricEigen(a: ArrayLike<number>, dim: number): { values: Float64Array; vectors: Matrix } {
  if (a.length !== dim * dim) throw new RangeError(`expected a ${dim} × ${dim} matrix (${dim * dim} values), got ${a.length}`);
  const m = new Matrix(dim, dim);
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      const v = 0.5 * (a[i * dim + j] + a[j * dim + i]);
      m.set(i, j, v);
      m.set(j, i, v);
    }
  }
  const evd = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  return { values: Float64Array.from(evd.realEigenvalues), vectors: evd.eigenvectorMatrix };
}

/** Clips rounding-level negative eigenvalues to 0; returns the largest relative clip. */
function clipEigenvalues(values: Float64Array, what: string): number {
  let top = 0;
  for (let i = 0; i < values.length; i++) top = max(top, values[i]);
  let clipped = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] >= 0) continue;
    const rel = top > 0 ? -values[i] / top : Infinity;
    if (rel > PSD_TOLERANCE && -values[i] > 1e-300) {
      throw new RangeError(`${what} is not positive semi-definite: eigenvalue ${values[i].toExponential(3)} against a largest of ${top.toExponential(3)}`);
    }
    clipped = max(clipped, top > 0 ? rel : 0);
    values[i] = 0;
  }
  return clipped;
}

/** The symmetric square root A^½ = V Λ^½ Vᵀ of a symmetric positive semi-definite matrix (dim × dim, row-major). */
export function sqrtPsd(a: ArrayLike<number>, dim: number): Float64Array {
  return sqrtPsdWithClip(a, dim, 'the matrix').sqrt;
}

function sqrtPsdWithClip(a: ArrayLike<number>, dim: number, what: string): { sqrt: Float64Array; clipped: number } {
  const { values, vectors } = symmetricEigen(a, dim);
  const clipped = clipEigenvalues(values, what);
  const v = vectors.to1DArray();
  const out = new Float64Array(dim * dim);
  const scaled = new Float64Array(dim);
  for (let i = 0; i < dim; i++) {
    const row = i * dim;
    for (let k = 0; k < dim; k++) scaled[k] = v[row + k] * sqrt(values[k]);
    for (let j = i; j < dim; j++) {
      let s = 0;
      const rj = j * dim;
      for (let k = 0; k < dim; k++) s += scaled[k] * v[rj + k];
      out[row + j] = s;
      out[j * dim + i] = s;
    }
  }
  return { sqrt: out, clipped };
}

/** C = A·B for dim × dim row-major matrices. */
function multiply(a: Float64Array, b: ArrayLike<number>, dim: number): Float64Array {
  const c = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    const ri = i * dim;
    for (let k = 0; k < dim; k++) {
      const aik = a[ri + k];
      if (aik === 0) continue;
      const rk = k * dim;
      for (let j = 0; j < dim; j++) c[ri + j] += aik * b[rk + j];
    }
  }
  return c;
}

/** The Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂); see the file comment. */
export function frechetDistance(a: Pick<GaussianStats, 'mean' | 'cov'>, b: Pick<GaussianStats, 'mean' | 'cov'>): FrechetResult {
  const dim = a.mean.length;
  if (b.mean.length !== dim) throw new RangeError(`frechetDistance: means have ${dim} and ${b.mean.length} entries`);
  if (a.cov.length !== dim * dim || b.cov.length !== dim * dim) {
    throw new RangeError(`frechetDistance: covariances must be ${dim} × ${dim} (${dim * dim} values), got ${a.cov.length} and ${b.cov.length}`);
  }
  let meanTerm = 0;
  for (let d = 0; d < dim; d++) meanTerm += (a.mean[d] - b.mean[d]) ** 2;
  const s1 = sqrtPsdWithClip(a.cov, dim, 'the first covariance');
  const inner = multiply(multiply(s1.sqrt, b.cov, dim), s1.sqrt, dim);
  const { values } = symmetricEigen(inner, dim);
  const clipped = max(s1.clipped, clipEigenvalues(values, 'Σ₁^½ Σ₂ Σ₁^½'));
  let traceSqrt = 0;
  for (let k = 0; k < dim; k++) traceSqrt += sqrt(values[k]);
  let trace = 0;
  for (let d = 0; d < dim; d++) trace += a.cov[d * dim + d] + b.cov[d * dim + d];
  // Rounding can leave a hair below 0 for equal covariances; FD is a squared distance.
  const covTerm = trace - 2 * traceSqrt;
  const cleanCov = covTerm < 0 && abs(covTerm) <= 1e-9 * max(trace, 1e-300) ? 0 : covTerm;
  return { fd: meanTerm + cleanCov, meanTerm, covTerm: cleanCov, clipped };
}
