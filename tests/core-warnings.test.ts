import { GaussianMixtureScore, VPSDE, sample } from '../index';

// Per-sample Langevin norms are ill-posed in low dimension (see solvers/predictor-corrector.ts);
// the run goes ahead but says so, and stays quiet where the setting is sound.
describe('solver warnings', () => {
  const sde = new VPSDE();
  const run = (dim: number, settings: Record<string, unknown>) =>
    sample({
      sde,
      model: new GaussianMixtureScore(sde, { means: [new Array(dim).fill(0)] }),
      solver: 'pc',
      settings: { steps: 5, ...settings },
      n: 4,
    });

  test('per-sample Langevin in 2-D warns, naming the remedy', async () => {
    const r = await run(2, {});
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/norm: batch or corrector: ald/);
  });

  test('batch norms, ALD, or high dimension do not warn', async () => {
    expect((await run(2, { norm: 'batch' })).warnings).toEqual([]);
    expect((await run(2, { corrector: 'ald' })).warnings).toEqual([]);
    expect((await run(128, {})).warnings).toEqual([]);
  });
});
