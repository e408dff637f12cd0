/**
 * The score ↔ ε / x̂_0 conversions (sdes/parameterization.ts) under every SDE: round trips (also
 * in place), and the exact point-mass score x_t = α x0 + σ ε, which must give back ε (its sign)
 * and x0 (Tweedie) — a closed form written here, not taken from the code under test.
 */
import { NoiseSource, PARAMETERIZATIONS, SDE, Stream, SubVPSDE, VESDE, VPSDE, fromScore, toScore } from '../index';

const { abs } = Math;

describe('parameterization', () => {
  const dim = 3;
  const n = 4;
  const times = new Float64Array([1e-3, 0.2, 0.6, 1]);
  const x = new Float64Array(n * dim);
  const s = new Float64Array(n * dim);
  new NoiseSource(5).normal(x, dim, 0, Stream.data);
  new NoiseSource(5).normal(s, dim, 1, Stream.data);
  const sdes: [string, SDE][] = [
    ['VE', new VESDE()],
    ['VP', new VPSDE()],
    ['VP cosine', new VPSDE({ schedule: 'cosine' })],
    ['sub-VP', new SubVPSDE()],
  ];

  test.each(sdes)('%s: toScore(fromScore(s)) = s and fromScore(toScore(y)) = y for each parameterization', (_n, sde) => {
    for (const p of PARAMETERIZATIONS) {
      const y = new Float64Array(n * dim);
      fromScore(p, sde, x, times, s, y);
      const back = new Float64Array(n * dim);
      toScore(p, sde, x, times, y, back);
      // Two affine maps and their inverses: rounding only, but x0 at t = 1e-3 under sub-VP
      // divides by std² ≈ 1e-8, so relative to |s| + |x|/std² it is ~1e-16 · 1e8.
      for (let i = 0; i < n * dim; i++) expect(abs(back[i] - s[i])).toBeLessThan(1e-6 * (1 + abs(s[i])));
      // In place (out aliases y).
      const inplace = Float64Array.from(y);
      toScore(p, sde, x, times, inplace, inplace);
      expect(inplace).toEqual(back);
    }
  });

  test.each(sdes)('%s: for x_t = α x0 + σ ε the exact point-mass score gives back ε and x0', (_n, sde) => {
    // Data = point mass at x0: ∇log p_t(x) = −(x − αx0)/σ² = −ε/σ. So the eps-parameterization
    // must return ε (sign!) and the x0-parameterization x0 (Tweedie).
    const x0 = Float64Array.from(s);
    const eps = x;
    const xt = new Float64Array(n * dim);
    const score = new Float64Array(n * dim);
    for (let i = 0; i < n; i++) {
      const a = sde.meanCoef(times[i]);
      const sd = sde.std(times[i]);
      for (let j = i * dim; j < (i + 1) * dim; j++) {
        xt[j] = a * x0[j] + sd * eps[j];
        score[j] = -eps[j] / sd;
      }
    }
    const yEps = new Float64Array(n * dim);
    const yX0 = new Float64Array(n * dim);
    fromScore('eps', sde, xt, times, score, yEps);
    fromScore('x0', sde, xt, times, score, yX0);
    for (let j = 0; j < n * dim; j++) {
      expect(abs(yEps[j] - eps[j])).toBeLessThan(1e-12);
      // x0 = (x + σ² s)/α: cancellation of x against σ²s loses |x|·1e-16/α, α ≥ 6.6e-3 at t=1.
      expect(abs(yX0[j] - x0[j])).toBeLessThan(1e-10 * (1 + abs(xt[j]) / sde.meanCoef(times[Math.floor(j / dim)])));
    }
  });
});
