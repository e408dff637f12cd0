/**
 * The ziggurat normal transform (core/normal.ts) fed by Philox: its tables, its distribution at
 * large n (moments, Anderson–Darling, tail mass), and deliberately broken variants that the same
 * thresholds reject. Every test is deterministic (fixed seeds); thresholds are stated as
 * multiples of the sampling error, or as the statistic's 0.1% critical value.
 */
import { NoiseSource, Stream } from '../core/noise';
import { ZIGGURAT_F, ZIGGURAT_R, ZIGGURAT_V, ZIGGURAT_X } from '../core/normal';
import { normalCdf } from './support/stats';

const { abs, exp, log, sqrt } = Math;

function draws(n: number, seed = 1, step = 0, stream: number = Stream.predictor): Float64Array {
  const x = new Float64Array(n);
  new NoiseSource(seed).normal(x, 1, step, stream);
  return x;
}

/** Anderson–Darling A² against N(0, 1) (fully specified: case 0). */
function andersonDarling(x: Float64Array): number {
  const s = Float64Array.from(x).sort();
  const n = s.length;
  let sum = 0;
  // ln(1 − Φ(x)) as ln Φ(−x): no cancellation in the upper tail.
  for (let i = 0; i < n; i++) sum += (2 * i + 1) * (log(normalCdf(s[i])) + log(normalCdf(-s[n - 1 - i])));
  return -n - sum / n;
}
/** Asymptotic 0.1% point of A² for a fully specified distribution (Marsaglia & Marsaglia 2004). */
const AD_CRITICAL = 5.97;

interface MomentReport {
  z: number[];
}
/** z-scores of the first four sample moments against N(0, 1): mean, variance, m3, m4 − 3. */
function momentZ(x: Float64Array): MomentReport {
  const n = x.length;
  let m1 = 0;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const v2 = v * v;
    m1 += v;
    m2 += v2;
    m3 += v2 * v;
    m4 += v2 * v2;
  }
  // Standard errors under N(0, 1): Var(z) = 1, Var(z²) = 2, Var(z³) = 15, Var(z⁴) = 96.
  return { z: [m1 / n / sqrt(1 / n), (m2 / n - 1) / sqrt(2 / n), m3 / n / sqrt(15 / n), (m4 / n - 3) / sqrt(96 / n)] };
}

/** Count beyond |x| > c against n·P(|Z| > c), as a Poisson z-score. */
function tailZ(x: Float64Array, c: number): { count: number; expected: number; z: number } {
  let count = 0;
  for (let i = 0; i < x.length; i++) if (abs(x[i]) > c) count++;
  const expected = x.length * 2 * normalCdf(-c);
  return { count, expected, z: (count - expected) / sqrt(expected) };
}

describe('ziggurat tables', () => {
  test('256 layers of equal area V that close at the top, decreasing edges', () => {
    expect(ZIGGURAT_X[1]).toBe(ZIGGURAT_R);
    expect(ZIGGURAT_X[256]).toBe(0);
    for (let k = 1; k < 256; k++) {
      expect(ZIGGURAT_X[k + 1]).toBeLessThan(ZIGGURAT_X[k]);
      // Layer k is [0, X_k] × [f(X_k), f(X_{k+1})]: area X_k·(F_{k+1} − F_k) = V.
      expect(abs((ZIGGURAT_X[k] * (ZIGGURAT_F[k + 1] - ZIGGURAT_F[k])) / ZIGGURAT_V - 1)).toBeLessThan(1e-8);
    }
    // The base layer: rectangle R·f(R) plus the tail ∫_R^∞ f = √(π/2)·erfc(R/√2), area V.
    const tail = sqrt(2 * Math.PI) * normalCdf(-ZIGGURAT_R);
    expect(abs((ZIGGURAT_R * exp(-0.5 * ZIGGURAT_R ** 2) + tail) / ZIGGURAT_V - 1)).toBeLessThan(1e-6);
  });
});

// n = 1e7 (the moment SEs are 3e-4 for the mean, 4.5e-4 for the variance): the large-n tests
// share these draws.
const N_BIG = 10_000_000;
const big = draws(N_BIG, 7);

describe('distribution of the draws', () => {
  test('first four moments within 6 standard errors', () => {
    const { z } = momentZ(big);
    console.log(`moment z-scores (mean, var, m3, m4−3): ${z.map((v) => v.toFixed(2)).join(' ')}`);
    for (const v of z) expect(abs(v)).toBeLessThan(6);
  });

  test('Anderson–Darling below the 0.1% point: n = 1e7, and n = 1e6 at other streams and addresses', () => {
    const cases: [Float64Array, string][] = [
      [big, 'n = 1e7, seed 7'],
      [draws(1_000_000, 3, 0, Stream.prior), 'n = 1e6, seed 3, prior'],
      [draws(1_000_000, 2 ** 40 + 5, 999, Stream.corrector), 'n = 1e6, seed 2^40 + 5, step 999, corrector'],
    ];
    for (const [x, label] of cases) {
      const a2 = andersonDarling(x);
      console.log(`A² = ${a2.toFixed(3)} (${label})`);
      expect(a2).toBeLessThan(AD_CRITICAL);
    }
  });

  test('tail mass beyond R (the tail algorithm) and beyond 4σ at n = 1e7: within 6 Poisson SE', () => {
    for (const c of [ZIGGURAT_R, 4]) {
      const t = tailZ(big, c);
      console.log(`|x| > ${c.toFixed(3)}: ${t.count} (expected ${t.expected.toFixed(1)}), z = ${t.z.toFixed(2)}`);
      expect(abs(t.z)).toBeLessThan(6);
    }
  });
});

describe('negative controls: broken generators fail the same thresholds', () => {
  const n = N_BIG;
  const good = big;

  test('σ × 1.01: the variance moment fails', () => {
    const { z } = momentZ(big.map((v) => 1.01 * v));
    expect(abs(z[1])).toBeGreaterThan(6);
  });

  test('a ziggurat without the wedge test (every point of a layer accepted) fails Anderson–Darling at n = 1e7', () => {
    // Layer, position and sign accepted without the f(x) test: the density becomes a stack of
    // rectangles, 0.66% of the mass misplaced (too little for A² at n = 1e6: measured 2.7).
    // One uniform per draw: its integer part ×256 picks the layer, the rest is the position;
    // the sign (and the base layer, tail included) comes from the good draws.
    const u = new Float64Array(n);
    new NoiseSource(12).uniform(u, 0, Stream.data);
    const broken = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const k = Math.floor(u[i] * 256);
      const mag = k === 0 ? abs(good[i]) : (u[i] * 256 - k) * ZIGGURAT_X[k];
      broken[i] = good[i] < 0 ? -mag : mag;
    }
    const a2 = andersonDarling(broken);
    console.log(`no-wedge-test ziggurat: A² = ${a2.toFixed(1)}`);
    expect(a2).toBeGreaterThan(AD_CRITICAL);
  });

  test('tails clipped at R (a missing tail algorithm) fail the tail mass', () => {
    const clipped = good.map((v) => Math.max(-ZIGGURAT_R, Math.min(ZIGGURAT_R, v)));
    expect(abs(tailZ(clipped, 4).z)).toBeGreaterThan(6);
    expect(abs(tailZ(clipped.map((v) => v * 0.999), ZIGGURAT_R).z)).toBeGreaterThan(6);
  });
});

describe('addressing', () => {
  test('every draw depends only on its own element: slow-path draws survive any chunking', () => {
    // Elements whose draw takes the fallback words (wedge/tail) are keyed by their own index:
    // split the range at every offset around a few of them and compare.
    const whole = draws(4096, 21);
    const slow: number[] = [];
    for (let i = 0; i < whole.length && slow.length < 6; i++) if (abs(whole[i]) > 2.5) slow.push(i);
    for (const e of slow) {
      for (const start of [e - 3, e - 1, e, e + 1].filter((s) => s >= 0)) {
        const part = new Float64Array(8);
        new NoiseSource(21).normal(part, 1, 0, Stream.predictor, start);
        expect(part).toEqual(whole.subarray(start, start + 8));
      }
    }
  });

  test('time addresses: the same t gives the same draws; aux and stream separate them', () => {
    const at = (t: number, aux = 0, stream: number = Stream.corrector) => {
      const x = new Float64Array(64);
      new NoiseSource(4).normalAt(x, 2, t, stream, aux);
      return x;
    };
    expect(at(0.37)).toEqual(at(0.37));
    for (const other of [at(0.37 + 1e-16), at(0.37, 1), at(0.37, 0, Stream.atTime)]) expect(other).not.toEqual(at(0.37));
    expect(() => at(0.5, 256)).toThrow(/aux/);
    expect(() => at(0.5, 0, 200)).toThrow(/stream/);
  });
});
