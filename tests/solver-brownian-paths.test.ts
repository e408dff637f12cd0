/**
 * noise: 'path' makes runs with different step counts integrate one Brownian path (per sample
 * and coordinate), so a sweep over steps keeps common random numbers beyond x_T.
 *
 * Strong order. The reverse SDEs here have additive noise (g(t) does not depend on x), where
 * Euler–Maruyama coincides with Milstein and converges strongly with order 1 (it would be ½ for
 * multiplicative noise). The pathwise error of N-step EM against a 4096-step EM on the same path
 * (nested uniform grids: the coarse grid's times are grid points of the fine one, each alone in
 * its tree leaf, so both runs see exactly the same W there) must fall like h¹: the fitted
 * log-log slope over N = 16 … 256 lies in [0.85, 1.15] (measured 1.00–1.05 on VE, VP, sub-VP).
 * Negative control: 'step' noise draws a path of its own for every N; its error does not shrink
 * (measured RMS 1.9–2.3 at every N).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GaussianMixtureScore, NoiseSource, SDE, Stream, SubVPSDE, VESDE, VPSDE, sample } from '../index';
import { npyToFloat64, readNpy } from '../core/npy';
import { logLogSlope } from './support/stats';
import { cli } from './support/cli';

const MU = [1, -2];
const SD = [0.5, 2];
const n = 256;
const STEPS = [16, 32, 64, 128, 256];

function rms(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += (a[j] - b[j]) ** 2;
  return Math.sqrt(s / a.length);
}

describe('Euler–Maruyama converges pathwise on one Brownian path', () => {
  test.each([
    ['VP', () => new VPSDE()],
    ['VE', () => new VESDE()],
    ['sub-VP', () => new SubVPSDE()],
  ] as [string, () => SDE][])('%s: strong order 1 (additive noise) with noise: path; no convergence with independent paths', async (_name, make) => {
    const sde = make();
    const model = new GaussianMixtureScore(sde, { means: [MU], stds: [SD] });
    const xT = new Float64Array(2 * n);
    new NoiseSource(1).normal(xT, 2, 0, Stream.prior);
    for (let j = 0; j < xT.length; j++) xT[j] *= sde.priorStd;
    const run = async (steps: number, noise: 'path' | 'step') =>
      (await sample({ sde, model, solver: 'euler_maruyama', settings: { steps, noise }, n, xT, seed: 7 })).samples.data;
    const reference = await run(4096, 'path');
    const shared: number[] = [];
    const independent: number[] = [];
    for (const steps of STEPS) {
      shared.push(rms(await run(steps, 'path'), reference));
      independent.push(rms(await run(steps, 'step'), reference));
    }
    const slope = -logLogSlope(STEPS, shared);
    const controlSlope = -logLogSlope(STEPS, independent);
    console.log(
      `${sde.kind}: EM pathwise RMS error vs 4096 steps, N = ${STEPS.join(', ')}\n` +
        `  path ${shared.map((e) => e.toExponential(2)).join(' ')} (order ${slope.toFixed(2)})\n` +
        `  step ${independent.map((e) => e.toExponential(2)).join(' ')} (order ${controlSlope.toFixed(2)})`,
    );
    expect(slope).toBeGreaterThan(0.85);
    expect(slope).toBeLessThan(1.15);
    expect(Math.abs(controlSlope)).toBeLessThan(0.2);
    expect(independent[independent.length - 1]).toBeGreaterThan(20 * shared[shared.length - 1]);
  });
});

describe('a sweep over steps shares the path between its stochastic cells', () => {
  test('noise: path cells at 32 and 256 steps end close together; noise: step cells do not', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-paths-'));
    try {
      fs.writeFileSync(
        path.join(tmp, 'base.yaml'),
        `sde: {kind: vp}\nmodel: {type: gaussian, mean: [${MU}], std: [${SD}]}\nsolver: {name: euler_maruyama}\nsampling: {n: 128, seed: 5}\noutput: {preview: false, dtype: float64}\n`,
      );
      fs.writeFileSync(path.join(tmp, 'sweep.yaml'), 'base: base.yaml\naxes:\n  solver.noise: [path, step]\n  solver.steps: [32, 256]\n');
      const r = await cli(['sweep', 'sweep.yaml', '--out', 'out', '--quiet'], tmp);
      expect(r.code).toBe(0);
      const cell = (id: string) => npyToFloat64(readNpy(path.join(tmp, 'out', 'cells', id, 'samples.npy')));
      const shared = rms(cell('noise=path,steps=32'), cell('noise=path,steps=256'));
      const independent = rms(cell('noise=step,steps=32'), cell('noise=step,steps=256'));
      console.log(`sweep cells 32 vs 256 steps: RMS difference ${shared.toFixed(3)} (path), ${independent.toFixed(3)} (step)`);
      // Path: the difference is EM's discretization error at 32 steps (≈ 0.09 above); step: two
      // unrelated draws of the output distribution (≈ 2, the data's spread).
      expect(shared).toBeLessThan(0.2);
      expect(independent).toBeGreaterThan(1);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
