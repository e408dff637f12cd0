/**
 * Reproducibility: batch invariance, x_T, seeds, and the noise source itself (known-answer
 * Philox vectors, N(0, 1) marginals, independence across sample, step, stream and coordinate).
 */
import ndarray from 'ndarray';
import {
  GaussianMixture,
  GaussianMixtureScore,
  NoiseSource,
  SDE,
  Stream,
  SubVPSDE,
  VESDE,
  VPSDE,
  philox4x32,
  sample,
} from '../index';
import { correlation, ksStatisticNormal, maxAbsDiff, pooledMeanVar } from './support/stats';

const { abs, max, sqrt } = Math;

const MIXTURE = { means: [[-2, 0], [2, 1]], stds: [[0.5, 0.5], [0.3, 0.8]], weights: [0.4, 0.6] };
const SDES: [string, () => SDE][] = [
  ['VE', () => new VESDE()],
  ['VP', () => new VPSDE()],
  ['sub-VP', () => new SubVPSDE()],
];
const SOLVERS: [string, string, Record<string, unknown>][] = [
  ['euler_maruyama', 'euler_maruyama', {}],
  ['pc (langevin, per-sample norms)', 'pc', { norm: 'sample' }],
  ['pc (reverse_diffusion + ald, 2 corrector steps)', 'pc', { corrector: 'ald', correctorSteps: 2 }],
  ['ode_euler', 'ode_euler', {}],
  ['ode_heun', 'ode_heun', {}],
];

describe('batch invariance: sample i is bitwise the same whatever the batch size', () => {
  const n = 20;
  const cases: [string, string, () => SDE, string, Record<string, unknown>][] = [];
  for (const [s, make] of SDES) for (const [label, solver, st] of SOLVERS) cases.push([s, label, make, solver, st]);
  test.each(cases)('%s %s: batchSize 1, 7, 256', async (_s, _l, make, solver, st) => {
    const sde = make();
    const model = new GaussianMixtureScore(sde, MIXTURE);
    const settings = { steps: 15, denoise: true, ...st };
    const whole = await sample({ sde, model, solver, settings, n, seed: 42, batchSize: 256 });
    for (const batchSize of [1, 7]) {
      const r = await sample({ sde, model, solver, settings, n, seed: 42, batchSize });
      expect(r.samples.data).toEqual(whole.samples.data);
    }
    // And a run of the first 7 samples alone gives those samples.
    const head = await sample({ sde, model, solver, settings, n: 7, seed: 42 });
    expect(head.samples.data).toEqual(whole.samples.data.subarray(0, 14));
  });
});

describe('x_T and seeds', () => {
  test.each(SDES)('%s: the prior draw passed back as xT reproduces the run; other seeds differ', async (_s, make) => {
    const sde = make();
    const model = new GaussianMixtureScore(sde, MIXTURE);
    const n = 16;
    for (const [, solver, st] of SOLVERS) {
      const settings = { steps: 10, ...st };
      const r = await sample({ sde, model, solver, settings, n, seed: 9 });
      // sample() draws x_T = priorStd · N(0, I) from (seed, step 0, Stream.prior).
      const xT = new Float64Array(n * 2);
      new NoiseSource(9).normal(xT, 2, 0, Stream.prior);
      for (let i = 0; i < xT.length; i++) xT[i] *= sde.priorStd;
      const again = await sample({ sde, model, solver, settings, n, seed: 9, xT });
      expect(again.samples.data).toEqual(r.samples.data);
      // Same xT as an ndarray of shape [n, 2].
      const nd = await sample({ sde, model, solver, settings, n, seed: 9, xT: ndarray(Float64Array.from(xT), [n, 2]) });
      expect(nd.samples.data).toEqual(r.samples.data);
      // Another seed: every coordinate changes (stochastic solvers also through their path noise).
      const other = await sample({ sde, model, solver, settings, n, seed: 10 });
      for (let i = 0; i < n * 2; i++) expect(other.samples.data[i]).not.toBe(r.samples.data[i]);
      // With xT fixed, the ODE solvers ignore the seed; the SDE solvers do not.
      const otherSeedSameXT = await sample({ sde, model, solver, settings, n, seed: 10, xT });
      if (solver.startsWith('ode')) expect(otherSeedSameXT.samples.data).toEqual(r.samples.data);
      else expect(maxAbsDiff(otherSeedSameXT.samples.data, r.samples.data)).toBeGreaterThan(1e-3);
    }
  });

  test('xT is copied, not written into', async () => {
    const sde = new VPSDE();
    const model = new GaussianMixtureScore(sde, MIXTURE);
    const xT = new Float64Array([0.1, -0.2, 0.3, 0.4]);
    const copy = Float64Array.from(xT);
    await sample({ sde, model, solver: 'euler_maruyama', settings: { steps: 5 }, n: 2, xT });
    expect(xT).toEqual(copy);
  });
});

describe('equivalent formulations agree', () => {
  // Same noise streams (Stream.predictor at step i), same update written two ways:
  // x + (a x − g² s)dt + g√|dt| z  versus  A x + B s + C z. Only rounding differs:
  // 1e-10 relative to the sample scale after 50 steps.
  test.each(SDES)('%s: pc(euler_maruyama predictor, no corrector) = euler_maruyama', async (_s, make) => {
    const sde = make();
    const model = new GaussianMixtureScore(sde, MIXTURE);
    const a = await sample({ sde, model, solver: 'euler_maruyama', settings: { steps: 50 }, n: 64, seed: 3 });
    const b = await sample({ sde, model, solver: 'pc', settings: { steps: 50, predictor: 'euler_maruyama', corrector: 'none' }, n: 64, seed: 3 });
    expect(maxAbsDiff(a.samples.data, b.samples.data)).toBeLessThan(4e-10);
  });

  test("sub-VP: the reverse-diffusion predictor is Euler–Maruyama (sub-VP's discretization is EM)", async () => {
    const sde = new SubVPSDE();
    const model = new GaussianMixtureScore(sde, MIXTURE);
    const a = await sample({ sde, model, solver: 'euler_maruyama', settings: { steps: 50 }, n: 64, seed: 3 });
    const b = await sample({ sde, model, solver: 'pc', settings: { steps: 50, corrector: 'none' }, n: 64, seed: 3 });
    expect(maxAbsDiff(a.samples.data, b.samples.data)).toBeLessThan(4e-10);
  });
});

describe('NoiseSource', () => {
  test('Philox4x32-10 known-answer vectors (Random123 kat_vectors)', () => {
    const out = new Uint32Array(4);
    const kat: [number[], number[], number[]][] = [
      [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
      [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]],
      [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]],
    ];
    for (const [c, k, want] of kat) {
      philox4x32(c[0], c[1], c[2], c[3], k[0], k[1], out);
      expect(Array.from(out)).toEqual(want);
    }
  });

  test('rows depend only on their global index: chunks, offsets and `first` reproduce the whole', () => {
    // dim 3 is deliberately not a multiple of 4, so Philox blocks straddle rows.
    for (const dim of [1, 2, 3, 5]) {
      const n = 37;
      const whole = new Float64Array(n * dim);
      new NoiseSource(123).normal(whole, dim, 4, Stream.corrector);
      for (const [start, len] of [[0, 1], [1, 3], [5, 7], [13, 24], [36, 1]]) {
        const part = new Float64Array(len * dim);
        new NoiseSource(123).shifted(start).normal(part, dim, 4, Stream.corrector);
        expect(part).toEqual(whole.subarray(start * dim, (start + len) * dim));
        const viaFirst = new Float64Array(len * dim);
        new NoiseSource(123, 2).normal(viaFirst, dim, 4, Stream.corrector, start - 2);
        if (start >= 2) expect(viaFirst).toEqual(part);
      }
    }
  });

  const N = 100_000;
  function draws(seed: number, step: number, stream: number, dim = 1, n = N): Float64Array {
    const x = new Float64Array(n * dim);
    new NoiseSource(seed).normal(x, dim, step, stream);
    return x;
  }

  test('draws are N(0, 1): mean, variance, kurtosis and KS on 1e5 draws', () => {
    for (const [seed, step, stream, dim] of [[0, 0, Stream.prior, 1], [7, 3, Stream.predictor, 2], [2 ** 40 + 5, 999, Stream.corrector, 3]]) {
      const x = draws(seed, step, stream, dim, N / dim);
      const st = pooledMeanVar(x);
      // SE of the mean 1/sqrt(N) = 0.0032, of the variance sqrt(2/N) = 0.0045: 4 SE each.
      expect(abs(st.mean)).toBeLessThan(4 / sqrt(x.length));
      expect(abs(st.variance - 1)).toBeLessThan(4 * sqrt(2 / x.length));
      // Fourth moment 3, SE sqrt((105 − 9)/N) = 0.031.
      let m4 = 0;
      for (let i = 0; i < x.length; i++) m4 += x[i] ** 4;
      expect(abs(m4 / x.length - 3)).toBeLessThan(4 * sqrt(96 / x.length));
      // KS against Φ: the p = 0.001 critical value is 1.95/sqrt(N) = 0.0062.
      expect(ksStatisticNormal(x)).toBeLessThan(1.95 / sqrt(x.length));
    }
  });

  test('draws are independent across step, stream, sample and coordinate', () => {
    // Pearson correlations of 1e5 pairs: SE 1/sqrt(N) = 0.0032; bound 4 SE. Squares are
    // correlated too (catches dependence that is invisible to linear correlation, e.g. two
    // coordinates sharing a Box–Muller radius and angle).
    const bound = 4 / sqrt(N);
    const base = draws(11, 5, Stream.predictor);
    const pairs: [string, Float64Array, Float64Array][] = [
      ['next step', base, draws(11, 6, Stream.predictor)],
      ['other stream', base, draws(11, 5, Stream.corrector)],
      ['prior vs predictor at step 0', draws(11, 0, Stream.prior), draws(11, 0, Stream.predictor)],
      ['other seed', base, draws(12, 5, Stream.predictor)],
      ['adjacent sample (lag 1)', base.subarray(0, N - 1), base.subarray(1)],
      ['lag 2', base.subarray(0, N - 2), base.subarray(2)],
      ['lag 4 (next Philox block)', base.subarray(0, N - 4), base.subarray(4)],
    ];
    // Coordinates within a sample (dim 4: one block per row).
    const rows = draws(11, 5, Stream.predictor, 4, N);
    const col = (j: number) => {
      const c = new Float64Array(N);
      for (let i = 0; i < N; i++) c[i] = rows[i * 4 + j];
      return c;
    };
    pairs.push(['coordinates 0,1 (cos/sin of one pair)', col(0), col(1)], ['coordinates 1,2', col(1), col(2)], ['coordinates 0,3', col(0), col(3)]);
    const sq = (a: Float64Array) => a.map((v) => v * v);
    const report: string[] = [];
    for (const [label, a, b] of pairs) {
      const r = correlation(a, b);
      const r2 = correlation(sq(a), sq(b));
      report.push(`${label}: r=${r.toFixed(4)} r(x²)=${r2.toFixed(4)}`);
      expect(abs(r)).toBeLessThan(bound);
      expect(abs(r2)).toBeLessThan(bound);
    }
    console.log(`noise correlations (bound ${bound.toFixed(4)}):\n${report.join('\n')}`);
  });

  test('uniform draws are U[0, 1) and independent of the normal draws of the same (step, stream)', () => {
    const u = new Float64Array(N);
    new NoiseSource(5).uniform(u, 0, Stream.data);
    const st = pooledMeanVar(u);
    // Mean 1/2 (SE sqrt(1/12/N) = 0.0009), variance 1/12 (SE sqrt(1/180/N) = 0.00024): 4 SE.
    expect(abs(st.mean - 0.5)).toBeLessThan(4 * sqrt(1 / 12 / N));
    expect(abs(st.variance - 1 / 12)).toBeLessThan(4 * sqrt(1 / 180 / N));
    let lo = 1;
    let hi = 0;
    for (let i = 0; i < N; i++) {
      lo = Math.min(lo, u[i]);
      hi = max(hi, u[i]);
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(abs(correlation(u, draws(5, 0, Stream.data)))).toBeLessThan(4 / sqrt(N));
  });

  test('GaussianMixture.sample: seeded, prefix-consistent, and has the mixture moments', () => {
    const mix = new GaussianMixture(MIXTURE);
    const big = mix.sample(40_000, 8);
    expect(mix.sample(100, 8)).toEqual(big.subarray(0, 200));
    expect(mix.sample(100, 9)).not.toEqual(big.subarray(0, 200));
    // Mixture mean 0.4·(−2, 0) + 0.6·(2, 1) = (0.4, 0.6); the variance of the first coordinate is
    // Σ w (σ² + μ²) − mean² = 0.4·4.25 + 0.6·4.09 − 0.16 = 3.994. 4 SE from the data.
    const c0 = big.filter((_, i) => i % 2 === 0);
    const c1 = big.filter((_, i) => i % 2 === 1);
    const s0 = pooledMeanVar(c0);
    const s1 = pooledMeanVar(c1);
    expect(abs(s0.mean - 0.4)).toBeLessThan(4 * s0.meanSE);
    expect(abs(s1.mean - 0.6)).toBeLessThan(4 * s1.meanSE);
    expect(abs(s0.variance - 3.994)).toBeLessThan(4 * s0.varianceSE);
    // Second coordinate: 0.4·(0.25 + 0) + 0.6·(0.64 + 1) − 0.36 = 0.724.
    expect(abs(s1.variance - 0.724)).toBeLessThan(4 * s1.varianceSE);
  });
});
