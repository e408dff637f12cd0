/**
 * The virtual Brownian tree (core/brownian.ts): its law (W(t) ~ N(0, t), independent increments
 * of variance equal to their length, also for several queries inside one leaf), that it is a
 * fixed function of time (two query sequences share W wherever a query is alone in its leaf),
 * and bitwise batch invariance. Statistics over 20 000 independent paths (one per element):
 * variance estimates have relative SE √(2/n) = 1%; thresholds are 5 SE.
 */
import { NoiseSource } from '../core/noise';
import { BROWNIAN_DEPTH, BrownianPath } from '../core/brownian';

const { abs, sqrt } = Math;
const PATHS = 20_000;
const SE = sqrt(2 / PATHS);

function path(seed = 1, depth = BROWNIAN_DEPTH, first = 0, rows = PATHS): BrownianPath {
  return new NoiseSource(seed, first).brownian(rows, 1, 1, depth);
}

function at(p: BrownianPath, t: number, len = PATHS): Float64Array {
  const out = new Float64Array(len);
  p.valueAt(t, out);
  return out;
}

/** Mean square of a − b (or of a), per element. */
function meanSquare(a: Float64Array, b?: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - (b ? b[i] : 0)) ** 2;
  return s / a.length;
}

function covariance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s / a.length;
}

describe('law', () => {
  test('W(0) = 0 and W(t) ~ N(0, t) along a decreasing grid; increments have variance = length and are uncorrelated', () => {
    const p = path(3);
    const times = [1, 0.9, 0.61, 0.6, 0.3141, 0.1, 0.02, 1e-3];
    const w = times.map((t) => at(p, t));
    w.forEach((v, i) => expect(abs(meanSquare(v) / times[i] - 1)).toBeLessThan(5 * SE));
    for (let i = 0; i + 1 < times.length; i++) {
      const h = times[i] - times[i + 1];
      const inc = w[i].map((v, j) => v - w[i + 1][j]);
      expect(abs(meanSquare(inc) / h - 1)).toBeLessThan(5 * SE);
      if (i + 2 < times.length) {
        const next = w[i + 1].map((v, j) => v - w[i + 2][j]);
        const h2 = times[i + 1] - times[i + 2];
        // Correlation of disjoint increments: SE 1/√n.
        expect(abs(covariance(inc, next) / sqrt(h * h2))).toBeLessThan(5 / sqrt(PATHS));
      }
    }
    expect(meanSquare(at(p, 0))).toBe(0);
  });

  test('several queries inside one leaf, in any order, keep the Brownian covariance', () => {
    // Depth 3: leaves 1/8 wide; five points in the leaf [0.5, 0.625], asked out of order.
    const p = path(5, 3);
    const times = [0.6, 0.51, 0.62, 0.55, 0.5999];
    const w = new Map(times.map((t) => [t, at(p, t)]));
    const sorted = [...times].sort((a, b) => a - b);
    for (let i = 0; i + 1 < sorted.length; i++) {
      const h = sorted[i + 1] - sorted[i];
      const inc = w.get(sorted[i + 1])!.map((v, j) => v - w.get(sorted[i])![j]);
      expect(abs(meanSquare(inc) / h - 1)).toBeLessThan(5 * SE);
    }
    // Asking again returns the same values.
    expect(at(p, 0.55)).toEqual(w.get(0.55));
  });

  test('negative control: drawing each in-leaf point from the leaf ends alone gives the wrong increment variance', () => {
    // What a tree without sequential bridging would do: W(0.55) and W(0.56) each bridged
    // between W(0.5) and W(0.625) independently (here: from two fresh copies of the path, each
    // seeing one query). Var of the difference ≈ 0.0225 + … instead of 0.01: far outside 5 SE.
    const a = at(path(5, 3), 0.55);
    const b = at(path(5, 3), 0.56);
    const inc = b.map((v, j) => v - a[j]);
    expect(abs(meanSquare(inc) / 0.01 - 1)).toBeGreaterThan(5 * SE);
  });
});

describe('addressed by time', () => {
  test('two grids share W exactly where both query points are alone in their leaves (nested grids: bitwise)', () => {
    const coarse = path(9, BROWNIAN_DEPTH, 0, 64);
    const fine = path(9, BROWNIAN_DEPTH, 0, 64);
    const grid = (N: number) => Array.from({ length: N + 1 }, (_, i) => 1 + (1e-3 - 1) * (i / N));
    const vc = grid(16).map((t) => at(coarse, t, 64));
    const vf = grid(256).map((t) => at(fine, t, 64));
    vc.forEach((v, i) => expect(v).toEqual(vf[16 * i]));
  });

  test('a different query history changes the values inside a leaf only by the bridge spread', () => {
    // Depth 4: leaves 1/16 wide. One path sees only t = 0.3; the other also 0.301 first
    // (same leaf), so W(0.3) is bridged from W(0.301) instead: the paths still agree at the
    // tree's nodes, and at t differ by less than two bridge spreads ½√(1/16) in RMS.
    const alone = path(2, 4);
    const crowded = path(2, 4);
    at(crowded, 0.301);
    const a = at(alone, 0.3);
    const b = at(crowded, 0.3);
    const rms = sqrt(meanSquare(a, b));
    expect(rms).toBeGreaterThan(0);
    expect(rms).toBeLessThan(2 * 0.5 * sqrt(1 / 16));
    expect(at(alone, 0.25)).toEqual(at(crowded, 0.25)); // a node: shared exactly
  });

  test('batch invariance: element i has the same path whatever its chunk (bitwise)', () => {
    const times = [1, 0.7, 0.33, 0.05, 0.001];
    const whole = path(4, BROWNIAN_DEPTH, 0, 37);
    const ref = times.map((t) => at(whole, t, 37));
    for (const [first, rows] of [[0, 1], [5, 7], [13, 24]]) {
      const part = path(4, BROWNIAN_DEPTH, first, rows);
      times.forEach((t, k) => expect(at(part, t, rows)).toEqual(ref[k].subarray(first, first + rows)));
    }
  });

  test('out-of-range times and bad depths are refused', () => {
    const p = path(1, 4, 0, 2);
    expect(() => p.valueAt(1.5, new Float64Array(2))).toThrow(/outside \[0, 1\]/);
    expect(() => p.valueAt(-0.1, new Float64Array(2))).toThrow(/outside/);
    expect(() => new NoiseSource(1).brownian(2, 1, 1, 31)).toThrow(/depth/);
  });
});
