/**
 * Classifier-free guidance against closed forms. Data: a 2-D Gaussian mixture whose components
 * are the classes; ClassMixtureScore is its exact conditional network (label k: component k
 * alone under the kernel, the null label: the mixture).
 *  - γ = 1 samples only the requested component: every sample nearest its label's mean, and per
 *    class the sliced Wasserstein distance to exact draws of that component at the noise floor
 *    (threshold 1.5·floor + 0.015, the per-mode rule of core-mixture.test.ts). Control: cond and
 *    uncond swapped (= γ 0) puts 1/3 … 1/2 of each class elsewhere.
 *  - γ = 0 reproduces the mixture: mode weights within 3 SE of the mixture's. Control: γ = 1 with
 *    the labels in turn gives equal thirds.
 *  - γ > 1 sharpens: on overlapping components the mean posterior p(y | x) of the requested class
 *    rises above γ = 1's (guided density ∝ p(x)^{1−γ} p(x|y)^γ at t = 0). Control: the sign
 *    flipped (γ·s(x) + (1 − γ)·s(x, y)) lowers it.
 *  - every solver in the registry with its default settings, at γ = 1 and γ = 3, labels cycled
 *    over a batch size that does not divide them: at least 98% of the samples at their own label's
 *    mode (pc's per-sample Langevin steps spread a few in 2-D), and the same samples whatever the
 *    batch size (the labels follow the sample, not its place in a chunk). Control: labels shifted
 *    by one class, 0%.
 */
import {
  ClassMixtureScore,
  defineSolver,
  fixedGridSettings,
  solverSettings,
  ClassifierFreeGuidance,
  ConditionalScoreModel,
  GaussianMixture,
  SOLVERS,
  VPSDE,
  convertPrediction,
  sample,
} from '../index';
import { maxAbsDiff, nearestModeCounts, slicedWasserstein } from './support/stats';

const { abs, exp, sqrt, max } = Math;
const vp = new VPSDE();
const SPEC = {
  means: [
    [-4, 0],
    [4, 0],
    [0, 4],
  ],
  stds: [0.5, 0.5, 0.5],
  weights: [0.5, 0.3, 0.2],
};
const net = new ClassMixtureScore(vp, SPEC, { classes: ['west', 'east', 'north'], parameterization: 'eps' });

/** Share of samples whose nearest mean is their requested label (sample i: labels[i mod L]). */
function onLabel(x: Float64Array, labels: readonly number[]): number {
  let hits = 0;
  const n = x.length / 2;
  for (let i = 0; i < n; i++) if (nearestModeCounts(x.subarray(2 * i, 2 * i + 2), 2, SPEC.means)[labels[i % labels.length]] === 1) hits++;
  return hits / n;
}

/** Rows of sample i with i mod L = k. */
function rowsOf(x: Float64Array, k: number, L: number): Float64Array {
  const out: number[] = [];
  for (let i = k; i < x.length / 2; i += L) out.push(x[2 * i], x[2 * i + 1]);
  return Float64Array.from(out);
}

async function guided(model: ConditionalScoreModel, scale: number, labels: number[], n: number, opts: { solver?: string; steps?: number; seed?: number } = {}) {
  const g = new ClassifierFreeGuidance(model, { scale, labels });
  const r = await sample({ sde: vp, model: g, solver: opts.solver ?? 'euler_maruyama', settings: { steps: opts.steps ?? 200 }, n, seed: opts.seed ?? 3 });
  return { x: r.samples.data as Float64Array, result: r, guidance: g };
}

/** The conditional network with its two answers swapped (the control): label → uncond, null → cond. */
function swapped(model: ClassMixtureScore, label: (row: number) => number): ConditionalScoreModel {
  const K = model.conditioning.nullLabel;
  const swap = (labels: Int32Array) => Int32Array.from(labels, (l, r) => (l === K ? label(r) : K));
  return {
    sampleShape: model.sampleShape,
    conditioning: model.conditioning,
    score: (x, t, out) => model.score(x, t, out),
    scoreWithLabels: (x, t, labels, out) => model.scoreWithLabels(x, t, swap(labels), out),
  };
}

describe('the guidance wrapper', () => {
  const n = 5;
  const x = Float64Array.from({ length: 2 * n }, (_, i) => 3 * Math.sin(1.7 * i));
  const t = Float64Array.from({ length: n }, (_, i) => 0.1 + 0.2 * i);

  test('one network call on 2m rows, labels [y; null]; out = γ·cond + (1 − γ)·uncond; γ ∈ {0, 1} evaluate one half', async () => {
    const calls: { rows: number; labels: number[] }[] = [];
    const spy: ConditionalScoreModel = {
      sampleShape: net.sampleShape,
      conditioning: net.conditioning,
      score: (a, b, c) => net.score(a, b, c),
      scoreWithLabels: (a, b, labels, out) => {
        calls.push({ rows: b.length, labels: [...labels.subarray(0, b.length)] });
        return net.scoreWithLabels(a, b, labels, out);
      },
    };
    const cond = new Float64Array(2 * n);
    const uncond = new Float64Array(2 * n);
    const labels = [2, 0, 1, 2, 0];
    await net.scoreWithLabels(x, t, Int32Array.from(labels), cond);
    await net.score(x, t, uncond);
    for (const scale of [2.5, 1, 0, -0.5]) {
      calls.length = 0;
      const g = new ClassifierFreeGuidance(spy, { scale, labels: [2, 0, 1] });
      const out = new Float64Array(2 * n);
      await g.score(x, t, out, [12, 13, 14, 15, 16]); // samples 12..16: labels[i mod 3] = 2, 0, 1, 2, 0
      const want = Float64Array.from(cond, (c, j) => scale * c + (1 - scale) * uncond[j]);
      expect(maxAbsDiff(out, want)).toBeLessThan(1e-12);
      const half = scale === 0 || scale === 1;
      expect(calls).toEqual([{ rows: half ? n : 2 * n, labels: scale === 0 ? [3, 3, 3, 3, 3] : half ? labels : [...labels, 3, 3, 3, 3, 3] }]);
      expect(g.network).toEqual({ calls: 1, rows: half ? n : 2 * n });
      expect(g.w).toBe(scale - 1);
    }
  });

  test('predict() combines the native ε-predictions, which convert to the guided score', async () => {
    const g = new ClassifierFreeGuidance(net, { scale: 3, labels: [0, 1, 2] });
    expect(g.parameterization).toBe('eps');
    const eps = new Float64Array(2 * n);
    const score = new Float64Array(2 * n);
    await g.predict!(x, t, eps);
    await g.score(x, t, score);
    const converted = new Float64Array(2 * n);
    convertPrediction('eps', 'score', vp, x, t, eps, converted);
    expect(maxAbsDiff(converted, score)).toBeLessThan(1e-12);
  });

  test('labels out of range and non-finite scales are refused by name', () => {
    expect(() => new ClassifierFreeGuidance(net, { scale: 2, labels: [0, 3] })).toThrow(/labels\[1\] = 3 is out of range: the model's classes are 0 … 2 \(3 is its null label\)/);
    expect(() => new ClassifierFreeGuidance(net, { scale: NaN, labels: [0] })).toThrow(/guidance scale must be a finite number/);
  });
});

describe('guidance on a mixture whose components are the classes', () => {
  test('γ = 1 samples only the requested component (per class at the noise floor); cond/uncond swapped does not', async () => {
    const n = 1500;
    const labels = [0, 1, 2];
    const { x } = await guided(net, 1, labels, n);
    expect(onLabel(x, labels)).toBe(1);
    for (let k = 0; k < 3; k++) {
      const ours = rowsOf(x, k, 3);
      const m = ours.length / 2;
      const component = new GaussianMixture({ means: [SPEC.means[k]], stds: [0.5] });
      const exact = component.sample(m, 100 + k);
      let floor2 = 0;
      for (let p = 0; p < 16; p++) floor2 += slicedWasserstein(component.sample(m, 200 + 2 * p), component.sample(m, 201 + 2 * p), 2, 64) ** 2;
      const threshold = 1.5 * sqrt(floor2 / 16) + 0.015;
      const sw = slicedWasserstein(ours, exact, 2, 64);
      console.log(`class ${k}: SW ${sw.toFixed(4)} vs threshold ${threshold.toFixed(4)}`);
      expect(sw).toBeLessThan(threshold);
    }
    const control = await guided(swapped(net, (r) => labels[r % 3]), 1, labels, n);
    const share = onLabel(control.x, labels);
    console.log(`control (swapped): ${share.toFixed(3)} on their label`);
    expect(share).toBeLessThan(0.7);
  });

  test('γ = 0 reproduces the mixture: mode weights within 3 SE; γ = 1 with the labels in turn does not', async () => {
    const n = 3000;
    const weightsOk = (x: Float64Array) =>
      nearestModeCounts(x, 2, SPEC.means).every((c, k) => abs(c / n - SPEC.weights[k]) < 3 * sqrt((SPEC.weights[k] * (1 - SPEC.weights[k])) / n));
    const zero = await guided(net, 0, [0, 1, 2], n);
    console.log(`γ = 0 weights: ${nearestModeCounts(zero.x, 2, SPEC.means).map((c) => (c / n).toFixed(3)).join(', ')}`);
    expect(weightsOk(zero.x)).toBe(true);
    expect(weightsOk((await guided(net, 1, [0, 1, 2], n)).x)).toBe(false);
  });

  test('γ > 1 concentrates on the class: the mean posterior p(y | x) rises above γ = 1; the flipped sign lowers it', async () => {
    // Overlapping classes in 1-D: N(−1, 1) and N(1, 1).
    const spec = { means: [[-1], [1]], stds: [1, 1] };
    const overlap = new ClassMixtureScore(vp, spec);
    const posterior = (x: Float64Array, y: number) => {
      let s = 0;
      for (const v of x) s += 1 / (1 + exp(-2 * (y === 1 ? v : -v))); // p(y | x) for means ±1, unit variances
      return s / x.length;
    };
    const n = 4000;
    const run = async (model: ConditionalScoreModel, scale: number) => (await guided(model, scale, [1], n, { steps: 200 })).x;
    const p1 = posterior(await run(overlap, 1), 1);
    const p3 = posterior(await run(overlap, 3), 1);
    const flipped = posterior(await run(swapped(overlap, () => 1), 3), 1);
    console.log(`mean p(y | x): γ = 1 ${p1.toFixed(3)}, γ = 3 ${p3.toFixed(3)}, sign flipped ${flipped.toFixed(3)}`);
    // SE of each mean posterior ≤ 0.5/√n ≈ 0.008: the gaps asked for are over 5 SE.
    expect(p3).toBeGreaterThan(p1 + 0.04);
    expect(flipped).toBeLessThan(p1 - 0.04);
  });
});

describe('guidance with every solver', () => {
  const labels = [0, 1, 2];
  const n = 240;
  const settingsOf = (s: (typeof SOLVERS)[number]) => (s.adaptive ? {} : { steps: 60 });

  test.each(SOLVERS.map((s) => s.name))('%s: γ = 1 and γ = 3 put the samples at their labels, whatever the batch size', async (name) => {
    const solver = SOLVERS.find((s) => s.name === name)!;
    for (const scale of [1, 3]) {
      const run = (batchSize: number) =>
        sample({ sde: vp, model: new ClassifierFreeGuidance(net, { scale, labels }), solver: name, settings: settingsOf(solver), n, batchSize, seed: 9 });
      const whole = await run(n);
      const chunked = await run(64);
      const x = whole.samples.data as Float64Array;
      expect(onLabel(x, labels)).toBeGreaterThanOrEqual(0.98);
      expect(chunked.samples.data).toEqual(x);
      // One NFE per guided evaluation.
      expect(whole.nfe).toBeGreaterThan(0);
    }
  });

  test('control: labels shifted by one class put no sample at its requested label', async () => {
    const r = await sample({ sde: vp, model: new ClassifierFreeGuidance(net, { scale: 1, labels: [1, 2, 0] }), solver: 'ode_heun', settings: { steps: 30 }, n, seed: 9 });
    expect(onLabel(r.samples.data as Float64Array, labels)).toBe(0);
  });

  test('guided NFE and network rows: one NFE per evaluation, 2 rows per sample at γ = 3, 1 at γ = 1', async () => {
    for (const [scale, rows] of [
      [3, 2],
      [1, 1],
    ]) {
      const g = new ClassifierFreeGuidance(net, { scale, labels });
      const r = await sample({ sde: vp, model: g, solver: 'ode_heun', settings: { steps: 10 }, n: 30, batchSize: 16 });
      expect(r.nfe).toBe(20);
      expect(g.network.rows / 30).toBe(20 * rows);
      expect(g.network.calls).toBe(r.calls);
    }
  });
});

describe('per-sample rows through the driver', () => {
  test('a solver that evaluates part of a chunk without naming the rows is refused for a perSample model', async () => {
    const partial = defineSolver({
      name: 'partial',
      family: 'ode',
      summary: 'evaluates the first half of the rows (a test double)',
      adaptive: false,
      budget: ['steps'],
      settings: solverSettings({ ...fixedGridSettings }),
      async run(ctx) {
        const m = ctx.n >> 1;
        await ctx.model.score(ctx.x.subarray(0, 2 * m), new Float64Array(m).fill(ctx.grid[0]), new Float64Array(2 * m));
      },
    });
    const model = new ClassifierFreeGuidance(net, { scale: 2, labels: [0, 1, 2] });
    await expect(sample({ sde: vp, model, solver: partial, settings: { steps: 2 }, n: 8 })).rejects.toThrow(
      /solver 'partial' evaluated 4 of the chunk's 8 rows without saying which \(rows\)/,
    );
    // An unconditional model does not care.
    await expect(sample({ sde: vp, model: net, solver: partial, settings: { steps: 2 }, n: 8 })).resolves.toBeDefined();
  });
});

describe('guidance unused by the unguided paths', () => {
  test("a conditional network's plain score is the unconditional one (the null label)", async () => {
    const x = Float64Array.of(0.3, -1, 2, 2);
    const t = Float64Array.of(0.2, 0.7);
    const a = new Float64Array(4);
    const b = new Float64Array(4);
    await net.score(x, t, a);
    await net.scoreWithLabels(x, t, Int32Array.of(3, 3), b);
    expect(a).toEqual(b);
    expect(max(...a.map(abs))).toBeGreaterThan(0);
  });
});
