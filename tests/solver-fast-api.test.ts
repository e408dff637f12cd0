/**
 * The fast solvers behind the solver interface: batch invariance, the evaluation budget (nfe),
 * the step to t = 0, dynamic thresholding, predictions reaching a network's native output through
 * the driver's guard, and settings errors that name the field.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GaussianMixtureScore, NonFiniteError, ParameterError, SOLVERS, SolverContext, VESDE, VPSDE, defineSolver, getSolver, predict, resolveSettings, sample, solverSettings } from '../index';
import { fixedGridSettings } from '../solvers/settings';
import { Thresholder } from '../solvers/thresholding';
import { loadOnnxScoreModel } from '../models/onnx';
import { cli } from './support/cli';

const MIXTURE = { means: [[-2, 1], [3, 0], [0, -4]], stds: [[0.3, 0.6], [0.8, 0.8], [1.2, 0.2]], weights: [0.5, 0.3, 0.2] };
const FAST = ['ddim', 'dpm_solver', 'dpmpp_2m', 'dpmpp_3m', 'dpmpp_2m_sde', 'unipc', 'edm'];

describe('batch invariance: a sample does not depend on its batch-mates or the chunking', () => {
  /** 260 samples in chunks of 1, 7 and 260: bitwise the same rows (noise keyed by global index). */
  const runs: [string, Record<string, unknown>][] = [
    ['ddim', {}],
    ['ddim', { eta: 1 }],
    ['ddim', { eta: 0.5, noise: 'path' }],
    ['dpm_solver', { order: 2 }],
    ['dpm_solver', { order: 3, denoiseToZero: true }],
    ['dpmpp_2m', {}],
    ['dpmpp_3m', {}],
    ['dpmpp_2m_sde', {}],
    ['dpmpp_2m_sde', { noise: 'path', eta: 0.5 }],
    ['unipc', {}],
    ['unipc', { order: 2, variant: 'bh2', prediction: 'eps' }],
    ['edm', {}],
    ['edm', { sChurn: 20, sTmin: 0.05, sTmax: 20 }],
  ];
  const sde = new VPSDE();
  const model = new GaussianMixtureScore(sde, MIXTURE);
  test.each(runs)('%s %j', async (solver, settings) => {
    const n = 260;
    const results = [];
    for (const batchSize of [1, 7, n]) results.push((await sample({ sde, model, n, batchSize, seed: 4, solver, settings: { ...settings, steps: 6 } })).samples.data);
    expect(results[0]).toEqual(results[2]);
    expect(results[1]).toEqual(results[2]);
    // Not trivially equal: the rows differ from each other and from x_T.
    expect(results[2][0]).not.toEqual(results[2][2]);
  });
});

describe('the evaluation budget nfe', () => {
  const sde = new VPSDE();
  const model = new GaussianMixtureScore(sde, MIXTURE);
  test.each([
    ['ddim', {}, 10, 10],
    ['dpm_solver', { order: 2 }, 10, 5],
    ['dpm_solver', { order: 3 }, 10, 3],
    ['dpmpp_3m', { denoiseToZero: true }, 10, 9],
    ['unipc', {}, 10, 10],
    ['edm', {}, 10, 4],
    ['edm', { denoiseToZero: false }, 10, 5],
    ['ode_heun', {}, 10, 5],
    ['pc', {}, 9, 4],
    ['ode_euler', { denoise: true }, 10, 9],
  ] as const)('%s %j with nfe %d takes %d steps, spending at most nfe', async (solver, settings, nfe, steps) => {
    const r = await sample({ sde, model, n: 4, solver, settings: { ...settings, nfe } });
    expect(r.steps).toBe(steps);
    expect(r.nfe).toBeLessThanOrEqual(nfe);
    expect(r.nfe).toBe(getSolver(solver).evaluations!(steps, r.settings) + (r.settings.denoise ? 1 : 0));
  });

  test('steps and nfe together, or a budget below one step, are errors naming nfe', async () => {
    expect(() => resolveSettings(getSolver('unipc'), { steps: 10, nfe: 10 })).toThrow(/nfe: give steps or nfe, not both/);
    await expect(sample({ sde, model, n: 2, solver: 'dpm_solver', settings: { nfe: 2 } })).rejects.toThrow(/nfe: 2 evaluations are fewer than one step of 'dpm_solver'.*\(3\)/);
    await expect(sample({ sde, model, n: 2, solver: 'pc', settings: { nfe: 10, predictor: 'none', correctorSteps: 0 } })).rejects.toThrow(/nfe: 'pc' with these settings spends no evaluations per step/);
  });
});

describe('the last step to t = 0 (denoiseToZero)', () => {
  test.each(['ddim', 'dpm_solver', 'dpmpp_2m', 'dpmpp_3m', 'dpmpp_2m_sde', 'unipc'])('%s: x ← x̂_0(x_eps, eps), one more evaluation', async (solver) => {
    const sde = new VESDE();
    const model = new GaussianMixtureScore(sde, MIXTURE, { parameterization: 'x0' });
    const base = { sde, model, n: 5, seed: 2, solver, settings: { steps: 7 } };
    const atEps = await sample(base);
    const toZero = await sample({ ...base, settings: { steps: 7, denoiseToZero: true } });
    const x0 = new Float64Array(atEps.samples.data.length);
    await predict(model, sde, 'x0', atEps.samples.data, new Float64Array(5).fill(sde.defaultEps), x0);
    expect(toZero.samples.data).toEqual(x0);
    expect(toZero.nfe).toBe(atEps.nfe + 1);
  });

  test("edm's last step to σ = 0 (its default) returns the denoiser's output at eps", async () => {
    const sde = new VPSDE();
    const model = new GaussianMixtureScore(sde, MIXTURE, { parameterization: 'x0' });
    const heunOnly = await sample({ sde, model, n: 5, seed: 2, solver: 'edm', settings: { steps: 6, denoiseToZero: false } });
    const full = await sample({ sde, model, n: 5, seed: 2, solver: 'edm', settings: { steps: 6 } });
    const x0 = new Float64Array(10);
    await predict(model, sde, 'x0', heunOnly.samples.data, new Float64Array(5).fill(sde.defaultEps), x0);
    for (let i = 0; i < 10; i++) expect(Math.abs(full.samples.data[i] - x0[i])).toBeLessThan(1e-12);
    expect([heunOnly.nfe, full.nfe]).toEqual([12, 13]);
  });

  test("score_sde's denoise is not offered where the last step returns x̂_0", () => {
    for (const name of FAST) expect(() => resolveSettings(getSolver(name), { denoise: true })).toThrow(/unrecognized key.*denoise/is);
  });
});

describe('dynamic thresholding of x̂_0', () => {
  test('per sample: within the range untouched, beyond it clipped at the ratio quantile and rescaled into the range', () => {
    const dim = 200;
    const ctx = { dataRange: [0, 2], dim } as unknown as SolverContext;
    const t = Thresholder.for(ctx, { thresholding: true, thresholdRatio: 0.9 }, 'test')!;
    // Row 0 inside [0, 2]; row 1: |u| = |x − 1| spread evenly over [0, 3.98].
    const x = new Float64Array(2 * dim);
    for (let j = 0; j < dim; j++) {
      x[j] = 0.01 * j;
      x[dim + j] = 1 + (j % 2 ? 1 : -1) * 0.02 * j;
    }
    const before = x.slice();
    t.apply(x);
    expect(x.subarray(0, dim)).toEqual(before.subarray(0, dim));
    // Quantile 0.9 of the sorted |u| (0.02·j, j = 0..199) by linear interpolation: 0.02·179.1.
    const s = 0.02 * 179.1;
    for (let j = 0; j < dim; j++) {
      const u = before[dim + j] - 1;
      expect(x[dim + j]).toBeCloseTo(1 + Math.max(-s, Math.min(s, u)) / s, 12);
    }
    expect(Math.max(...x)).toBeLessThanOrEqual(2);
  });

  test('a run with thresholding lands in the data range; without, the same run does not', async () => {
    const sde = new VPSDE();
    // Data at ±3: well outside the declared range [-1, 1].
    const model = new GaussianMixtureScore(sde, { means: [[3, -3]], stds: [[0.5, 0.5]] });
    const base = { sde, model, n: 50, seed: 1, dataRange: [-1, 1] as [number, number] };
    for (const solver of ['ddim', 'dpmpp_2m', 'dpmpp_3m', 'unipc', 'edm']) {
      const on = await sample({ ...base, solver, settings: { steps: 8, thresholding: true, denoiseToZero: true } });
      expect(Math.max(...on.samples.data.map(Math.abs))).toBeLessThanOrEqual(1);
      const off = await sample({ ...base, solver, settings: { steps: 8, denoiseToZero: true } });
      expect(Math.max(...off.samples.data.map(Math.abs))).toBeGreaterThan(2);
    }
  });

  test('thresholding without a data range is an error naming the setting and where the range comes from', async () => {
    const sde = new VPSDE();
    const model = new GaussianMixtureScore(sde, MIXTURE);
    await expect(sample({ sde, model, n: 2, solver: 'dpmpp_2m', settings: { steps: 3, thresholding: true } })).rejects.toThrow(
      new ParameterError("solver 'dpmpp_2m': thresholding needs the data's range (a model card's dataRange, or SampleRequest.dataRange); this model has none"),
    );
  });

  test("the shipped U-Net's card gives the range: score-sde run with thresholding keeps every pixel in [-1, 1]", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-fast-'));
    try {
      const unet = path.join(__dirname, '..', 'models', 'fashion-mnist', 'unet-vp.onnx');
      const config = (thresholding: boolean) =>
        `model: {type: onnx, path: ${unet}}\nsolver: {name: dpmpp_2m, steps: 3, thresholding: ${thresholding}, denoiseToZero: true}\nsampling: {n: 4}\ndevice: cpu\nreference: none\noutput: {preview: false}\n`;
      fs.writeFileSync(path.join(tmp, 'on.yaml'), config(true));
      const r = await cli(['run', 'on.yaml', '--out', 'on', '--quiet'], tmp);
      expect(r.code).toBe(0);
      const { readNpy } = await import('../core/npy');
      const samples = readNpy(path.join(tmp, 'on', 'samples.npy'));
      const values = Array.from(samples.data as Float32Array);
      expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(1);
      expect(new Set(values.map((v) => v.toFixed(3))).size).toBeGreaterThan(100);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('predictions reach the network through the driver', () => {
  const file = path.join(__dirname, '..', 'models', 'exact', 'mixture-vp-t-eps.onnx');
  /** A solver that asks for ε̂ at T once and keeps it as its result. */
  const askEps = defineSolver({
    name: 'ask_eps',
    family: 'ode',
    summary: 'asks for the noise prediction once (test)',
    adaptive: false,
    budget: ['steps'],
    settings: solverSettings(fixedGridSettings),
    async run(ctx) {
      const out = new Float64Array(ctx.x.length);
      await predict(ctx.model, ctx.sde, 'eps', ctx.x, new Float64Array(ctx.n).fill(ctx.grid[0]), out);
      ctx.x.set(out);
      ctx.stepDone(0, ctx.grid[ctx.grid.length - 1]);
    },
  });

  test('an ε-network asked for ε through sample(): its raw output bit for bit, one evaluation per sample', async () => {
    const model = await loadOnnxScoreModel(file, { device: 'cpu', log: () => {} });
    try {
      const n = 9;
      const xT = Float64Array.from({ length: 2 * n }, (_, i) => Math.fround(Math.sin(i) * 2));
      const r = await sample({ sde: model.sde, model, n, solver: askEps, settings: { steps: 1 }, xT });
      const direct = new Float64Array(2 * n);
      await model.predict(xT, new Float64Array(n).fill(model.sde.T), direct);
      expect(r.samples.data).toEqual(direct);
      expect([r.calls, r.evaluations]).toEqual([1, n]);
      // Negative control: the round trip through the score (what the guard used to force) is not exact.
      const viaScore = new Float64Array(2 * n);
      await model.score(xT, new Float64Array(n).fill(model.sde.T), viaScore);
      for (let j = 0; j < viaScore.length; j++) viaScore[j] *= -model.sde.std(model.sde.T);
      expect(viaScore).not.toEqual(direct);
    } finally {
      await model.dispose();
    }
  });

  test("a non-finite native prediction names the solver, step and what was wrong", async () => {
    const sde = new VPSDE();
    const inner = new GaussianMixtureScore(sde, MIXTURE, { parameterization: 'x0' });
    const broken = {
      sampleShape: [2],
      parameterization: 'x0' as const,
      sde,
      score: (x: Float64Array, t: Float64Array, out: Float64Array) => inner.score(x, t, out),
      predict: async (x: Float64Array, t: Float64Array, out: Float64Array) => {
        await inner.predict(x, t, out);
        if (t[0] < 0.5) out[3] = NaN;
      },
    };
    // Grid 1, 0.75025, 0.5005, 0.25075, 0.001: the first evaluation below t = 0.5 is step 3's.
    const run = sample({ sde, model: broken, n: 3, solver: 'dpmpp_2m', settings: { steps: 4, grid: 'uniform' } });
    await expect(run).rejects.toThrow(NonFiniteError);
    await expect(run).rejects.toThrow(/^solver 'dpmpp_2m': non-finite value in the model's x0 prediction at step 3 \(t=0\.2507/);
  });
});

describe('settings errors name the field', () => {
  test.each([
    ['dpm_solver', { order: 4 }, /order:/],
    ['unipc', { order: 4 }, /order:/],
    ['unipc', { thresholding: true, prediction: 'eps' }, /thresholding: thresholding clips x̂_0: it needs prediction: 'x0'/],
    ['dpmpp_2m', { thresholdRatio: 0.9 }, /thresholdRatio: thresholdRatio applies with thresholding: true only/],
    ['dpmpp_2m', { thresholding: true, thresholdRatio: 1.5 }, /thresholdRatio:/],
    ['ddim', { eta: 2 }, /eta:/],
    ['dpmpp_2m_sde', { eta: 0 }, /eta:/],
    ['edm', { sChurn: -1 }, /sChurn:/],
    ['edm', { rho: 7, grid: 'logsnr' }, /rho: rho applies to grid 'edm' only \(grid is 'logsnr'\)/],
    ['unipc', { variant: 'bh3' }, /variant:/],
    ['dpmpp_3m', { lowerOrderFinal: 'yes' }, /lowerOrderFinal:/],
  ] as const)('%s %j', (name, settings, message) => {
    expect(() => resolveSettings(getSolver(name), settings)).toThrow(message);
  });

  test('every fast solver: default grid named in its description, nfe and evaluations, registered', () => {
    const defaults: Record<string, string> = { ddim: 'logsnr', dpm_solver: 'logsnr', dpmpp_2m: 'logsnr', dpmpp_3m: 'logsnr', dpmpp_2m_sde: 'logsnr', unipc: 'logsnr', edm: 'edm' };
    for (const name of FAST) {
      const solver = SOLVERS.find((s) => s.name === name)!;
      expect(solver).toBeDefined();
      expect((resolveSettings(solver, {}) as { grid?: string }).grid).toBe(defaults[name]);
      expect(solver.budget).toEqual(['steps', 'nfe']);
      expect(solver.evaluations).toBeDefined();
    }
  });
});

describe('the denoised estimate each step reports', () => {
  test.each(FAST)('%s: onStep gets x̂_0 from an evaluation of that step, at a time of the step', async (solver) => {
    const sde = new VPSDE();
    const model = new GaussianMixtureScore(sde, MIXTURE);
    const seen: { t: number; at?: number; ok: boolean }[] = [];
    const r = await sample({
      sde,
      model,
      n: 3,
      solver,
      settings: { steps: 5, grid: 'uniform' },
      onStep: (e) => {
        seen.push({ t: e.t, at: e.denoisedAt, ok: e.denoised !== undefined && e.denoised.length === 6 && e.denoised.every(Number.isFinite) });
      },
    });
    expect(seen.length).toBe(r.steps! + (r.settings.denoiseToZero ? 1 : 0));
    const grid = [1, 0.8002, 0.6004, 0.4006, 0.2008, 0.001];
    seen.forEach((s, i) => {
      expect(s.ok).toBe(true);
      // From the step's own evaluations: between its start and its end.
      expect(s.at!).toBeLessThanOrEqual(grid[Math.min(i, 5)] + 1e-12);
      expect(s.at!).toBeGreaterThanOrEqual(grid[Math.min(i + 1, 5)] - 1e-12);
    });
  });
});
