import {
  computeMetrics,
  covarianceError,
  meanError,
  mmdRbf,
  pixelHistogramDistance,
  pixelStats,
  slicedWasserstein,
  wasserstein1d,
} from '../metrics';
import { GaussianMixture } from '../models/gaussian-mixture';
import { NoiseSource } from '../core/noise';

function normals(n: number, dim: number, seed: number, shift: number[] = [], scale = 1): Float64Array {
  const x = new Float64Array(n * dim);
  new NoiseSource(seed).normal(x, dim, 0, 3);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) x[i * dim + d] = scale * x[i * dim + d] + (shift[d] ?? 0);
  return x;
}

describe('1-D Wasserstein', () => {
  test('equal sizes: sorted pairs', () => {
    expect(wasserstein1d(Float64Array.from([3, 1, 2]), Float64Array.from([1.5, 2.5, 3.5]))).toBeCloseTo(0.5, 12);
    expect(wasserstein1d(Float64Array.from([0, 0]), Float64Array.from([0, 2]), 1)).toBeCloseTo(1, 12);
    expect(wasserstein1d(Float64Array.from([0, 0]), Float64Array.from([0, 2]), 2)).toBeCloseTo(Math.SQRT2, 12);
  });

  test('unequal sizes: exact quantile coupling, equal to replicating both to a common size', () => {
    const a = Float64Array.from([0.3, -1, 2]);
    const b = Float64Array.from([1, 0.5]);
    // Replicate a ×2 and b ×3 (6 atoms each): the empirical measures are unchanged.
    const a6 = Float64Array.from([...a, ...a]);
    const b6 = Float64Array.from([...b, ...b, ...b]);
    for (const p of [1, 2]) expect(wasserstein1d(a.slice(), b.slice(), p)).toBeCloseTo(wasserstein1d(a6, b6, p), 12);
    expect(wasserstein1d(Float64Array.from([5]), Float64Array.from([1, 2, 3]))).toBeCloseTo(Math.sqrt((16 + 9 + 4) / 3), 12);
  });
});

describe('sliced Wasserstein', () => {
  test('zero for identical sets; seeded (same seed, same value); symmetric', () => {
    const x = normals(300, 3, 1);
    expect(slicedWasserstein(x, x, 3)).toBe(0);
    const y = normals(200, 3, 2);
    expect(slicedWasserstein(x, y, 3, { seed: 5 })).toBe(slicedWasserstein(x, y, 3, { seed: 5 }));
    expect(slicedWasserstein(x, y, 3, { seed: 5 })).not.toBe(slicedWasserstein(x, y, 3, { seed: 6 }));
    expect(slicedWasserstein(x, y, 3)).toBeCloseTo(slicedWasserstein(y, x, 3), 12);
  });

  test('a shift by v gives SW₂ = ‖v‖ · sqrt(E(θ·e)²) = ‖v‖/√d (directions uniform on the sphere)', () => {
    const x = normals(500, 2, 3);
    const y = x.map((v, i) => (i % 2 === 0 ? v + 3 : v));
    // The shift is exact per projection (same points moved), so only the directions' average matters.
    expect(slicedWasserstein(x, y, 2, { projections: 2048 })).toBeCloseTo(3 / Math.SQRT2, 1);
  });

  test('tells a mixture from a Gaussian with its mean and covariance; close for two mixture samples', () => {
    const g = new GaussianMixture({ means: [[-3, 0], [3, 0]], stds: [0.5, 0.5] });
    const a = g.sample(4000, 1);
    const b = g.sample(4000, 2);
    const gauss = normals(4000, 2, 4, [0, 0], 1).map((v, i) => (i % 2 === 0 ? v * Math.sqrt(9.25) : v * 0.5));
    const same = slicedWasserstein(a, b, 2);
    const diff = slicedWasserstein(a, gauss, 2);
    // Two sets of 4 000 differ in their component counts by ~√2000 ≈ 45 (1.1% of the mass, sitting
    // 6 apart), which alone moves SW a lot: over 30 seed pairs 0.04–0.44 (median 0.17). The
    // unimodal Gaussian is far steadier: 0.95–1.01. Thresholds between the two ranges.
    expect(same).toBeLessThan(0.5);
    expect(diff).toBeGreaterThan(0.8);
  });
});

describe('MMD, moments, pixels', () => {
  test('unbiased MMD² ≈ 0 for equal distributions, clearly > 0 otherwise; median bandwidth', () => {
    const a = normals(400, 2, 1);
    const b = normals(400, 2, 2);
    const c = normals(400, 2, 3, [1, 0]);
    const same = mmdRbf(a, b, 2);
    const diff = mmdRbf(a, c, 2);
    expect(Math.abs(same.mmd2)).toBeLessThan(0.01);
    expect(diff.mmd2).toBeGreaterThan(0.05);
    // Median distance between two standard 2-D normals: √2·√(2 ln 2) ≈ 1.665 (pooled with a shifted set, a bit more).
    expect(same.bandwidth).toBeGreaterThan(1.4);
    expect(same.bandwidth).toBeLessThan(1.9);
    expect(mmdRbf(a, c, 2, { bandwidth: 1 }).bandwidth).toBe(1);
  });

  test('mean and covariance errors', () => {
    const a = normals(2000, 2, 1);
    const b = normals(2000, 2, 1, [3, 4]);
    expect(meanError(a, b, 2)).toBeCloseTo(5, 10);
    expect(covarianceError(a, b, 2)).toBeCloseTo(0, 10);
    const c = normals(2000, 2, 1, [0, 0], 2);
    // cov(c) = 4 cov(a): the difference is 3 cov(a) ≈ 3 I.
    expect(covarianceError(a, c, 2)).toBeGreaterThan(3 * Math.SQRT2 * 0.9);
    expect(covarianceError(a, c, 2)).toBeLessThan(3 * Math.SQRT2 * 1.1);
  });

  test('pixel statistics and histogram distance', () => {
    expect(pixelStats([1, 3])).toEqual({ mean: 2, std: 1 });
    const dark = new Float64Array(100).fill(-1);
    const light = new Float64Array(100).fill(0.9);
    expect(pixelHistogramDistance(dark, dark, [-1, 1])).toBe(0);
    expect(pixelHistogramDistance(dark, light, [-1, 1])).toBe(1);
    const half = Float64Array.from({ length: 100 }, (_, i) => (i < 50 ? -1 : 0.9));
    expect(pixelHistogramDistance(dark, half, [-1, 1])).toBeCloseTo(0.5, 12);
  });

  test('computeMetrics: vectors get sw, mmd2, meanError, covError; images add pixel metrics', () => {
    const a = normals(100, 2, 1);
    expect(Object.keys(computeMetrics(a, normals(100, 2, 2), [2])).sort()).toEqual(['covError', 'meanError', 'mmd2', 'sw']);
    const img = normals(20, 16, 1);
    const m = computeMetrics(img, normals(20, 16, 2), [1, 4, 4], { dataRange: [-3, 3] });
    expect(Object.keys(m).sort()).toEqual(['covError', 'meanError', 'mmd2', 'pixelHist', 'pixelMean', 'pixelStd', 'refPixelMean', 'refPixelStd', 'sw']);
    // Two independent draws of the same distribution: some histogram difference, but small.
    expect(m.pixelHist).toBeGreaterThan(0);
    expect(m.pixelHist).toBeLessThan(0.5);
  });
});
