/**
 * Failure modes: non-finite values are reported with solver, step and t; bad input gives an
 * error that names the offending parameter and what is allowed.
 */
import ndarray from 'ndarray';
import {
  GaussianMixtureScore,
  NonFiniteError,
  ParameterError,
  SDE,
  SOLVERS,
  ScoreModel,
  SubVPSDE,
  VESDE,
  VPSDE,
  getSolver,
  makeSDE,
  resolveSettings,
  sample,
  timeGrid,
} from '../index';

const MIX = { means: [[1, -2]], stds: [[0.5, 2]] };

/** The exact score, except NaN for every sample at t < tBad. */
function nanBelow(sde: SDE, tBad: number): ScoreModel {
  const exact = new GaussianMixtureScore(sde, MIX);
  return {
    sampleShape: [2],
    async score(x, t, out) {
      exact.scoreSync(x, t, out);
      for (let i = 0; i < t.length; i++) if (t[i] < tBad) out[2 * i + 1] = Number.NaN;
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('non-finite values', () => {
  // 10 uniform steps from 1 to eps = 1e-3: grid[i] = 1 − 0.0999 i, so grid[6] ≈ 0.4006 is the
  // first time below 0.5. Each solver must fail at the step where it first evaluates there:
  //   euler_maruyama, ode_euler, pc (corrector first, at grid[i]): step 6, t = grid[6];
  //   ode_heun: its second stage of step 5 evaluates at grid[6]: step 5, t = grid[6].
  const steps = 10;
  const eps = 1e-3;
  const grid6 = 1 + ((eps - 1) * 6) / steps;
  const cases: [string, Record<string, unknown>, number][] = [
    ['euler_maruyama', {}, 6],
    ['pc', {}, 6],
    ['pc', { corrector: 'none' }, 6],
    ['ode_euler', {}, 6],
    ['ode_heun', {}, 5],
  ];
  test.each(cases)('%s %j: NonFiniteError naming the solver, the step and t', async (solver, st, step) => {
    const sde = new VPSDE();
    const e = await rejection(sample({ sde, model: nanBelow(sde, 0.5), solver, settings: { steps, eps, ...st }, n: 5, seed: 1 }));
    expect(e).toBeInstanceOf(NonFiniteError);
    const nf = e as NonFiniteError;
    expect(nf.solver).toBe(solver);
    expect(nf.step).toBe(step);
    expect(nf.t).toBeCloseTo(grid6, 12);
    expect(nf.message).toContain(`'${solver}'`);
    expect(nf.message).toContain(`step ${step}`);
    expect(nf.message).toContain(`t=${nf.t}`);
    expect(nf.message).toMatch(/score/);
  });

  test('a finite score that overflows x is caught in x at the first step', async () => {
    // VE: g² = σ(t)²·2 ln(5000) ≈ 4e4 at t = 1, so 1e308 × g² = Infinity in the first update.
    const sde = new VESDE();
    const huge: ScoreModel = {
      sampleShape: [2],
      async score(_x, _t, out) {
        out.fill(1e308);
      },
    };
    const e = await rejection(sample({ sde, model: huge, solver: 'euler_maruyama', settings: { steps, eps }, n: 3 }));
    expect(e).toBeInstanceOf(NonFiniteError);
    expect((e as NonFiniteError).step).toBe(0);
    expect(e.message).toMatch(/euler_maruyama.*non-finite value in x at step 0/);
  });

  test('NaN only at the denoising step is caught too', async () => {
    const sde = new VPSDE();
    // eps = 1e-3: only the final denoise evaluation is at t < 2e-3.
    const e = await rejection(
      sample({ sde, model: nanBelow(sde, 2e-3), solver: 'ode_euler', settings: { steps, eps, denoise: true }, n: 2 }),
    );
    expect(e).toBeInstanceOf(NonFiniteError);
    expect((e as NonFiniteError).t).toBe(eps);
  });
});

describe('bad input gives a clear error', () => {
  const sde = new VPSDE();
  const model = new GaussianMixtureScore(sde, { means: [[0, 0]] });
  const run = (extra: Record<string, unknown>, settings: Record<string, unknown> = {}) =>
    rejection(sample({ sde, model, solver: 'pc', n: 2, ...extra, settings: { steps: 3, ...settings } }));

  test('unknown solver: the message lists every valid name', async () => {
    const e = await rejection(sample({ sde, model, solver: 'eular', n: 2 }));
    expect(e).toBeInstanceOf(ParameterError);
    expect(e.message).toContain("'eular'");
    for (const s of SOLVERS) expect(e.message).toContain(s.name);
    expect(() => getSolver('')).toThrow(/unknown solver/);
  });

  test.each([[-1], [0], [2.5], [Number.NaN]])('steps = %s', async (steps) => {
    const e = await run({}, { steps });
    expect(e).toBeInstanceOf(ParameterError);
    expect(e.message).toMatch(/steps/);
  });

  test('unknown settings keys are rejected by every solver (strict schemas)', () => {
    for (const s of SOLVERS) {
      expect(() => resolveSettings(s, { stpes: 10 })).toThrow(ParameterError);
      expect(() => resolveSettings(s, { stpes: 10 })).toThrow(/stpes/);
    }
  });

  test.each([[0], [-0.1]])('snr = %s', async (snr) => {
    const e = await run({}, { snr });
    expect(e.message).toMatch(/snr/);
  });

  test('eps must be in (0, T)', async () => {
    for (const eps of [1, 2]) expect((await run({}, { eps })).message).toMatch(/eps must be < T=1, got/);
    for (const eps of [0, -1e-3]) expect((await run({}, { eps })).message).toMatch(/eps/);
    expect(() => timeGrid(new VESDE({ T: 2 }), 10, 2)).toThrow(/eps must be < T=2/);
  });

  test('unknown grid', async () => {
    expect((await run({}, { grid: 'log' })).message).toMatch(/grid.*uniform.*edm/s);
    expect(() => timeGrid(sde, 10, 1e-3, 'log' as never)).toThrow(/unknown time grid 'log'/);
  });

  test('unknown predictor / corrector; predictor none without a corrector', async () => {
    expect((await run({}, { predictor: 'heun' })).message).toMatch(/predictor.*reverse_diffusion/s);
    expect((await run({}, { corrector: 'mala' })).message).toMatch(/corrector.*langevin/s);
    expect((await run({}, { predictor: 'none', corrector: 'none' })).message).toMatch(/predictor 'none' needs a corrector/);
  });

  test('xT of the wrong length or shape', async () => {
    const e1 = await run({ xT: new Float64Array(3) });
    expect(e1.message).toMatch(/xT has 3 values, expected .*4/);
    const e2 = await run({ xT: ndarray(new Float64Array(4), [1, 4]) });
    expect(e2.message).toMatch(/xT has shape \[1, 4\], expected \[2, 2\]/);
  });

  test('n, batchSize and seed', async () => {
    expect((await run({ n: 0 })).message).toMatch(/n must be an integer >= 1/);
    expect((await run({ n: 1.5 })).message).toMatch(/n must be an integer/);
    expect((await run({ batchSize: 0 })).message).toMatch(/batchSize/);
    expect((await run({ seed: -1 })).message).toMatch(/seed/);
  });

  test('SDE parameters: σmin ≥ σmax, βmin > βmax, non-positive values, unknown kind', () => {
    expect(() => new VESDE({ sigmaMin: 50, sigmaMax: 50 })).toThrow(/sigmaMin < sigmaMax.*sigmaMin=50, sigmaMax=50/);
    expect(() => new VESDE({ sigmaMin: 60, sigmaMax: 50 })).toThrow(ParameterError);
    expect(() => new VESDE({ sigmaMin: 0 })).toThrow(/sigmaMin must be a finite number > 0/);
    expect(() => new VPSDE({ betaMin: 30, betaMax: 20 })).toThrow(/betaMin must be <= betaMax.*betaMin=30, betaMax=20/);
    expect(() => new SubVPSDE({ betaMin: -1 })).toThrow(/betaMin/);
    expect(() => new VPSDE({ T: 0 })).toThrow(/T must be/);
    expect(() => new VPSDE({ schedule: 'cosine', alphaBarMin: 1 })).toThrow(/alphaBarMin/);
    expect(() => new VPSDE({ schedule: 'sigmoid' as never })).toThrow(/unknown VP schedule 'sigmoid'/);
    expect(() => makeSDE({ kind: 'edm' } as never)).toThrow(/unknown SDE kind 'edm': expected 've', 'vp' or 'subvp'/);
  });

  test('the mixture score rejects x of the wrong length', () => {
    const m = new GaussianMixtureScore(sde, { means: [[0, 0]] });
    expect(() => m.scoreSync(new Float64Array(3), new Float64Array(2), new Float64Array(3))).toThrow(
      /x has 3 values, expected 2 samples × 2/,
    );
    expect(() => new GaussianMixtureScore(sde, { means: [[0, 0], [1]] })).toThrow(/means\[1\] has 1 coordinates, expected 2/);
    expect(() => new GaussianMixtureScore(sde, { means: [[0]], stds: [0] })).toThrow(/stds\[0\] must be > 0/);
  });
});
