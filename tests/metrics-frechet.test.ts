/**
 * The Fréchet distance (metrics/frechet.ts) against closed forms:
 *   - commuting (diagonal) covariances: FD = ‖Δμ‖² + Σ (√aᵢ − √bᵢ)²;
 *   - non-commuting 2 × 2 blocks: Tr((Σ₁^½ Σ₂ Σ₁^½)^½) = √(Tr(Σ₁Σ₂) + 2√(det Σ₁ det Σ₂)) (the
 *     square root of a 2 × 2 PSD matrix M is (M + √det M·I)/√(Tr M + 2√det M)); 128 random block
 *     pairs, then both covariances rotated by one random orthogonal matrix (FD is invariant), so the
 *     256-d computation meets matrices that commute in no basis it could exploit.
 * Negative control: the formula with (Σ₁Σ₂)^½ replaced by Σ₁^½Σ₂^½, right only for commuting
 * covariances, misses the non-commuting closed form by far more than the tolerance.
 * Plus the matrix square root against known answers, PSD clipping, FD(x, x) = 0 and symmetry.
 */
import { NoiseSource } from '../core/noise';
import { frechetDistance, gaussianStats, sqrtPsd, symmetricEigen } from '../metrics/frechet';

const { sqrt, abs, max } = Math;

function normals(n: number, seed: number, stream = 7): Float64Array {
  const out = new Float64Array(n);
  new NoiseSource(seed).normal(out, 1, 0, stream);
  return out;
}

/** A random d × d orthogonal matrix: Gram–Schmidt on Gaussian columns (row-major). */
function randomOrthogonal(d: number, seed: number): Float64Array {
  const g = normals(d * d, seed);
  const q = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    const v = new Float64Array(d);
    for (let i = 0; i < d; i++) v[i] = g[i * d + j];
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += v[i] * q[i * d + k];
      for (let i = 0; i < d; i++) v[i] -= dot * q[i * d + k];
    }
    let norm = 0;
    for (let i = 0; i < d; i++) norm += v[i] * v[i];
    norm = sqrt(norm);
    for (let i = 0; i < d; i++) q[i * d + j] = v[i] / norm;
  }
  return q;
}

function matmul(a: ArrayLike<number>, b: ArrayLike<number>, d: number, transposeB = false): Float64Array {
  const c = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) for (let j = 0; j < d; j++) c[i * d + j] += a[i * d + k] * (transposeB ? b[j * d + k] : b[k * d + j]);
  return c;
}

/** Q A Qᵀ. */
function rotate(a: Float64Array, q: Float64Array, d: number): Float64Array {
  return matmul(matmul(q, a, d), q, d, true);
}

function trace(a: ArrayLike<number>, d: number): number {
  let t = 0;
  for (let i = 0; i < d; i++) t += a[i * d + i];
  return t;
}

/** A random 2 × 2 SPD matrix [a b; b c]. */
function spd2(g: Float64Array, k: number): [number, number, number] {
  const l11 = 0.3 + abs(g[k]);
  const l21 = g[k + 1];
  const l22 = 0.3 + abs(g[k + 2]);
  return [l11 * l11, l11 * l21, l21 * l21 + l22 * l22]; // L Lᵀ
}

/** 128 non-commuting block pairs in 256-d, their closed-form FD, and the commuting-assumption (wrong) value. */
function blockCase(seed: number) {
  const d = 256;
  const g = normals(6 * (d / 2) + 2 * d, seed, 11);
  const cov1 = new Float64Array(d * d);
  const cov2 = new Float64Array(d * d);
  let closedTrace = 0;
  for (let b = 0; b < d / 2; b++) {
    const [a1, b1, c1] = spd2(g, 6 * b);
    const [a2, b2, c2] = spd2(g, 6 * b + 3);
    const i = 2 * b;
    cov1.set([a1, b1], i * d + i);
    cov1.set([b1, c1], (i + 1) * d + i);
    cov2.set([a2, b2], i * d + i);
    cov2.set([b2, c2], (i + 1) * d + i);
    const trProd = a1 * a2 + 2 * b1 * b2 + c1 * c2;
    const dets = (a1 * c1 - b1 * b1) * (a2 * c2 - b2 * b2);
    closedTrace += a1 + c1 + a2 + c2 - 2 * sqrt(trProd + 2 * sqrt(dets));
  }
  const mu1 = g.slice(3 * d, 4 * d);
  const mu2 = g.slice(4 * d, 5 * d);
  let meanTerm = 0;
  for (let i = 0; i < d; i++) meanTerm += (mu1[i] - mu2[i]) ** 2;
  return { d, cov1, cov2, mu1, mu2, closed: meanTerm + closedTrace };
}

describe('Fréchet distance', () => {
  test('commuting (diagonal) covariances: ‖Δμ‖² + Σ(√a − √b)²', () => {
    const d = 16;
    const g = normals(4 * d, 1);
    const a = { mean: g.slice(0, d), cov: new Float64Array(d * d) };
    const b = { mean: g.slice(d, 2 * d), cov: new Float64Array(d * d) };
    let closed = 0;
    for (let i = 0; i < d; i++) {
      const va = 0.1 + g[2 * d + i] ** 2;
      const vb = 0.1 + g[3 * d + i] ** 2;
      a.cov[i * d + i] = va;
      b.cov[i * d + i] = vb;
      closed += (a.mean[i] - b.mean[i]) ** 2 + (sqrt(va) - sqrt(vb)) ** 2;
    }
    expect(abs(frechetDistance(a, b).fd - closed)).toBeLessThan(1e-10 * closed);
  });

  test('non-commuting covariances in 256-d, jointly rotated: the 2 × 2 closed form; the commuting shortcut fails (negative control)', () => {
    const { d, cov1, cov2, mu1, mu2, closed } = blockCase(2);
    const q = randomOrthogonal(d, 3);
    const r1 = rotate(cov1, q, d);
    const r2 = rotate(cov2, q, d);
    const qm = (m: Float64Array) => Float64Array.from({ length: d }, (_, i) => m.reduce((s, v, k) => s + q[i * d + k] * v, 0));
    const fd = frechetDistance({ mean: qm(mu1), cov: r1 }, { mean: qm(mu2), cov: r2 });
    const tol = 1e-8 * closed;
    expect(abs(fd.fd - closed)).toBeLessThan(tol);
    // Symmetric in its arguments, though the computation is not.
    expect(abs(frechetDistance({ mean: qm(mu2), cov: r2 }, { mean: qm(mu1), cov: r1 }).fd - closed)).toBeLessThan(tol);

    // Negative control: Tr(Σ₁ + Σ₂ − 2 Σ₁^½ Σ₂^½), right only when Σ₁Σ₂ = Σ₂Σ₁.
    const wrong = fd.meanTerm + trace(r1, d) + trace(r2, d) - 2 * trace(matmul(sqrtPsd(r1, d), sqrtPsd(r2, d), d), d);
    expect(abs(wrong - closed)).toBeGreaterThan(1000 * tol);
  });

  test('FD(x, x) = 0 and a pure mean shift δ gives ‖δ‖²', () => {
    const d = 32;
    const n = 500;
    const x = normals(n * d, 4);
    for (let i = 0; i < x.length; i++) x[i] = x[i] * (1 + (i % d) / 8) + (i % 3);
    const s = gaussianStats(x, d);
    const self = frechetDistance(s, s);
    expect(abs(self.fd)).toBeLessThan(1e-10 * trace(s.cov, d));
    const shifted = { mean: s.mean.map((m, i) => m + (i === 5 ? 0.25 : 0)), cov: s.cov };
    const fd = frechetDistance(s, shifted);
    expect(abs(fd.fd - 0.0625)).toBeLessThan(1e-9);
    // Negative control: a covariance scaled by 1.1 is seen (Tr term = (1 − √1.1)² Tr Σ).
    const scaled = { mean: s.mean, cov: s.cov.map((v) => 1.1 * v) };
    const expected = (1 - sqrt(1.1)) ** 2 * trace(s.cov, d);
    expect(abs(frechetDistance(s, scaled).fd - expected)).toBeLessThan(1e-8 * expected);
  });

  test('a rank-deficient covariance (n < dim rows): tiny negative eigenvalues are clipped, FD stays finite and ≥ 0', () => {
    const d = 64;
    const few = gaussianStats(normals(20 * d, 5), d); // rank ≤ 19
    const many = gaussianStats(normals(2000 * d, 6), d);
    const fd = frechetDistance(few, many);
    expect(Number.isFinite(fd.fd)).toBe(true);
    expect(fd.fd).toBeGreaterThan(0);
    expect(fd.clipped).toBeLessThan(1e-8);
  });
});

describe('matrix square root of a symmetric PSD matrix', () => {
  test('[[5, 4], [4, 5]]^½ = [[2, 1], [1, 2]]', () => {
    const r = sqrtPsd([5, 4, 4, 5], 2);
    [2, 1, 1, 2].forEach((v, i) => expect(abs(r[i] - v)).toBeLessThan(1e-14));
  });

  test('Q diag(λ) Qᵀ in 128-d: the root is Q diag(√λ) Qᵀ, and squares back', () => {
    const d = 128;
    const q = randomOrthogonal(d, 8);
    const lambda = Float64Array.from({ length: d }, (_, i) => (i < 10 ? 0 : 0.01 * (i + 1) ** 1.5)); // singular too
    const build = (f: (l: number) => number) => {
      const diag = new Float64Array(d * d);
      for (let i = 0; i < d; i++) diag[i * d + i] = f(lambda[i]);
      return rotate(diag, q, d);
    };
    const a = build((l) => l);
    const known = build(sqrt);
    const root = sqrtPsd(a, d);
    let err = 0;
    let scale = 0;
    for (let i = 0; i < d * d; i++) {
      err = max(err, abs(root[i] - known[i]));
      scale = max(scale, abs(known[i]));
    }
    expect(err).toBeLessThan(1e-7 * scale); // the zero eigenvalues' roots are √(rounding) ~ 1e-8·scale
    const back = matmul(root, root, d);
    let err2 = 0;
    for (let i = 0; i < d * d; i++) err2 = max(err2, abs(back[i] - a[i]));
    expect(err2).toBeLessThan(1e-10 * max(...lambda));
  });

  test('a matrix with a clearly negative eigenvalue is rejected; a rounding-level one is clipped (negative control)', () => {
    // eigenvalues 3 and −1
    expect(() => sqrtPsd([1, 2, 2, 1], 2)).toThrow(/not positive semi-definite/);
    // eigenvalues 1 and −1e-14: rounding, clipped to 0; what is left is the projection ½[[1, 1], [1, 1]], its own root
    const e = 1e-14;
    const r = sqrtPsd([(1 - e) / 2, (1 + e) / 2, (1 + e) / 2, (1 - e) / 2], 2);
    for (let i = 0; i < 4; i++) expect(abs(r[i] - 0.5)).toBeLessThan(1e-7);
    expect(symmetricEigen([2, 0, 0, 3], 2).values.slice().sort()).toEqual(Float64Array.from([2, 3]));
  });
});
