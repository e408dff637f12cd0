/**
 * Single steps and short runs against the paper's formulas, written here from closed forms
 * (VE σ(t) = σmin(σmax/σmin)^t; VP m(t) = −¼t²Δβ − ½tβmin, ᾱ = e^{2m}). The noise is reproduced
 * from the documented addressing (core/streams.ts): x_T from (step 0, Stream.prior); the
 * predictor's increment at grid step i from (i, Stream.predictor) in 'step' mode, or from the
 * Brownian path at the grid times in 'path' mode; corrector step k at time t from (t, k,
 * Stream.corrector). These catch what moment tests see only weakly: the ALD and Langevin step
 * sizes, α, fresh noise for every corrector step at every grid step, and the denoise step.
 * Tolerance 1e-12 relative: the same arithmetic up to rounding.
 */
import { CorrectorName, GaussianMixtureScore, NoiseSource, PredictorName, SDE, Stream, SubVPSDE, VESDE, VPSDE, sample } from '../index';
import { defineSolver } from '../solvers/solver';
import { denoiseSetting, fixedGridSettings, solverSettings } from '../solvers/settings';

const { abs, exp, log, sqrt } = Math;

const MU = [1, -2];
const SD = [0.5, 2];
const SDES: [string, () => SDE][] = [
  ['VE', () => new VESDE()],
  ['VP', () => new VPSDE()],
  ['sub-VP', () => new SubVPSDE()],
];

describe('single steps match the formulas', () => {
  const n = 6;
  const dim = 2;
  const seed = 13;
  const T = 1;
  const eps = 0.3; // one step from T = 1 to 0.3: large enough that every coefficient matters
  const veSigma = (t: number) => 0.01 * 5000 ** t;
  const vpM = (t: number) => -0.25 * t * t * 19.9 - 0.05 * t;
  const vpAlphaBar = (t: number) => exp(2 * vpM(t));

  function noise(step: number, stream: number): Float64Array {
    const z = new Float64Array(n * dim);
    new NoiseSource(seed).normal(z, dim, step, stream);
    return z;
  }
  /** Corrector noise: keyed by the time and the corrector step k. */
  function noiseAt(t: number, k: number): Float64Array {
    const z = new Float64Array(n * dim);
    new NoiseSource(seed).normalAt(z, dim, t, Stream.corrector, k);
    return z;
  }
  function startX(): Float64Array {
    // Some points near the data, some far: norms of s vary a lot between rows.
    const x = noise(0, Stream.prior);
    for (let i = 0; i < x.length; i++) x[i] = x[i] * (1 + (i % 5)) + MU[i % 2];
    return x;
  }
  function exactScore(sde: SDE, x: Float64Array, t: number): Float64Array {
    const out = new Float64Array(x.length);
    new GaussianMixtureScore(sde, { means: [MU], stds: [SD] }).scoreSync(x, new Float64Array(n).fill(t), out);
    return out;
  }
  function expectClose(got: ArrayLike<number>, want: ArrayLike<number>) {
    for (let i = 0; i < want.length; i++) expect(abs(got[i] - want[i])).toBeLessThanOrEqual(1e-12 * (1 + abs(want[i])));
  }

  /** A, B, C of x_next = A x + B s + C z for a step from t to tNext. */
  function predictorABC(kind: string, predictor: string, t: number, tn: number): [number, number, number] {
    if (kind === 've') {
      const d = veSigma(t) ** 2 - veSigma(tn) ** 2;
      const g2dt = 2 * log(5000) * veSigma(t) ** 2 * (t - tn);
      if (predictor === 'reverse_diffusion') return [1, d, sqrt(d)];
      if (predictor === 'ancestral') return [1, d, sqrt((veSigma(tn) ** 2 * d) / veSigma(t) ** 2)];
      return [1, g2dt, sqrt(g2dt)];
    }
    const beta = 0.1 + 19.9 * t;
    const b = 1 - vpAlphaBar(t) / vpAlphaBar(tn); // DDPM β_i
    const g2 = kind === 'vp' ? beta : beta * (1 - exp(4 * vpM(t)));
    // Reverse-time EM with dt = tn − t < 0: x − (a x − g² s)(t − tn) + g sqrt(t − tn) z, a = −½β.
    const em: [number, number, number] = [1 + 0.5 * beta * (t - tn), g2 * (t - tn), sqrt(g2 * (t - tn))];
    if (kind === 'subvp' || predictor === 'euler_maruyama') return em;
    if (predictor === 'reverse_diffusion') return [2 - sqrt(1 - b), b, sqrt(b)];
    return [1 / sqrt(1 - b), b / sqrt(1 - b), sqrt(b)]; // ancestral
  }

  const predictorCases: { name: string; make: () => SDE; predictor: PredictorName }[] = [];
  for (const [name, make] of SDES) {
    for (const predictor of ['reverse_diffusion', 'ancestral', 'euler_maruyama'] as const) {
      if (name === 'sub-VP' && predictor === 'ancestral') continue;
      predictorCases.push({ name, make, predictor });
    }
  }
  test.each(predictorCases)('$name predictor $predictor', async ({ make, predictor }) => {
    const sde = make();
    const model = new GaussianMixtureScore(sde, { means: [MU], stds: [SD] });
    const x0 = startX();
    const r = await sample({ sde, model, solver: 'pc', settings: { steps: 1, eps, predictor, corrector: 'none' }, n, xT: x0, seed });
    const [A, B, C] = predictorABC(sde.kind, predictor, T, eps);
    const s = exactScore(sde, x0, T);
    const z = noise(0, Stream.predictor);
    expectClose(r.samples.data, x0.map((v, j) => A * v + B * s[j] + C * z[j]));
  });

  const correctorCases: { name: string; make: () => SDE; corrector: CorrectorName; norm: 'sample' | 'batch'; correctorSteps: number }[] = [];
  for (const [name, make] of SDES) {
    correctorCases.push(
      { name, make, corrector: 'langevin', norm: 'sample', correctorSteps: 1 },
      { name, make, corrector: 'langevin', norm: 'batch', correctorSteps: 2 },
      { name, make, corrector: 'ald', norm: 'sample', correctorSteps: 2 },
    );
  }
  test.each(correctorCases)('$name corrector $corrector (norm $norm), $correctorSteps step(s)', async ({ make, corrector, norm, correctorSteps }) => {
    const sde = make();
    const model = new GaussianMixtureScore(sde, { means: [MU], stds: [SD] });
    const snr = 0.2;
    const x = startX();
    const r = await sample({
      sde,
      model,
      solver: 'pc',
      settings: { steps: 1, eps, predictor: 'none', corrector, norm, snr, correctorSteps },
      n,
      xT: x,
      seed,
    });
    // α = 1 (VE) or the DDPM α_i = ᾱ(t)/ᾱ(tNext) (VP family); std(t) from the closed forms.
    const alpha = sde.kind === 've' ? 1 : vpAlphaBar(T) / vpAlphaBar(eps);
    const std = sde.kind === 've' ? veSigma(T) : sde.kind === 'vp' ? sqrt(1 - vpAlphaBar(T)) : 1 - vpAlphaBar(T);
    for (let k = 0; k < correctorSteps; k++) {
      const s = exactScore(sde, x, T);
      const z = noiseAt(T, k);
      const norms = (a: Float64Array, i: number) => sqrt(a[i * dim] ** 2 + a[i * dim + 1] ** 2);
      const epsRow: number[] = [];
      for (let i = 0; i < n; i++) {
        if (corrector === 'ald') epsRow.push(2 * alpha * (snr * std) ** 2);
        else epsRow.push(2 * alpha * ((snr * norms(z, i)) / norms(s, i)) ** 2);
      }
      if (norm === 'batch') {
        let zn = 0;
        let sn = 0;
        for (let i = 0; i < n; i++) {
          zn += norms(z, i) / n;
          sn += norms(s, i) / n;
        }
        epsRow.fill(2 * alpha * ((snr * zn) / sn) ** 2);
      }
      for (let j = 0; j < x.length; j++) {
        const e = epsRow[Math.floor(j / dim)];
        x[j] += e * s[j] + sqrt(2 * e) * z[j];
      }
    }
    expectClose(r.samples.data, x);
  });

  const grid = (steps: number) => Array.from({ length: steps + 1 }, (_, i) => (i === steps ? eps : T + (eps - T) * (i / steps)));
  const vpStd = (kind: string, t: number) => (kind === 've' ? veSigma(t) : kind === 'vp' ? sqrt(1 - vpAlphaBar(t)) : 1 - vpAlphaBar(t));

  test.each(['langevin', 'ald'] as const)('%s corrector over 3 grid steps with correctorSteps 2: fresh noise keyed by (t_i, k)', async (corrector) => {
    for (const [, make] of SDES) {
      const sde = make();
      const model = new GaussianMixtureScore(sde, { means: [MU], stds: [SD] });
      const snr = 0.2;
      const K = 2;
      const x = startX();
      const settings = { steps: 3, eps, predictor: 'none', corrector, norm: 'sample', snr, correctorSteps: K } as const;
      const r = await sample({ sde, model, solver: 'pc', settings, n, xT: x, seed });
      const g = grid(3);
      for (let i = 0; i < 3; i++) {
        const t = g[i];
        const alpha = sde.kind === 've' ? 1 : vpAlphaBar(t) / vpAlphaBar(g[i + 1]);
        for (let k = 0; k < K; k++) {
          const s = exactScore(sde, x, t);
          const z = noiseAt(t, k);
          for (let row = 0; row < n; row++) {
            const norm = (a: Float64Array) => sqrt(a[row * dim] ** 2 + a[row * dim + 1] ** 2);
            const e = corrector === 'ald' ? 2 * alpha * (snr * vpStd(sde.kind, t)) ** 2 : 2 * alpha * ((snr * norm(z)) / norm(s)) ** 2;
            for (let j = row * dim; j < (row + 1) * dim; j++) x[j] += e * s[j] + sqrt(2 * e) * z[j];
          }
        }
      }
      expectClose(r.samples.data, x);
    }
  });

  test('euler_maruyama with noise: path takes the increments of the Brownian path at the grid times', async () => {
    for (const [, make] of SDES) {
      const sde = make();
      const model = new GaussianMixtureScore(sde, { means: [MU], stds: [SD] });
      const x = startX();
      const r = await sample({ sde, model, solver: 'euler_maruyama', settings: { steps: 3, eps, noise: 'path' }, n, xT: x, seed });
      const g = grid(3);
      const path = new NoiseSource(seed).brownian(n, dim, T);
      const w = g.map((t) => {
        const v = new Float64Array(n * dim);
        path.valueAt(t, v);
        return v;
      });
      for (let i = 0; i < 3; i++) {
        const [A, B, C] = predictorABC(sde.kind, 'euler_maruyama', g[i], g[i + 1]);
        const s = exactScore(sde, x, g[i]);
        const h = sqrt(g[i] - g[i + 1]);
        for (let j = 0; j < x.length; j++) x[j] = A * x[j] + B * s[j] + (C * (w[i][j] - w[i + 1][j])) / h;
      }
      expectClose(r.samples.data, x);
    }
  });

  /** A solver that takes no step: the driver's final denoise step then acts on x_T at eps. */
  const noStep = defineSolver({
    name: 'no_step',
    family: 'sde',
    summary: 'takes no step (tests the driver around it)',
    adaptive: false,
    budget: ['steps'],
    settings: solverSettings({ ...fixedGridSettings, ...denoiseSetting }),
    run: async () => {},
  });

  test.each(SDES)('%s: the final denoise step is the noise-free reverse-diffusion step from eps to 0', async (_name, make) => {
    // VE: x + σ(eps)²·s. VP (DDPM step to ᾱ(0) = 1): (2 − √ᾱ(eps))·x + (1 − ᾱ(eps))·s. Sub-VP
    // (Euler–Maruyama): (1 + ½β(eps)·eps)·x + g²(eps)·eps·s. The probability-flow coefficient
    // (½ of each B) misses by |B·s|/2 ≫ 1e-12.
    const sde = make();
    const model = new GaussianMixtureScore(sde, { means: [MU], stds: [SD] });
    const x = startX();
    const r = await sample({ sde, model, solver: noStep, settings: { steps: 1, eps, denoise: true }, n, xT: x, seed });
    const beta = 0.1 + 19.9 * eps;
    const [A, B] =
      sde.kind === 've'
        ? [1, veSigma(eps) ** 2]
        : sde.kind === 'vp'
          ? [2 - sqrt(vpAlphaBar(eps)), 1 - vpAlphaBar(eps)]
          : [1 + 0.5 * beta * eps, beta * (1 - exp(4 * vpM(eps))) * eps];
    const s = exactScore(sde, x, eps);
    expectClose(r.samples.data, x.map((v, j) => A * v + B * s[j]));
    expect(r.nfe).toBe(1);
  });
});
