import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cli as runCli } from './support/cli';
import { NonFiniteWriteError, NpyError, NpyStreamWriter, encodeNpy, npyToFloat64, readNpy, readNpyHeader, readNpyRows } from '../core/npy';
import { computeMetrics } from '../metrics';
import { defaultBatchSize } from '../configs/schema';
import { sample } from '../solvers/sample';
import { makeSDE } from '../sdes/registry';
import { GaussianMixture, GaussianMixtureScore } from '../models/gaussian-mixture';
import type { Manifest } from '../cli/manifest';

/**
 * Memory bounded by the batch: samples stream to samples.npy block by block, bit for bit what one
 * call would draw; metrics look at a bounded, documented subsample.
 */

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-streaming-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = (args: string[], cwd = tmp) => runCli(args, cwd);

const MIXTURE = { means: [[-2, 0], [2, 1]], stds: [0.4, 0.6] };
const CONFIG = `sde: {kind: vp}
model: {type: mixture, means: [[-2, 0], [2, 1]], stds: [0.4, 0.6]}
sampling: {n: 1000, seed: 7}
output: {preview: false, dtype: float64}
`;

function manifestOf(dir: string): Manifest {
  return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
}

describe('streamed samples.npy', () => {
  test.each([
    ['euler_maruyama', { steps: 20 }],
    ['pc', { steps: 20, snr: 0.16, norm: 'batch' }],
    ['ode_rk45', { rtol: 1e-3, atol: 1e-3 }],
  ])('%s: written in blocks of 37, bitwise the samples of one sample() call with batchSize 37', async (solver, settings) => {
    fs.writeFileSync(path.join(tmp, 'stream.yaml'), CONFIG);
    const out = path.join(tmp, `stream-${solver}`);
    const set = [`solver={name: ${solver}${Object.entries(settings).map(([k, v]) => `, ${k}: ${v}`).join('')}}`];
    const r = await cli(['run', 'stream.yaml', '--out', out, '-q', '--set', 'sampling.batchSize=37', ...set.flatMap((s) => ['--set', s])]);
    expect(r.code).toBe(0);
    const file = npyToFloat64(readNpy(path.join(out, 'samples.npy')));
    const sde = makeSDE({ kind: 'vp' });
    const solverSettings = settings;
    const one = await sample({ sde, model: new GaussianMixtureScore(sde, MIXTURE), solver, settings: solverSettings, n: 1000, batchSize: 37, seed: 7 });
    expect(Buffer.from(file.buffer)).toEqual(Buffer.from(one.samples.data.buffer));
    const m = manifestOf(out);
    expect(m.batchSize).toBe(37);
    expect(m.nfe).toBeCloseTo(one.nfe, 12);
    expect(m.calls).toBe(one.calls);
  });

  test('x_T read block by block gives the samples of one call from the whole x_T', async () => {
    const xT = Float64Array.from({ length: 600 }, (_, i) => Math.cos(i * 0.37) * 1.3);
    fs.writeFileSync(path.join(tmp, 'xT.npy'), encodeNpy(xT, [300, 2], 'float64'));
    fs.writeFileSync(path.join(tmp, 'xt.yaml'), `${CONFIG}solver: {name: ode_heun, steps: 10}\n`);
    const out = path.join(tmp, 'xt-run');
    expect((await cli(['run', 'xt.yaml', '--out', out, '-q', '--set', 'sampling.n=300', '--set', 'sampling.xT=xT.npy', '--set', 'sampling.batchSize=64'])).code).toBe(0);
    const sde = makeSDE({ kind: 'vp' });
    const one = await sample({ sde, model: new GaussianMixtureScore(sde, MIXTURE), solver: 'ode_heun', settings: { steps: 10 }, n: 300, seed: 7, xT });
    expect(Buffer.from(npyToFloat64(readNpy(path.join(out, 'samples.npy'))).buffer)).toEqual(Buffer.from(one.samples.data.buffer));
  });

  test('NpyStreamWriter: header with the final shape, blocks appended, checked in the written dtype', () => {
    const file = path.join(tmp, 'w.npy');
    const w = new NpyStreamWriter(file, [3, 2], 'float32');
    expect(fs.existsSync(file)).toBe(false); // nothing visible until close
    w.append([1, 2]);
    w.append([3, 4, 5, 6]);
    w.close();
    expect(fs.readFileSync(file)).toEqual(encodeNpy([1, 2, 3, 4, 5, 6], [3, 2]));
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith('w.npy.tmp'))).toEqual([]);

    // 1e39 is finite in float64, +Infinity in float32: refused before it is written.
    const over = new NpyStreamWriter(path.join(tmp, 'over.npy'), [2, 2], 'float32');
    over.append([0, 1]);
    expect(() => over.append([2, 1e39])).toThrow(NonFiniteWriteError);
    over.abort();
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith('over.npy'))).toEqual([]);
    const ok64 = new NpyStreamWriter(path.join(tmp, 'ok64.npy'), [1, 2], 'float64');
    ok64.append([2, 1e39]);
    ok64.close();
    expect(Array.from(npyToFloat64(readNpy(path.join(tmp, 'ok64.npy'))))).toEqual([2, 1e39]);

    const short = new NpyStreamWriter(path.join(tmp, 'short.npy'), [3], 'float32');
    short.append([1]);
    expect(() => short.close()).toThrow(/1 values written, the shape \(3\) holds 3/);
    expect(fs.existsSync(path.join(tmp, 'short.npy'))).toBe(false);
  });

  test('readNpyRows reads only the rows asked for, and equals the whole file sliced', () => {
    const data = Float32Array.from({ length: 30 }, (_, i) => i * 0.5);
    const file = path.join(tmp, 'rows.npy');
    fs.writeFileSync(file, encodeNpy(data, [10, 3]));
    const h = readNpyHeader(file);
    expect(h).toMatchObject({ shape: [10, 3], dtype: 'float32', count: 30 });
    expect(Array.from(readNpyRows(file, h, 4, 3))).toEqual(Array.from(data.subarray(12, 21)));
    expect(() => readNpyRows(file, h, 8, 3)).toThrow(NpyError);
    fs.writeFileSync(path.join(tmp, 'trunc.npy'), encodeNpy(data, [10, 3]).subarray(0, 100));
    expect(() => readNpyHeader(path.join(tmp, 'trunc.npy'))).toThrow(/truncated/);
  });
});

describe('bounded batch and metric subsample', () => {
  test('the default batch: 2^20 values, a power of two of samples, at most n', () => {
    expect(defaultBatchSize(2, 10 ** 7)).toBe(524288);
    expect(defaultBatchSize(784, 5000)).toBe(1024);
    expect(defaultBatchSize(3 * 64 * 64, 100)).toBe(64);
    expect(defaultBatchSize(2, 1000)).toBe(1000);
    expect(defaultBatchSize(2 ** 22, 10)).toBe(1);
  });

  test('metrics use the first reference.maxSamples rows of samples.npy and of the reference', async () => {
    fs.writeFileSync(path.join(tmp, 'sub.yaml'), `${CONFIG}solver: {name: ode_euler, steps: 10}\nreference: {source: exact, maxSamples: 150}\n`);
    const out = path.join(tmp, 'sub-run');
    expect((await cli(['run', 'sub.yaml', '--out', out, '-q', '--set', 'sampling.n=400'])).code).toBe(0);
    const m = manifestOf(out);
    expect(m.reference).toMatchObject({ source: 'exact', n: 150, samples: 150 });
    const samples = npyToFloat64(readNpy(path.join(out, 'samples.npy')));
    expect(samples.length).toBe(800);
    const reference = new GaussianMixture(MIXTURE).sample(150, 2024);
    const expected = computeMetrics(samples.subarray(0, 300), reference, [2], { projections: 256, projectionSeed: 0 });
    const { swFloor, ...sampleMetrics } = m.metrics;
    expect(sampleMetrics).toEqual(expected);
    // With a preview that keeps more rows than maxSamples, the metrics still see only the first 150.
    const withPreview = path.join(tmp, 'sub-preview');
    expect((await cli(['run', 'sub.yaml', '--out', withPreview, '-q', '--set', 'sampling.n=400', '--set', 'output.preview=true'])).code).toBe(0);
    expect(manifestOf(withPreview).metrics).toEqual(m.metrics);
    expect(manifestOf(withPreview).reference).toMatchObject({ samples: 150 });
    // The floor: 150 fresh exact draws (seed 2025) against the same 150 reference rows.
    expect(swFloor).toBe(computeMetrics(new GaussianMixture(MIXTURE).sample(150, 2025), reference, [2], { projections: 256, projectionSeed: 0 }).sw);
    // The control: on all 400 rows the value differs.
    expect(computeMetrics(samples, reference, [2], { projections: 256, projectionSeed: 0 }).sw).not.toBe(m.metrics.sw);
  });
});
