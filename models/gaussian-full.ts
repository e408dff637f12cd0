import { EigenvalueDecomposition, Matrix, solve } from 'ml-matrix';
import { SDE } from '../sdes/sde';
import { ParameterError } from '../core/errors';
import { NoiseSource, Stream } from '../core/noise';
import { ScoreModel } from '../core/score';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { sqrt } = Math;

/**
 * The exact score of Gaussian data N(μ, Σ) with a full covariance under an SDE's kernel:
 * p_t = N(α μ, α² Σ + σ² I), so s(x, t) = −(α² Σ + σ² I)⁻¹ (x − α μ). With Σ = Q diag(λ) Qᵀ
 * (eigendecomposed once, ml-matrix), (α² Σ + σ² I)⁻¹ = Q diag(1/(α² λ + σ²)) Qᵀ: 2·D² per row.
 * Correlated coordinates make inpainting's conditional p(x_u | x_k = y) non-trivial, with the
 * closed form `conditional()` to hold samples against.
 */
export class GaussianScore implements ScoreModel {
  readonly sampleShape: readonly number[];
  readonly D: number;
  readonly mean: Float64Array;
  /** Σ row-major. */
  readonly cov: Float64Array;
  private readonly Q: Float64Array;
  private readonly lambda: Float64Array;
  private readonly w: Float64Array;

  constructor(
    readonly sde: SDE,
    mean: readonly number[],
    cov: readonly (readonly number[])[],
  ) {
    const D = mean.length;
    if (D === 0) throw new ParameterError('mean must have at least one coordinate');
    if (cov.length !== D || cov.some((row) => row.length !== D)) throw new ParameterError(`cov must be ${D} × ${D} like mean`);
    for (let i = 0; i < D; i++) {
      for (let j = 0; j < i; j++) if (cov[i][j] !== cov[j][i]) throw new ParameterError(`cov must be symmetric: cov[${i}][${j}] ≠ cov[${j}][${i}]`);
    }
    const eig = new EigenvalueDecomposition(new Matrix(cov.map((r) => [...r])), { assumeSymmetric: true });
    const lambda = eig.realEigenvalues;
    if (lambda.some((l) => !(l > 0))) throw new ParameterError(`cov must be positive definite (eigenvalues ${lambda.map((l) => l.toPrecision(3)).join(', ')})`);
    this.D = D;
    this.sampleShape = [D];
    this.mean = Float64Array.from(mean);
    this.cov = Float64Array.from(cov.flat());
    this.Q = Float64Array.from(eig.eigenvectorMatrix.to1DArray());
    this.lambda = Float64Array.from(lambda);
    this.w = new Float64Array(D);
  }

  async score(x: Float64Array, t: Float64Array, out: Float64Array): Promise<void> {
    const { D, Q, lambda, mean, w } = this;
    const n = t.length;
    if (x.length !== n * D) throw new ParameterError(`gaussian score: x has ${x.length} values, expected ${n} samples × ${D}`);
    // α and σ once per run of equal t (fixed-grid solvers pass one t for the batch).
    let lastT = NaN;
    let a = 0;
    let s = 0;
    for (let i = 0; i < n; i++) {
      if (t[i] !== lastT) {
        lastT = t[i];
        a = this.sde.meanCoef(lastT);
        s = this.sde.std(lastT);
      }
      const row = i * D;
      // w = diag(1/(α²λ + σ²)) Qᵀ (x − αμ), then out = −Q w.
      for (let k = 0; k < D; k++) {
        let acc = 0;
        for (let d = 0; d < D; d++) acc += Q[d * D + k] * (x[row + d] - a * mean[d]);
        w[k] = acc / (a * a * lambda[k] + s * s);
      }
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let k = 0; k < D; k++) acc += Q[d * D + k] * w[k];
        out[row + d] = -acc;
      }
    }
  }

  /** Exact draws μ + Q diag(√λ) z, seeded (Stream.data), batch-invariant. */
  sample(n: number, seed: number): Float64Array {
    const { D, Q, lambda, mean } = this;
    const z = new Float64Array(n * D);
    new NoiseSource(seed).normal(z, D, 0, Stream.data);
    const x = new Float64Array(n * D);
    for (let i = 0; i < n; i++) {
      for (let d = 0; d < D; d++) {
        let acc = mean[d];
        for (let k = 0; k < D; k++) acc += Q[d * D + k] * sqrt(lambda[k]) * z[i * D + k];
        x[i * D + d] = acc;
      }
    }
    return x;
  }

  /**
   * The conditional of the unknown coordinates given the known ones (known[d] true) at `values`
   * (one per known coordinate, in order): mean μ_u + Σ_uk Σ_kk⁻¹ (y − μ_k), covariance
   * Σ_uu − Σ_uk Σ_kk⁻¹ Σ_ku, over the unknown coordinates in order.
   */
  conditional(known: readonly boolean[], values: readonly number[]): { mean: number[]; cov: number[][] } {
    const { D, mean } = this;
    if (known.length !== D) throw new ParameterError(`known has ${known.length} entries, expected ${D}`);
    const k = [...known.keys()].filter((d) => known[d]);
    const u = [...known.keys()].filter((d) => !known[d]);
    if (values.length !== k.length) throw new ParameterError(`values has ${values.length} entries, expected ${k.length} (one per known coordinate)`);
    const S = (rows: number[], cols: number[]) => new Matrix(rows.map((i) => cols.map((j) => this.cov[i * D + j])));
    const Skk = S(k, k);
    const Suk = S(u, k);
    const gain = solve(Skk, Suk.transpose()).transpose(); // Σ_uk Σ_kk⁻¹
    const dy = Matrix.columnVector(k.map((d, i) => values[i] - mean[d]));
    const m = gain.mmul(dy).to1DArray().map((v, i) => v + mean[u[i]]);
    const c = S(u, u).sub(gain.mmul(Suk.transpose()));
    return { mean: m, cov: c.to2DArray() };
  }
}
