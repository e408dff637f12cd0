/**
 * The solver interface as the next solvers will use it: self-describing definitions (adaptive,
 * budget, described settings, only the settings a solver uses), custom definitions, the
 * per-step callback with the denoised estimate, state transforms, cancellation, and firstSample.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { z } from 'zod';
import { AbortError, GaussianMixtureScore, NonFiniteError, SOLVERS, StepEvent, VESDE, VPSDE, budgetAxes, defineSolver, resolveSettings, sample } from '../index';
import { BUDGET_AXES } from '../configs/sweep';
import { fixedGridSettings, solverSettings } from '../solvers/settings';
import { cli } from './support/cli';

const MU = [1, -2];
const SD = [0.5, 2];
const vp = new VPSDE();
const exact = new GaussianMixtureScore(vp, { means: [MU], stds: [SD] });

describe('self-describing solvers', () => {
  test('every registered solver: settings described, budget among its settings, adaptive iff it takes no steps', () => {
    for (const s of SOLVERS) {
      const shape = (s.settings as unknown as z.ZodObject).shape as Record<string, z.ZodType>;
      for (const [key, field] of Object.entries(shape)) expect([key, field.description ?? '']).toEqual([key, expect.stringMatching(/\w{3}/)]);
      for (const key of s.budget) expect(Object.keys(shape)).toContain(key);
      expect(s.adaptive).toBe(!('steps' in shape));
    }
  });

  test('ode_rk45 rejects the settings it does not use (steps, grid, rho, noise)', () => {
    const rk45 = SOLVERS.find((s) => s.name === 'ode_rk45')!;
    for (const bad of [{ steps: 5 }, { grid: 'edm' }, { rho: 7 }, { noise: 'path' }]) {
      expect(() => resolveSettings(rk45, bad)).toThrow(new RegExp(`unrecognized key.*${Object.keys(bad)[0]}`, 'is'));
    }
    // The deterministic solvers take no noise setting either.
    for (const name of ['ode_euler', 'ode_heun']) expect(() => resolveSettings(SOLVERS.find((s) => s.name === name)!, { noise: 'path' })).toThrow(/noise/);
  });

  test("a sweep's budget axes come from the registry", () => {
    expect(budgetAxes()).toEqual(['solver.steps', 'solver.nfe', 'solver.rtol', 'solver.atol']);
    expect(BUDGET_AXES).toEqual(budgetAxes());
  });

  test('defineSolver refuses undescribed settings, budgets outside the schema, fixed-step solvers without steps', () => {
    const base = { family: 'sde' as const, summary: 'x', run: async () => {} };
    expect(() => defineSolver({ ...base, name: 'a', adaptive: false, budget: ['steps'], settings: solverSettings({ ...fixedGridSettings, k: z.number() }) })).toThrow(
      /solver 'a': settings without a description: k/,
    );
    expect(() => defineSolver({ ...base, name: 'b', adaptive: false, budget: ['steps', 'tol'], settings: solverSettings(fixedGridSettings) })).toThrow(/budget/);
    expect(() => defineSolver({ ...base, name: 'c', adaptive: false, budget: ['k'], settings: solverSettings({ k: z.number().describe('k') }) })).toThrow(/must take 'steps'/);
  });

  test('run manifest: ode_rk45 is adaptive (steps null, "adaptive" in the summary), fixed-step solvers default to N', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-solver-api-'));
    try {
      const config = (solver: string) => `sde: {kind: vp}\nmodel: {type: gaussian, mean: [0, 0], std: [1, 1]}\nsolver: ${solver}\nsampling: {n: 8}\noutput: {preview: false}\n`;
      fs.writeFileSync(path.join(tmp, 'rk45.yaml'), config('{name: ode_rk45, rtol: 1e-3, atol: 1e-3}'));
      fs.writeFileSync(path.join(tmp, 'heun.yaml'), config('{name: ode_heun}'));
      const rk = await cli(['run', 'rk45.yaml', '--out', 'rk', '--quiet'], tmp);
      expect(rk.code).toBe(0);
      expect(rk.stdout).toMatch(/ode_rk45 \(adaptive\), NFE \d+/);
      const manifest = JSON.parse(fs.readFileSync(path.join(tmp, 'rk', 'manifest.json'), 'utf8'));
      expect(manifest.solver.steps).toBeNull();
      expect(manifest.solver.settings).not.toHaveProperty('steps');
      await cli(['run', 'heun.yaml', '--out', 'heun', '--quiet'], tmp);
      expect(JSON.parse(fs.readFileSync(path.join(tmp, 'heun', 'manifest.json'), 'utf8')).solver.steps).toBe(1000);
      const bad = await cli(['validate', 'rk45.yaml', '--set', 'solver.steps=5'], tmp);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/solver\.steps: unknown key 'steps'/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('the per-step callback, state transforms and cancellation', () => {
  test('order per step: transforms → finiteness check → onStep → abort check → progress', async () => {
    const calls: string[] = [];
    const controller = new AbortController();
    const run = sample({
      sde: vp,
      model: exact,
      solver: 'euler_maruyama',
      settings: { steps: 5 },
      n: 4,
      stateTransforms: [(_x, c) => void calls.push(`transform ${c.step}`)],
      onStep: (e) => {
        calls.push(`onStep ${e.step}`);
        if (e.step === 2) controller.abort();
      },
      onProgress: (p) => void calls.push(`progress ${p.step}`),
      signal: controller.signal,
    });
    await expect(run).rejects.toThrow(AbortError);
    await expect(run).rejects.toThrow(/sampling aborted after step 2 \(t=0\.4\d*\) of samples 0–3/);
    expect(calls).toEqual(['transform 0', 'onStep 0', 'progress 1', 'transform 1', 'onStep 1', 'progress 2', 'transform 2', 'onStep 2']);
  });

  test('a transform that writes NaN is caught by the finiteness check before onStep sees it', async () => {
    const seen: number[] = [];
    const run = sample({
      sde: vp,
      model: exact,
      solver: 'pc',
      settings: { steps: 4, corrector: 'none' },
      n: 3,
      stateTransforms: [(x, c) => c.step === 1 && x.fill(NaN)],
      onStep: (e) => void seen.push(e.step),
    });
    await expect(run).rejects.toThrow(NonFiniteError);
    expect(seen).toEqual([0]);
  });

  test('an already aborted signal stops before any evaluation', async () => {
    let calls = 0;
    const model = { sampleShape: [2], score: async (x: Float64Array, t: Float64Array, out: Float64Array) => void (calls++, exact.scoreSync(x, t, out)) };
    await expect(sample({ sde: vp, model, solver: 'ode_heun', settings: { steps: 3 }, n: 2, signal: AbortSignal.abort() })).rejects.toThrow(/aborted before the first step/);
    expect(calls).toBe(0);
  });

  test('ode_rk45 is cancelled between iterations too', async () => {
    const controller = new AbortController();
    let iterations = 0;
    const run = sample({ sde: vp, model: exact, solver: 'ode_rk45', n: 4, signal: controller.signal, onStep: () => void (++iterations === 3 && controller.abort()) });
    await expect(run).rejects.toThrow(/aborted after step 2/);
  });

  test('onStep: every chunk reports its rows; denoised is Tweedie’s x̂0 from the step’s evaluation, (x + σ²s)/α', async () => {
    const events: StepEvent[] = [];
    const steps = 3;
    const xT = new Float64Array(10).map((_, i) => (i % 3) - 1);
    await sample({ sde: vp, model: exact, solver: 'euler_maruyama', settings: { steps, denoise: true }, n: 5, batchSize: 2, xT, onStep: (e) => void events.push({ ...e, x: e.x.slice(), denoised: e.denoised?.slice() }) });
    // 3 chunks (2, 2, 1) × (3 steps + the denoise step).
    expect(events.map((e) => [e.first, e.n, e.step])).toEqual([0, 2, 4].flatMap((first) => [0, 1, 2, 3].map((step) => [first, first === 4 ? 1 : 2, step])));
    // Step 0 of chunk 0 evaluates at x_T, t = T = 1: x̂0 = (x + σ(1)²·s)/α(1), the exact score of N(μ, σ_d²) written here.
    const e0 = events[0];
    const ab = Math.exp(-0.5 * 19.9 - 0.1); // ᾱ(1)
    for (let j = 0; j < 4; j++) {
      const d = j % 2;
      const variance = ab * SD[d] ** 2 + (1 - ab);
      const s = -(xT[j] - Math.sqrt(ab) * MU[d]) / variance;
      expect(Math.abs(e0.denoised![j] - (xT[j] + (1 - ab) * s) / Math.sqrt(ab))).toBeLessThan(1e-9);
    }
    expect(e0.denoisedAt).toBe(1);
    // The last event of a chunk is the denoise step: t = 0, and its x is the chunk's output.
    expect(events[3]).toMatchObject({ step: 3, t: 0 });
    expect(events[3].denoised).toEqual(events[3].x);
  });
});

describe('custom definitions and firstSample', () => {
  test('a custom SolverDefinition runs through sample() with its own typed settings', async () => {
    const shrink = defineSolver({
      name: 'shrink',
      family: 'ode',
      summary: 'multiplies x by a factor per step',
      adaptive: false,
      budget: ['steps'],
      settings: solverSettings({ ...fixedGridSettings, factor: z.number().default(0.5).describe('factor per step') }),
      async run(ctx, st) {
        for (let i = 0; i + 1 < ctx.grid.length; i++) {
          for (let j = 0; j < ctx.x.length; j++) ctx.x[j] *= st.factor;
          ctx.stepDone(i, ctx.grid[i + 1]);
        }
      },
    });
    const r = await sample({ sde: new VESDE(), model: exact, solver: shrink, settings: { steps: 3, factor: 2 }, n: 1, xT: Float64Array.of(1, -1) });
    expect(Array.from(r.samples.data)).toEqual([8, -8]);
    expect(r.settings).toMatchObject({ factor: 2, steps: 3 });
  });

  test('firstSample: rows of a piece equal the same rows of one big run (bitwise), in both noise modes and for pc', async () => {
    for (const [solver, settings] of [
      ['euler_maruyama', { steps: 7 }],
      ['euler_maruyama', { steps: 7, noise: 'path' }],
      ['pc', { steps: 4, correctorSteps: 2, noise: 'path' }],
    ] as const) {
      const whole = (await sample({ sde: vp, model: exact, solver, settings, n: 9, seed: 4 })).samples.data;
      const piece = (await sample({ sde: vp, model: exact, solver, settings, n: 4, seed: 4, firstSample: 3, batchSize: 3 })).samples.data;
      expect(piece).toEqual(whole.subarray(6, 14));
    }
  });
});
