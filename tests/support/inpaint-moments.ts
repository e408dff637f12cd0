/**
 * The exact output moments of inpainting with Euler–Maruyama on Gaussian data N(μ, Σ): every
 * piece is affine in the state plus independent Gaussian noise, so mean and covariance propagate
 * in closed form through the very grid the sampler takes:
 *   EM step        x' = A x + B s(x) + C z,  s(x) = −P (x − αμ),  P = (α²Σ + σ²I)⁻¹
 *                  → m' = (A − B P) m + B P α μ,  V' = M V Mᵀ + C² I   (M = A I − B P)
 *   replacement    known block ← α(t) y + σ(t) z: mean α y, covariance σ² I, no cross terms
 *   jump back      x ← r x + c z (r = α_s/α_t, c² = σ_s² − r² σ_t²): m ← r m, V ← r² V + c² I
 * This is the implementation check of tests/inpaint-gaussian.test.ts: samples must match these
 * moments within sampling error, whatever the method's own bias against the true conditional.
 */
import { Matrix, inverse } from 'ml-matrix';
import { SDE, eulerMaruyamaStep } from '../../index';

export interface InpaintScheme {
  sde: SDE;
  /** Decreasing grid T … eps. */
  grid: Float64Array;
  mean: number[];
  cov: number[][];
  known: boolean[];
  /** Values of the known coordinates, in order. */
  values: number[];
  /** Passes per block (1: plain replacement) and steps per block. */
  rounds?: number;
  jump?: number;
  /** false: the negative control without the replacement. */
  replace?: boolean;
}

/** Mean and covariance of the final state (all coordinates), x_T ~ N(0, priorStd² I). */
export function propagateInpainting(s: InpaintScheme): { mean: number[]; cov: number[][] } {
  const D = s.mean.length;
  const I = Matrix.eye(D);
  const Sigma = new Matrix(s.cov.map((r) => [...r]));
  const mu = Matrix.columnVector(s.mean);
  let m = Matrix.zeros(D, 1);
  let V = Matrix.eye(D).mul(s.sde.priorStd ** 2);
  const knownIdx = s.known.flatMap((k, d) => (k ? [d] : []));
  const step = (t: number, tNext: number) => {
    const a = s.sde.meanCoef(t);
    const sd = s.sde.std(t);
    const P = inverse(Sigma.clone().mul(a * a).add(I.clone().mul(sd * sd)));
    const { A, B, C } = eulerMaruyamaStep(s.sde, t, tNext);
    const M = I.clone().mul(A).sub(P.clone().mul(B));
    m = M.mmul(m).add(P.mmul(mu).mul(B * a));
    V = M.mmul(V).mmul(M.transpose()).add(I.clone().mul(C * C));
    if (s.replace !== false) replaceKnown(tNext);
  };
  const replaceKnown = (t: number) => {
    const a = s.sde.meanCoef(t);
    const sd = s.sde.std(t);
    knownIdx.forEach((d, i) => {
      m.set(d, 0, a * s.values[i]);
      for (let e = 0; e < D; e++) {
        V.set(d, e, 0);
        V.set(e, d, 0);
      }
      V.set(d, d, sd * sd);
    });
  };
  const N = s.grid.length - 1;
  const rounds = s.rounds ?? 1;
  const jump = s.jump ?? 1;
  for (let i = 0; i < N; i += jump) {
    const end = Math.min(i + jump, N);
    for (let r = 0; r < rounds; r++) {
      for (let k = i; k < end; k++) step(s.grid[k], s.grid[k + 1]);
      if (r + 1 < rounds) {
        const t = s.grid[end];
        const u = s.grid[i];
        const ratio = s.sde.meanCoef(u) / s.sde.meanCoef(t);
        const c2 = s.sde.std(u) ** 2 - ratio * ratio * s.sde.std(t) ** 2;
        m = m.mul(ratio);
        V = V.mul(ratio * ratio).add(I.clone().mul(c2));
      }
    }
  }
  return { mean: m.to1DArray(), cov: V.to2DArray() };
}

/** The entries of the unknown coordinates: their means and their covariance block. */
export function unknownBlock(known: boolean[], mean: number[], cov: number[][]): { mean: number[]; cov: number[][] } {
  const u = known.flatMap((k, d) => (k ? [] : [d]));
  return { mean: u.map((d) => mean[d]), cov: u.map((d) => u.map((e) => cov[d][e])) };
}
