/**
 * What exponential integrators need from an SDE (issue 9): λ(t) = log(α(t)/σ(t)) and its inverse
 * t(λ), to full float64 precision across [eps, T], for every SDE and schedule here; dλ/dt; EDM's
 * σ/α and its inverse; and the numeric inverse a new SDE kind can fall back on.
 */
import {
  SDE,
  SubVPSDE,
  VESDE,
  VPSDE,
  dLambdaDt,
  edmSigma,
  invertDecreasing,
  numericTimeForLambda,
  timeForEdmSigma,
} from '../sdes';

const { abs, exp, log, max, pow } = Math;
const EPS = Number.EPSILON;

const SDES: [string, SDE][] = [
  ['VE', new VESDE()],
  ['VE σ 0.05..20, T=2', new VESDE({ sigmaMin: 0.05, sigmaMax: 20, T: 2 })],
  ['VP linear', new VPSDE()],
  ['VP linear β 0.5..5', new VPSDE({ betaMin: 0.5, betaMax: 5 })],
  ['VP cosine', new VPSDE({ schedule: 'cosine' })],
  ['VP cosine s=0.02 ᾱmin=1e-3 T=2', new VPSDE({ schedule: 'cosine', cosineS: 0.02, alphaBarMin: 1e-3, T: 2 })],
  ['sub-VP linear', new SubVPSDE()],
  ['sub-VP cosine', new SubVPSDE({ schedule: 'cosine' })],
];

/** 401 log-spaced times from `from` to exactly T. */
function times(sde: SDE, from: number): number[] {
  return Array.from({ length: 401 }, (_, i) => (i === 400 ? sde.T : from * pow(sde.T / from, i / 400)));
}

/** dλ/dt by the five-point central difference. */
function fivePoint(sde: SDE, t: number, h = 1e-4 * t): number {
  const l = (u: number) => sde.lambda(u);
  return (l(t - 2 * h) - 8 * l(t - h) + 8 * l(t + h) - l(t + 2 * h)) / (12 * h);
}

/**
 * The round-trip tolerance: 1e-12 relative, or what rounding λ itself to 4 ulp forces on t,
 * 4ε·|λ|/|dλ/dt|. The second only matters for VE near t = 0, where λ = −log σ_min − c·t is a
 * large constant plus a small t-dependent part (condition |λ/(t λ')| ≈ 5e4 at t = 1e-5).
 */
function tolerance(sde: SDE, t: number): number {
  return max(1e-12 * t, (4 * EPS * abs(sde.lambda(t))) / abs(dLambdaDt(sde, t)));
}

describe.each(SDES)('%s', (_name, sde) => {
  const grid = [...times(sde, 1e-5), ...times(sde, sde.defaultEps)];

  test('λ(t) = log(α/σ) where the naive quotient is accurate (t ≥ 0.05·T), λ(0) = +∞', () => {
    for (const t of times(sde, 0.05 * sde.T)) {
      const naive = log(sde.meanCoef(t) / sde.std(t));
      expect(abs(sde.lambda(t) - naive)).toBeLessThanOrEqual(1e-13 * max(1, abs(naive)));
    }
    if (sde.kind !== 've') {
      expect(sde.lambda(0)).toBe(Infinity);
      expect(sde.timeForLambda(Infinity)).toBe(0);
    }
  });

  test('t → λ → t round trips to 1e-12 relative over [1e-5, T] and [eps, T], ends included', () => {
    let worst = 0;
    for (const t of grid) {
      const back = sde.timeForLambda(sde.lambda(t));
      expect(abs(back - t)).toBeLessThanOrEqual(tolerance(sde, t));
      worst = max(worst, abs(back - t) / t);
    }
    for (const t of [sde.defaultEps, sde.T]) expect(abs(sde.timeForLambda(sde.lambda(t)) - t)).toBeLessThanOrEqual(tolerance(sde, t));
    if (sde.kind !== 've') expect(worst).toBeLessThan(1e-14); // measured ≤ 1.6e-15 for the VP family
  });

  test('λ is strictly decreasing', () => {
    const ts = times(sde, 1e-5);
    for (let i = 1; i < ts.length; i++) expect(sde.lambda(ts[i])).toBeLessThan(sde.lambda(ts[i - 1]));
  });

  test('dλ/dt = −g²/(2σ²) matches finite differences of λ to 1e-7', () => {
    // Five-point stencil with h = 1e-4·t: truncation O(h⁴) is < 1e-12 relative except where the
    // truncated cosine schedule nears its pole (0.006 past T by default): 2.6e-8 at t = 0.999;
    // rounding ≈ |λ|·ε/(h|λ'|) ≈ 1e-11.
    for (const t of times(sde, 1e-4).slice(0, -1)) {
      expect(abs(dLambdaDt(sde, t) - fivePoint(sde, t))).toBeLessThanOrEqual(1e-7 * abs(dLambdaDt(sde, t)));
    }
  });

  test('numeric inversion (Newton in a bracket) agrees with the closed form, ends of [eps, T] included', () => {
    for (const t of [1e-5, sde.defaultEps, 0.3 * sde.T, 0.999 * sde.T, sde.T]) {
      const l = sde.lambda(t);
      expect(abs(numericTimeForLambda(sde, l) - t)).toBeLessThanOrEqual(tolerance(sde, t));
    }
    expect(() => numericTimeForLambda(sde, sde.lambda(sde.T) - 1)).toThrow(/cannot invert/);
  });

  test("EDM's σ/α = e^{−λ}, and its inverse", () => {
    for (const t of times(sde, sde.defaultEps)) {
      expect(abs(edmSigma(sde, t) - exp(-sde.lambda(t)))).toBeLessThanOrEqual(1e-13 * edmSigma(sde, t));
      expect(abs(timeForEdmSigma(sde, edmSigma(sde, t)) - t)).toBeLessThanOrEqual(2 * tolerance(sde, t) + 1e-15 * t);
    }
  });
});

describe('negative controls: the checks above catch', () => {
  test('the VP inverse applied to sub-VP λ (a wrong closed form): round trip off by > 1e-3', () => {
    const vp = new VPSDE();
    const sub = new SubVPSDE();
    const t = 0.3;
    expect(abs(vp.timeForLambda(sub.lambda(t)) - t) / t).toBeGreaterThan(1e-3);
  });

  test('a diffusion 1e-6 off (g² inconsistent with the kernel): dλ/dt misses the finite difference by > 1e-7', () => {
    const vp = new VPSDE();
    const wrong = Object.create(vp) as SDE;
    wrong.diffusion = (t: number) => (1 + 1e-6) * vp.diffusion(t);
    for (const t of [1e-3, 0.4, 1]) {
      const fd = fivePoint(vp, t);
      expect(abs(dLambdaDt(wrong, t) - fd)).toBeGreaterThan(1e-7 * abs(fd));
      expect(abs(dLambdaDt(vp, t) - fd)).toBeLessThanOrEqual(1e-7 * abs(fd));
    }
  });

  test('the naive cosine inverse acos(e^m cos φ0) − φ0 loses ~1e-13 near t = 0, which the 1e-14 bound rejects', () => {
    // What the closed form avoids; written here from the formula: φ(u) = π/2·(u+s)/(1+s).
    const sde = new VPSDE({ schedule: 'cosine' });
    const s = 0.008;
    const phi0 = (Math.PI / 2) * (s / (1 + s));
    const uEnd = (2 * (1 + s) * Math.acos(Math.sqrt(1e-4) * Math.cos(phi0))) / Math.PI - s;
    let worst = 0;
    for (const t of times(sde, 1e-5).slice(0, 60)) {
      const m = log(sde.meanCoef(t));
      const naive = ((((Math.acos(exp(m) * Math.cos(phi0)) - phi0) * 2 * (1 + s)) / Math.PI) / uEnd) * sde.T;
      worst = max(worst, abs(naive - t) / t);
    }
    expect(worst).toBeGreaterThan(1e-14);
  });
});

test('invertDecreasing: a cubic to full precision, infinite end values, and no root outside the bracket', () => {
  const f = (x: number) => -(x ** 3) - x;
  const df = (x: number) => -3 * x * x - 1;
  for (const x of [1e-9, 0.25, 1, 1.999]) expect(abs(invertDecreasing(f, df, f(x), 0, 2) - x)).toBeLessThanOrEqual(2 * EPS * x + 1e-300);
  const g = (x: number) => -log(x);
  expect(abs(invertDecreasing(g, (x) => -1 / x, 3, 0, 1) - exp(-3))).toBeLessThanOrEqual(4 * EPS * exp(-3));
  expect(() => invertDecreasing(f, df, 1, 0, 2)).toThrow(/cannot invert/);
});
