/**
 * The ONNX path against the closed form: every shipped exact-mixture graph (models/exact/) through
 * OnnxScoreModel must give GaussianMixtureScore's score, for each time convention and
 * parameterization, plus the float16, static-batch and maxBatch paths and a whole ODE sample.
 * Real onnxruntime sessions on the real files; nothing mocked.
 */
import { readdirSync } from 'fs';
import { join } from 'path';
import { ModelCard } from '../models/card';
import { GaussianMixtureScore } from '../models/gaussian-mixture';
import { fromScore } from '../sdes/parameterization';
import { OnnxScoreModel, loadOnnxScoreModel, timeInputValue } from '../models/onnx';
import { SDE } from '../sdes/sde';
import { NoiseSource } from '../core/noise';
import { sample } from '../solvers/sample';
import { InstrumentedModel } from '../bench/instrumented-model';

const { abs, fround, log, log1p, max, round, sqrt, exp } = Math;
const DIR = join(__dirname, '..', 'models', 'exact');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.onnx'));
// The conditional graphs (-cond) have their own test: tests/guidance-onnx.test.ts.
const PLAIN = FILES.filter((f) => !/-(fp16|b8|cond)\.onnx$/.test(f));
/** float32 unit roundoff. */
const U32 = 2 ** -24;
const quiet = { device: 'cpu' as const, log: () => {} };

const open: OnnxScoreModel[] = [];
async function load(file: string, opts: Parameters<typeof loadOnnxScoreModel>[1] = {}): Promise<OnnxScoreModel> {
  const m = await loadOnnxScoreModel(join(DIR, file), { ...quiet, ...opts });
  open.push(m);
  return m;
}
afterAll(async () => {
  for (const m of open) await m.dispose();
});

function exactFor(m: OnnxScoreModel): GaussianMixtureScore {
  return new GaussianMixtureScore(m.sde, m.card.data!.mixture!);
}

/** t for a VP/sub-VP log mean coefficient m(t) = −¼t²Δ − ½tβmin (the stable root). */
function tFromLogMean(card: ModelCard, m: number): number {
  const { betaMin, betaMax } = card.sde as unknown as { betaMin: number; betaMax: number };
  return (-4 * m) / (sqrt(betaMin * betaMin - 4 * (betaMax - betaMin) * m) + betaMin);
}

function tFromStd(card: ModelCard, s: number): number {
  const sde = card.sde as { kind: string; T: number; sigmaMin?: number; sigmaMax?: number };
  if (sde.kind === 've') return (sde.T * log(s / sde.sigmaMin!)) / log(sde.sigmaMax! / sde.sigmaMin!);
  return tFromLogMean(card, sde.kind === 'vp' ? 0.5 * log1p(-s * s) : 0.5 * log1p(-s));
}

/**
 * Moves t (by a relative ~1e-7) to where the network's time input is exactly a float32, so the
 * comparison sees no input quantization: what is tested is the time mapping and the conversion,
 * not float32's resolution (which the unsnapped check below covers at its own tolerance).
 * For 'timestep' this is the integer grid t = k/(timesteps − 1).
 */
function snapTime(card: ModelCard, sde: SDE, t: number): number {
  switch (card.timeInput) {
    case 't':
      return fround(t);
    case 't999':
      return fround(999 * t) / 999;
    case 'timestep': {
      const last = card.timesteps! - 1;
      return (max(1, round((t / sde.T) * last)) / last) * sde.T;
    }
    case 'sigma':
      return tFromStd(card, fround(sde.std(t)));
    case 'edm_c_noise': {
      const se = exp(4 * fround(timeInputValue('edm_c_noise', sde, t)));
      if (card.sde.kind === 've') return tFromStd(card, se);
      if (card.sde.kind === 'vp') return tFromLogMean(card, -0.5 * log1p(se * se));
      return tFromLogMean(card, log(0.5 * (sqrt(se * se + 4) - se)));
    }
  }
}

/** n points x_t = α x_0 + σ z with x_0 from the mixture and t uniform in [eps, T]: what a sampler meets. */
function batch(m: OnnxScoreModel, n: number, seed: number, snap: boolean): { x: Float64Array; t: Float64Array } {
  const exact = exactFor(m);
  const noise = new NoiseSource(seed);
  const u = new Float64Array(n);
  noise.uniform(u, 0, 0);
  const eps = m.sde.defaultEps;
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ti = eps + (m.sde.T - eps) * u[i];
    t[i] = snap || m.card.timeInput === 'timestep' ? snapTime(m.card, m.sde, ti) : ti;
  }
  const x0 = exact.mixture.sample(n, seed + 1);
  const z = new Float64Array(2 * n);
  noise.normal(z, 2, 1, 0);
  const x = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const a = m.sde.meanCoef(t[i]);
    const s = m.sde.std(t[i]);
    for (let d = 0; d < 2; d++) {
      const v = a * x0[2 * i + d] + s * z[2 * i + d];
      x[2 * i + d] = snap ? fround(v) : v;
    }
  }
  return { x, t };
}

/**
 * Largest |a − b| / tol over the batch, tol = rel·(1 + |b|) plus, for an x0 network, the score's
 * float32 floor: s = (α x̂0 − x)/σ² turns the output's rounding (and, unsnapped, the input's) into
 * an error ≈ u·(α|x̂0| + |x|)/σ², which no float32 network escapes at small σ.
 */
function worstRatio(m: OnnxScoreModel, x: Float64Array, t: Float64Array, a: Float64Array, b: Float64Array, rel: number, snapped: boolean) {
  const x0 = new Float64Array(b.length);
  fromScore('x0', m.sde, x, t, b, x0);
  let worst = 0;
  let worstDev = 0;
  for (let j = 0; j < b.length; j++) {
    const i = j >> 1;
    let tol = rel * (1 + abs(b[j]));
    if (m.card.parameterization === 'x0') {
      const alpha = m.sde.meanCoef(t[i]);
      const s2 = m.sde.std(t[i]) ** 2;
      tol += (4 * U32 * (alpha * abs(x0[j]) + (snapped ? 0 : abs(x[j])))) / s2;
    }
    const dev = abs(a[j] - b[j]) / (1 + abs(b[j]));
    worst = max(worst, abs(a[j] - b[j]) / tol);
    worstDev = max(worstDev, dev);
  }
  return { worst, worstDev };
}

const report: string[] = [];
afterAll(() => console.log(`max |onnx − exact| / (1 + |exact|):\n${report.join('\n')}`));

describe('exact-mixture graphs agree with GaussianMixtureScore', () => {
  test('the shipped set covers every VP time convention × parameterization, and VE / sub-VP', () => {
    for (const time of ['t', 't999', 'sigma', 'timestep', 'edm_c_noise']) {
      for (const param of ['score', 'eps', 'x0']) expect(PLAIN).toContain(`mixture-vp-${time}-${param}.onnx`);
    }
    expect(PLAIN).toContain('mixture-ve-t-score.onnx');
    expect(PLAIN).toContain('mixture-subvp-t-score.onnx');
  });

  test.each(PLAIN)('%s', async (file) => {
    const m = await load(file);
    const [, sde, time, param] = /^mixture-(\w+)-(t|t999|sigma|timestep|edm_c_noise)-(score|eps|x0)\.onnx$/.exec(file)!;
    expect([m.card.sde.kind, m.card.timeInput, m.card.parameterization]).toEqual([sde, time, param]);
    const exact = exactFor(m);
    const n = 2000;
    const out: string[] = [];
    for (const snapped of [true, false]) {
      const { x, t } = batch(m, n, 11, snapped);
      const a = new Float64Array(2 * n);
      const b = new Float64Array(2 * n);
      await m.score(x, t, a);
      exact.scoreSync(x, t, b);
      // Snapped: the maths to 1e-5 (plus an x0 network's float32 floor). Unsnapped: float32
      // inputs too (σ → α is ill-conditioned near T under VP), at 1e-4.
      const { worst, worstDev } = worstRatio(m, x, t, a, b, snapped ? 1e-5 : 1e-4, snapped);
      out.push(`${snapped ? 'snapped' : 'raw t,x'} ${worstDev.toExponential(1)}`);
      expect(worst).toBeLessThanOrEqual(1);
      if (snapped) {
        // In the network's own output space (ε̂, x̂0 or s) there is no floor: 1e-5 for every file.
        const ya = new Float64Array(2 * n);
        const yb = new Float64Array(2 * n);
        fromScore(m.card.parameterization, m.sde, x, t, a, ya);
        fromScore(m.card.parameterization, m.sde, x, t, b, yb);
        let worstY = 0;
        for (let j = 0; j < yb.length; j++) worstY = max(worstY, abs(ya[j] - yb[j]) / (1 + abs(yb[j])));
        out.push(`output space ${worstY.toExponential(1)}`);
        expect(worstY).toBeLessThanOrEqual(1e-5);
      }
    }
    report.push(`  ${file.padEnd(36)} ${out.join('   ')}`);
  });
});

describe('float16, static batch, maxBatch', () => {
  test('float16 model: within 1e-2 of the exact score', async () => {
    const m = await load('mixture-vp-t-eps-fp16.onnx');
    const exact = exactFor(m);
    const n = 2000;
    // Inputs on the float16 grid: the conversion and the graph, element by element.
    const { x, t } = batch(m, n, 5, false);
    const { float16Bits, float16Value } = await import('../models/onnx');
    const xh = x.map((v) => float16Value(float16Bits(v)));
    const th = t.map((v) => float16Value(float16Bits(v)));
    const a = new Float64Array(2 * n);
    const b = new Float64Array(2 * n);
    await m.score(xh, th, a);
    exact.scoreSync(xh, th, b);
    let worst = 0;
    for (let j = 0; j < b.length; j++) worst = max(worst, abs(a[j] - b[j]) / (1 + abs(b[j])));
    expect(worst).toBeLessThan(1e-2);
    // Arbitrary float64 inputs: rounded to float16 on the way in, 1e-2 in the batch's norm.
    await m.score(x, t, a);
    exact.scoreSync(x, t, b);
    let num = 0;
    let den = 0;
    for (let j = 0; j < b.length; j++) {
      num += (a[j] - b[j]) ** 2;
      den += b[j] ** 2;
    }
    expect(sqrt(num / den)).toBeLessThan(1e-2);
    report.push(`  mixture-vp-t-eps-fp16.onnx (float16)   on-grid ${worst.toExponential(1)}   norm-relative ${sqrt(num / den).toExponential(1)}`);
  });

  test('static batch 8: padding (n < 8, n not a multiple of 8) and splitting (n > 8) match the dynamic graph', async () => {
    const fixed = await load('mixture-vp-t-score-b8.onnx');
    const dynamic = await load('mixture-vp-t-score.onnx');
    expect(fixed.staticBatch).toBe(8);
    expect(dynamic.staticBatch).toBeUndefined();
    for (const n of [1, 5, 8, 13, 16, 29]) {
      const { x, t } = batch(dynamic, n, 100 + n, false);
      const a = new Float64Array(2 * n);
      const b = new Float64Array(2 * n);
      await fixed.score(x, t, a);
      await dynamic.score(x, t, b);
      for (let j = 0; j < b.length; j++) expect(abs(a[j] - b[j])).toBeLessThanOrEqual(1e-6 * (1 + abs(b[j])));
    }
  });

  test('maxBatch splitting gives the unsplit result, and buffers reused across sizes stay correct', async () => {
    const split = await load('mixture-vp-t999-x0.onnx', { maxBatch: 7 });
    const whole = await load('mixture-vp-t999-x0.onnx');
    expect(split.chunkSize).toBe(7);
    for (const n of [30, 5, 7, 30, 1]) {
      const { x, t } = batch(whole, n, 7 * n, false);
      const a = new Float64Array(2 * n);
      const b = new Float64Array(2 * n);
      await split.score(x, t, a);
      await whole.score(x, t, b);
      for (let j = 0; j < b.length; j++) expect(abs(a[j] - b[j])).toBeLessThanOrEqual(1e-9 * (1 + abs(b[j])));
    }
  });

  test('concurrent score() calls are serialized, each gets its own answer', async () => {
    const m = await load('mixture-vp-t-score.onnx');
    const exact = exactFor(m);
    const jobs = [3, 3, 3].map((n, k) => ({ ...batch(m, n, 50 + k, true), out: new Float64Array(2 * n) }));
    await Promise.all(jobs.map((j) => m.score(j.x, j.t, j.out)));
    for (const j of jobs) {
      const b = new Float64Array(j.out.length);
      exact.scoreSync(j.x, j.t, b);
      for (let i = 0; i < b.length; i++) expect(abs(j.out[i] - b[i])).toBeLessThanOrEqual(1e-5 * (1 + abs(b[i])));
    }
  });

  test("bench's runRaw (outside the model class): one bare run on prepared float32 inputs gives the raw network output", async () => {
    const timed = await InstrumentedModel.load(join(DIR, 'mixture-vp-timestep-eps.onnx'), quiet);
    try {
      const m = timed.model;
      const n = 4;
      const { x, t } = batch(m, n, 3, true);
      const raw = await timed.runRaw(Float32Array.from(x), BigInt64Array.from(t, (ti) => BigInt(round(ti * 999))), n);
      expect(timed.sessionRuns).toBe(0); // the bare run is not the model's
      const s = new Float64Array(2 * n);
      await m.score(x, t, s);
      expect(timed.sessionRuns).toBe(1); // the model's own run goes through the instrument
      const eps = new Float64Array(2 * n);
      fromScore('eps', m.sde, x, t, s, eps);
      for (let j = 0; j < eps.length; j++) expect(abs(raw[j] - eps[j])).toBeLessThanOrEqual(1e-6 * (1 + abs(eps[j])));
    } finally {
      await timed.dispose();
    }
  });
});

describe('end to end', () => {
  test.each([
    ['mixture-vp-t999-eps.onnx', 4e-5],
    ['mixture-ve-sigma-score.onnx', 4e-5],
  ])('sample() with ode_heun (100 steps) on %s matches the in-process exact score', async (file, tolerance) => {
    const m = await load(file);
    const exact = exactFor(m);
    const req = { sde: m.sde, solver: 'ode_heun', settings: { steps: 100 }, n: 400, seed: 3 };
    const viaOnnx = await sample({ ...req, model: m });
    const inProcess = await sample({ ...req, model: exact });
    const a = viaOnnx.samples.data;
    const b = inProcess.samples.data;
    let worst = 0;
    for (let j = 0; j < b.length; j++) worst = max(worst, abs(a[j] - b[j]) / (1 + abs(b[j])));
    report.push(`  ${file.padEnd(36)} ode_heun 100 steps, 400 samples: ${worst.toExponential(1)}`);
    expect(viaOnnx.nfe).toBe(inProcess.nfe);
    expect(worst).toBeLessThan(tolerance);
  });
});
