/**
 * predict(model, sde, want, …) (sdes/predict.ts): a model's prediction in the parameterization a
 * solver wants, from its native output without a round trip through the score. In-process against
 * the exact Gaussian mixture's own closed forms for ε and x̂_0 (not conversions of its score), and
 * on real ONNX networks, whose native output must come back bit for bit.
 */
import { join } from 'path';
import { GaussianMixture, GaussianMixtureScore } from '../models/gaussian-mixture';
import { OnnxScoreModel, loadOnnxScoreModel } from '../models/onnx';
import { InstrumentedModel } from '../bench/instrumented-model';
import { ModelCache, buildModel } from '../configs/model-loader';
import { experimentConfigSchema } from '../configs/schema';
import { CountingScoreModel, PARAMETERIZATIONS, Parameterization } from '../core/score';
import { NoiseSource, Stream } from '../core/noise';
import { SDE, SubVPSDE, VESDE, VPSDE, convertPrediction, nativeParameterization, predict } from '../sdes';

const { abs, fround } = Math;
const DIR = join(__dirname, '..', 'models', 'exact');
const MIXTURE = new GaussianMixture({ means: [[-2, 1], [3, 0], [0, -4]], stds: [[0.3, 0.6], [0.8, 0.8], [1.2, 0.2]], weights: [0.5, 0.3, 0.2] });

const SDES: [string, SDE][] = [
  ['VE', new VESDE()],
  ['VP linear', new VPSDE()],
  ['VP cosine', new VPSDE({ schedule: 'cosine' })],
  ['sub-VP', new SubVPSDE()],
];

/** x_t = α x0 + σ z at times spread over [eps, T] (both ends included), one per row. */
function points(sde: SDE, n: number): { x: Float64Array; t: Float64Array } {
  const t = Float64Array.from({ length: n }, (_, i) => sde.defaultEps + ((sde.T - sde.defaultEps) * i) / (n - 1));
  const x0 = MIXTURE.sample(n, 3);
  const z = new Float64Array(2 * n);
  new NoiseSource(4).normal(z, 2, 0, Stream.data);
  const x = new Float64Array(2 * n);
  for (let i = 0; i < 2 * n; i++) x[i] = sde.meanCoef(t[i >> 1]) * x0[i] + sde.std(t[i >> 1]) * z[i];
  return { x, t };
}

/**
 * 1e-12 times the size of the terms each conversion sums (ε = (x − αx̂0)/σ, x̂0 = (x − σε)/α,
 * s = (αx̂0 − x)/σ²), from the exact x̂0 and ε: rounding in either side, not a formula's error.
 */
function tolerance(sde: SDE, want: Parameterization, x: number, t: number, x0: number, eps: number): number {
  const a = sde.meanCoef(t);
  const s = sde.std(t);
  const scale = want === 'eps' ? (abs(x) + a * abs(x0)) / s : want === 'x0' ? (abs(x) + s * abs(eps)) / a : (abs(x) + a * abs(x0)) / (s * s);
  return 1e-12 * scale;
}

describe.each(SDES)('in process, %s: every native × wanted pair equals the converted score to 1e-12', (_name, sde) => {
  const n = 41;
  const { x, t } = points(sde, n);
  const exact = new GaussianMixtureScore(sde, MIXTURE);
  const score = new Float64Array(2 * n);
  const x0 = new Float64Array(2 * n);
  const eps = new Float64Array(2 * n);
  exact.evaluate(x, t, score, 'score');
  exact.evaluate(x, t, x0, 'x0');
  exact.evaluate(x, t, eps, 'eps');

  test.each(PARAMETERIZATIONS.flatMap((native) => PARAMETERIZATIONS.map((want) => [native, want] as const)))('native %s, wanted %s', async (native, want) => {
    const model = new GaussianMixtureScore(sde, MIXTURE, { parameterization: native });
    const got = new Float64Array(2 * n);
    await predict(model, sde, want, x, t, got);
    const ref = new Float64Array(2 * n);
    convertPrediction('score', want, sde, x, t, score, ref);
    for (let j = 0; j < 2 * n; j++) {
      expect(abs(got[j] - ref[j])).toBeLessThanOrEqual(tolerance(sde, want, x[j], t[j >> 1], x0[j], eps[j]));
    }
  });

  test('negative controls: ε → x̂0 without the 1/α, and Tweedie with σ for σ², miss the same bound', () => {
    let noAlpha = 0;
    let sigmaNotSquared = 0;
    for (let j = 0; j < 2 * n; j++) {
      const a = sde.meanCoef(t[j >> 1]);
      const s = sde.std(t[j >> 1]);
      const tolX0 = tolerance(sde, 'x0', x[j], t[j >> 1], x0[j], eps[j]);
      if (abs(x[j] - s * eps[j] - x0[j]) > tolX0) noAlpha++;
      if (abs((x[j] + s * score[j]) / a - x0[j]) > tolX0) sigmaNotSquared++;
    }
    if (sde.kind !== 've') expect(noAlpha).toBeGreaterThan(n); // α = 1 under VE: no control there
    expect(sigmaNotSquared).toBeGreaterThan(n);
  });
});

test('one evaluation per predict(), through a counter, on the native path', async () => {
  const sde = new VPSDE();
  const { x, t } = points(sde, 9);
  const model = new GaussianMixtureScore(sde, MIXTURE, { parameterization: 'x0' });
  const counter = new CountingScoreModel(model);
  expect(nativeParameterization(counter)).toBe('x0');
  const viaCounter = new Float64Array(x.length);
  await predict(counter, sde, 'x0', x, t, viaCounter);
  expect([counter.calls, counter.evaluations]).toEqual([1, 9]);
  const direct = new Float64Array(x.length);
  await model.predict(x, t, direct);
  expect(viaCounter).toEqual(direct);
  await predict(counter, sde, 'eps', x, t, viaCounter);
  expect([counter.calls, counter.evaluations]).toEqual([2, 18]);
  // A model without predict() is asked for its score (one evaluation) and converted.
  const scoreOnly = new CountingScoreModel({ sampleShape: [2], score: (a, b, c) => model.score(a, b, c) });
  expect(nativeParameterization(scoreOnly)).toBe('score');
  await predict(scoreOnly, sde, 'x0', x, t, viaCounter);
  expect(scoreOnly.calls).toBe(1);
});

describe('ONNX networks answer natively', () => {
  const n = 16;
  const open: { dispose(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const m of open) await m.dispose();
  });

  test.each(['mixture-vp-t-x0.onnx', 'mixture-vp-t-eps.onnx', 'mixture-vp-t-score.onnx'])(
    '%s: its own parameterization is its raw output bit for bit; the others are that output converted',
    async (file) => {
      const timed = await InstrumentedModel.load(join(DIR, file), { device: 'cpu', log: () => {} });
      open.push(timed);
      const m: OnnxScoreModel = timed.model;
      const native = m.parameterization;
      // float32-exact inputs and time input 't': the network sees exactly these numbers either way.
      const p = points(m.sde, n);
      const x = p.x.map(fround);
      const t = p.t.map(fround);
      const raw = Float64Array.from(await timed.runRaw(Float32Array.from(x), Float32Array.from(t), n));
      const got = new Float64Array(2 * n);
      await predict(m, m.sde, native, x, t, got);
      expect(got).toEqual(raw);
      for (const want of PARAMETERIZATIONS) {
        await predict(m, m.sde, want, x, t, got);
        const ref = new Float64Array(2 * n);
        convertPrediction(native, want, m.sde, x, t, raw, ref);
        expect(got).toEqual(ref);
      }
      // Negative control: the round trip through the score that predict() avoids is not exact.
      if (native !== 'score') {
        const s = new Float64Array(2 * n);
        await m.score(x, t, s);
        const roundTrip = new Float64Array(2 * n);
        convertPrediction('score', native, m.sde, x, t, s, roundTrip);
        expect(roundTrip).not.toEqual(raw);
      }
    },
  );

  test("the config loader's cached model keeps the native path (its wrapper forwards predict)", async () => {
    const cache = new ModelCache();
    open.push(cache);
    const file = join(DIR, 'mixture-vp-t-x0.onnx');
    const built = await buildModel(experimentConfigSchema.parse({ model: { type: 'onnx', path: file }, device: 'cpu' }), { cache });
    expect(nativeParameterization(built.model)).toBe('x0');
    const direct = await loadOnnxScoreModel(file, { device: 'cpu', log: () => {} });
    open.push(direct);
    const { x, t } = points(built.sde, 5);
    const a = new Float64Array(x.length);
    const b = new Float64Array(x.length);
    await predict(built.model, built.sde, 'x0', x, t, a);
    await direct.predict(x, t, b);
    expect(a).toEqual(b);
  });
});
