/**
 * KID (metrics/kid.ts), class coverage (metrics/coverage.ts), the floor interpolation and the
 * replicate statistics of sweeps:
 *   - with one subset holding every row, KID is the textbook unbiased MMD² (a direct double loop
 *     here), and onnxruntime's GEMM gives the same kernel values as plain JavaScript;
 *   - two draws of one distribution: KID within its subset SD of 0; a shifted distribution (the
 *     negative control) lies many SDs above 0;
 *   - subsets are seeded: the same seed repeats, another differs.
 */
import { NoiseSource } from '../core/noise';
import { classCoverage, histogramTv, labelAccuracy, labelHistogram } from '../metrics/coverage';
import { floorAt } from '../metrics/feature-reference';
import { chooseDistinct, jsDotProducts, kernelInceptionDistance } from '../metrics/kid';
import { onnxDotProducts } from '../metrics/onnx-dots';
import { spread, t975 } from '../cli/replicates';

const { abs, exp } = Math;

function gaussian(n: number, d: number, seed: number, shift = 0): Float64Array {
  const x = new Float64Array(n * d);
  new NoiseSource(seed).normal(x, d, 0, 9);
  // ReLU-like features: non-negative, skewed, like a classifier's penultimate layer.
  for (let i = 0; i < x.length; i++) x[i] = Math.max(0, x[i] + 0.5 + shift);
  return x;
}

/** The unbiased MMD² with k(x, y) = (xᵀy/d + 1)³, straight from its definition. */
function directMmd2(a: Float64Array, b: Float64Array, d: number): number {
  const n = a.length / d;
  const m = b.length / d;
  const k = (x: Float64Array, i: number, y: Float64Array, j: number) => {
    let s = 0;
    for (let t = 0; t < d; t++) s += x[i * d + t] * y[j * d + t];
    return (s / d + 1) ** 3;
  };
  let xx = 0;
  let yy = 0;
  let xy = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) xx += k(a, i, a, j);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) if (i !== j) yy += k(b, i, b, j);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) xy += k(a, i, b, j);
  return xx / (n * (n - 1)) + yy / (m * (m - 1)) - (2 * xy) / (n * m);
}

describe('KID', () => {
  test('one subset of all rows is the unbiased MMD² of its definition, with JS or onnxruntime dot products', async () => {
    const d = 16;
    const a = gaussian(60, d, 1);
    const b = gaussian(60, d, 2, 0.3);
    const direct = directMmd2(a, b, d);
    for (const dots of [jsDotProducts, onnxDotProducts]) {
      const r = await kernelInceptionDistance(a, b, d, { subsets: 1, subsetSize: 60, dots });
      expect(abs(r.kid - direct)).toBeLessThan(1e-12 * abs(direct) + 1e-14);
    }
    // The two dot-product routes agree entry by entry.
    const js = await jsDotProducts(a, 60, b, 60, d);
    const ox = await onnxDotProducts(a, 60, b, 60, d);
    for (let i = 0; i < js.length; i++) expect(abs(js[i] - ox[i])).toBeLessThan(1e-12 * abs(js[i]) + 1e-14);
  });

  test('two draws of one distribution: within its SD of 0; a shifted one: many SDs above (negative control)', async () => {
    const d = 64;
    const a = gaussian(2000, d, 3);
    const same = gaussian(2000, d, 4);
    const other = gaussian(2000, d, 5, 0.1);
    const k0 = await kernelInceptionDistance(a, same, d, { dots: onnxDotProducts });
    const k1 = await kernelInceptionDistance(a, other, d, { dots: onnxDotProducts });
    expect(k0.subsetSize).toBe(1000);
    expect(k0.std).toBeGreaterThan(0);
    expect(abs(k0.kid)).toBeLessThan(k0.std);
    expect(k1.kid).toBeGreaterThan(5 * k1.std);
    expect(k1.kid).toBeGreaterThan(10 * abs(k0.kid));
  });

  test('seeded subsets: the same seed repeats exactly, another seed differs', async () => {
    const d = 8;
    const a = gaussian(300, d, 6);
    const b = gaussian(300, d, 7);
    const opts = { subsets: 20, subsetSize: 100 };
    const r1 = await kernelInceptionDistance(a, b, d, { ...opts, seed: 1 });
    const r2 = await kernelInceptionDistance(a, b, d, { ...opts, seed: 1 });
    const r3 = await kernelInceptionDistance(a, b, d, { ...opts, seed: 2 });
    expect(r2.kid).toBe(r1.kid);
    expect(r3.kid).not.toBe(r1.kid);
  });

  test('choose: k distinct indices in range, deterministic', () => {
    const c = chooseDistinct(50, 20, new NoiseSource(3), 1, 0x60);
    expect(new Set(c).size).toBe(20);
    expect([...c].every((i) => i >= 0 && i < 50)).toBe(true);
    expect([...chooseDistinct(50, 20, new NoiseSource(3), 1, 0x60)]).toEqual([...c]);
    const all = [...chooseDistinct(50, 99, new NoiseSource(3), 1, 0x60)];
    expect([...all].sort((x, y) => x - y)).toEqual([...Array(50).keys()]); // k ≥ n: a permutation…
    expect(all).not.toEqual([...Array(50).keys()]); // …a shuffled one
  });
});

describe('class coverage', () => {
  test('histogram, confidence (max softmax) and TV on hand-computed logits', () => {
    // 3 rows, 3 classes: predictions 0, 2, 2.
    const logits = [2, 0, 0, 0, 0, 1, -1, 3, 3.5];
    const c = classCoverage(logits, 3);
    expect(c.histogram).toEqual([1 / 3, 0, 2 / 3]);
    const conf = (l: number[], best: number) => exp(l[best]) / l.reduce((s, v) => s + exp(v), 0);
    const expected = (conf([2, 0, 0], 0) + conf([0, 0, 1], 2) + conf([-1, 3, 3.5], 2)) / 3;
    expect(abs(c.confidence - expected)).toBeLessThan(1e-15);
    expect(histogramTv(c.histogram, c.histogram)).toBe(0);
    expect(histogramTv([1, 0], [0, 1])).toBe(1);
    expect(histogramTv(c.histogram, labelHistogram([0, 1, 2], 3))).toBeCloseTo(1 / 3, 15);
  });

  test('label accuracy: predicted class against the requested labels, cycled', () => {
    const logits = [2, 0, 0, 0, 0, 1, -1, 3, 3.5]; // predictions 0, 2, 2
    expect(labelAccuracy(logits, 3, [0, 2, 2])).toBe(1);
    expect(labelAccuracy(logits, 3, [0, 2])).toBe(2 / 3); // labels 0, 2, 0
    // Control: labels shifted by one class never match.
    expect(labelAccuracy(logits, 3, [1, 0, 0])).toBe(0);
  });
});

describe('floors at any n', () => {
  const row = (n: number, fd: number) => ({ n, draws: 5, fd: { mean: fd, sd: 0.1 * fd }, kid: { mean: 0, sd: 1 / n }, classTV: { mean: 1 / n, sd: 0 }, confidence: { mean: 0.9, sd: 0 } });
  // FD floors of the form a + b/n: interpolation in 1/n is exact between and beyond the rows.
  const f = (n: number) => 2 + 300 / n;
  const rows = [100, 500, 1000, 5000].map((n) => row(n, f(n)));

  test('exact at ladder points, linear in 1/n between and beyond', () => {
    expect(floorAt(rows, 'fd', 1000)).toMatchObject({ mean: f(1000), exact: true, extrapolated: false });
    for (const n of [150, 700, 2000]) {
      const r = floorAt(rows, 'fd', n);
      expect(abs(r.mean - f(n))).toBeLessThan(1e-12);
      expect(r.exact).toBe(false);
      expect(r.extrapolated).toBe(false);
    }
    for (const n of [50, 20000]) {
      const r = floorAt(rows, 'fd', n);
      expect(abs(r.mean - f(n))).toBeLessThan(1e-12);
      expect(r.extrapolated).toBe(true);
    }
  });
});

describe('replicate statistics', () => {
  test("Student's t quantiles and the 95% CI half-width", () => {
    expect(t975(1)).toBe(12.706);
    expect(t975(4)).toBe(2.776);
    expect(abs(t975(60) - 2.0003)).toBeLessThan(1e-3); // tables: 2.000
    expect(abs(t975(120) - 1.9799)).toBeLessThan(1e-3); // tables: 1.980
    const s = spread([1, 2, 3, 4, 5]);
    expect(s.mean).toBe(3);
    expect(abs(s.sd - Math.sqrt(2.5))).toBeLessThan(1e-15);
    expect(abs(s.ci95 - (2.776 * Math.sqrt(2.5)) / Math.sqrt(5))).toBeLessThan(1e-12);
    expect(spread([7]).ci95).toBeNaN();
  });
});
