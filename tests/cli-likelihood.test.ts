/**
 * `score-sde likelihood`: the command writes what the library computes (bit for bit), the true
 * log-density where the data distribution is known, bits/dim for image data (the shipped
 * Fashion-MNIST U-Net, a real onnxruntime session), and refuses bad input with exit status 2.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cli as runCli } from './support/cli';
import { npyToFloat64, readNpy, writeNpy } from '../core/npy';
import { GaussianMixture, GaussianMixtureScore, logLikelihood, makeSDE } from '../index';

const ROOT = path.resolve(__dirname, '..');
const EXAMPLES = path.join(ROOT, 'configs', 'examples');
const FASHION_DATA = path.join(ROOT, 'models', 'fashion-mnist', 'fashion-mnist-test-1000.npy');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-cli-likelihood-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const cli = (args: string[]) => runCli(args, tmp);

const MEAN = [0.5, -1];
const STD = [0.5, 1];

function gaussianConfig(): string {
  const file = path.join(tmp, 'gauss.yaml');
  fs.writeFileSync(file, `name: gauss\nsde: {kind: vp}\nmodel: {type: gaussian, mean: [${MEAN}], std: [${STD}]}\n`);
  return file;
}

function gaussianData(n: number): { file: string; x: Float64Array } {
  const x = new GaussianMixture({ means: [MEAN], stds: [STD] }).sample(n, 4);
  const file = path.join(tmp, `gauss-${n}.npy`);
  writeNpy(file, x, [n, 2], 'float64');
  return { file, x };
}

test('inline Gaussian: the library’s values, the true log-density, a summary', async () => {
  const { file, x } = gaussianData(20);
  const out = path.join(tmp, 'gauss-out');
  const r = await cli(['likelihood', gaussianConfig(), '--data', file, '--out', out, '--json', '--quiet']);
  expect(r.code).toBe(0);
  const summary = JSON.parse(r.stdout);
  const sde = makeSDE({ kind: 'vp' });
  const lib = await logLikelihood({ sde, model: new GaussianMixtureScore(sde, { means: [MEAN], stds: [STD] }), data: x });
  expect(Array.from(npyToFloat64(readNpy(path.join(out, 'logp.npy'))))).toEqual(Array.from(lib.logp));
  const truth = new GaussianMixture({ means: [MEAN], stds: [STD] }).logDensity(x);
  expect(Array.from(npyToFloat64(readNpy(path.join(out, 'true-logp.npy'))))).toEqual(Array.from(truth));
  expect(summary).toMatchObject({ format: 'score-sde-likelihood/1', n: 20, divergence: { method: 'exact' }, solver: { rtol: 1e-5, atol: 1e-5, eps: 1e-5 } });
  // With the exact score the model is the truth up to the eps and prior biases (≤ 2e-2 nats, see
  // tests/likelihood-mixture.test.ts); a wrong density would be far off.
  expect(Math.abs(summary.truth.gap.mean)).toBeLessThan(2e-2);
  expect(summary.files).toEqual(['logp.npy', 'true-logp.npy', 'latents.npy', 'likelihood.json']);
  expect(fs.existsSync(path.join(out, 'bpd.npy'))).toBe(false);
  expect(readNpy(path.join(out, 'latents.npy')).shape).toEqual([20, 2]);
});

test('Fashion-MNIST U-Net: bits/dim of dequantized test images (7-bit offset for [-1, 1])', async () => {
  const out = path.join(tmp, 'fashion');
  const r = await cli(['likelihood', path.join(EXAMPLES, 'fashion-mnist-vp.yaml'), '--data', FASHION_DATA, '--n', '2', '--rtol', '1e-3', '--atol', '1e-3', '--probes', '2', '--out', out, '--json', '--quiet', '--set', 'device=cpu']);
  expect(r.code).toBe(0);
  const s = JSON.parse(r.stdout);
  expect(s).toMatchObject({ n: 2, divergence: { method: 'hutchinson', probes: 2 }, quantization: { range: [-1, 1], levels: 256 } });
  expect(s.modelEvaluations).toBeCloseTo(5 * s.nfe, 6); // 1 + 2 probes × 2 sides per field evaluation
  const logp = npyToFloat64(readNpy(path.join(out, 'logp.npy')));
  const bpd = npyToFloat64(readNpy(path.join(out, 'bpd.npy')));
  bpd.forEach((b, i) => expect(b).toBeCloseTo(-logp[i] / (784 * Math.LN2) + 7, 10));
  // A trained image model: between 1 and 6 bits/dim (uniform noise would be 8).
  bpd.forEach((b) => expect(b > 1 && b < 6).toBe(true));
  expect(readNpy(path.join(out, 'logp-stderr.npy')).shape).toEqual([2]);
});

test('--from: a run over a row range gives the rows of the whole run, bit for bit (Hutchinson probes keyed by row)', async () => {
  const { file } = gaussianData(6);
  const args = ['likelihood', gaussianConfig(), '--data', file, '--method', 'hutchinson', '--probe', 'gaussian', '--quiet'];
  expect((await cli([...args, '--out', path.join(tmp, 'whole')])).code).toBe(0);
  expect((await cli([...args, '--from', '2', '--n', '3', '--out', path.join(tmp, 'part')])).code).toBe(0);
  const whole = npyToFloat64(readNpy(path.join(tmp, 'whole', 'logp.npy')));
  const part = npyToFloat64(readNpy(path.join(tmp, 'part', 'logp.npy')));
  expect(Array.from(part)).toEqual(Array.from(whole.subarray(2, 5)));
  // Without the offset (the same rows as rows 0–2) the probes differ, and so do the values.
  writeNpy(path.join(tmp, 'rows2-4.npy'), npyToFloat64(readNpy(file)).subarray(4, 10), [3, 2], 'float64');
  expect((await cli([...args.slice(0, 3), path.join(tmp, 'rows2-4.npy'), ...args.slice(4), '--out', path.join(tmp, 'shifted')])).code).toBe(0);
  const shifted = npyToFloat64(readNpy(path.join(tmp, 'shifted', 'logp.npy')));
  expect(Array.from(shifted)).not.toEqual(Array.from(part));
});

test.each([
  ['data rows of the wrong size', ['--data', 'FASHION'], /--data .* rows of 784 values, but the model's samples have 2/],
  ['--dequantize without a data range', ['--data', 'GAUSS', '--dequantize'], /--dequantize needs a data range/],
  ['--method exact on a model without a closed form', ['--data', 'FASHION', '--method', 'exact'], /needs a model with the divergence in closed form/],
  ['a negative tolerance', ['--data', 'GAUSS', '--rtol=-1'], /likelihood rtol: /],
])('refuses %s (exit 2)', async (_what, args, message) => {
  const config = args.includes('exact') ? path.join(EXAMPLES, 'fashion-mnist-vp.yaml') : gaussianConfig();
  const data = args.map((a) => (a === 'FASHION' ? FASHION_DATA : a === 'GAUSS' ? gaussianData(5).file : a));
  const r = await cli(['likelihood', config, ...data, '--n', '1', '--quiet', '--out', path.join(tmp, 'bad')]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(message);
});

test('image data off the 256-level grid is refused (exit 2)', async () => {
  const x = npyToFloat64(readNpy(FASHION_DATA)).slice(0, 784).map((v) => v + 1e-3);
  const file = path.join(tmp, 'off-grid.npy');
  writeNpy(file, x, [1, 1, 28, 28], 'float32');
  const r = await cli(['likelihood', path.join(EXAMPLES, 'fashion-mnist-vp.yaml'), '--data', file, '--quiet', '--out', path.join(tmp, 'bad2')]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/not one of the 256 levels of \[-1, 1\]/);
});

test('a non-finite data row is refused (exit 2) naming the row; rows outside --from/--n are not read', async () => {
  const x = gaussianData(6).x.slice();
  x[2 * 4 + 1] = NaN; // row 4
  const file = path.join(tmp, 'nan.npy');
  writeNpy(file, x, [6, 2], 'float64');
  const r = await cli(['likelihood', gaussianConfig(), '--data', file, '--quiet', '--out', path.join(tmp, 'nan')]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/--data .*nan\.npy: row 4 holds NaN/);
  // Control: rows 0–3 do not include it.
  expect((await cli(['likelihood', gaussianConfig(), '--data', file, '--n', '4', '--quiet', '--out', path.join(tmp, 'nan-ok')])).code).toBe(0);
});

test('output folders: same-second runs get their own, a rerun into --out replaces the folder whole, a failed run leaves none', async () => {
  const { file } = gaussianData(5);
  const cwd = fs.mkdtempSync(path.join(tmp, 'folders-'));
  const config = gaussianConfig();
  const args = ['likelihood', config, '--data', file, '-q'];
  const [a, b] = await Promise.all([runCli(args, cwd), runCli(args, cwd)]);
  expect([a.code, b.code]).toEqual([0, 0]);
  const made = fs.readdirSync(path.join(cwd, 'runs'));
  expect(made).toHaveLength(2);
  // Rerun into a folder holding files of an older run (true-logp.npy here): the new folder replaces it.
  const out = path.join(cwd, 'named');
  expect((await runCli([...args, '--out', out], cwd)).code).toBe(0);
  fs.writeFileSync(path.join(out, 'bpd.npy'), 'stale');
  expect((await runCli([...args, '--out', out], cwd)).code).toBe(0);
  expect(fs.existsSync(path.join(out, 'bpd.npy'))).toBe(false);
  // A folder that is not a run's is refused before any work; a failed run leaves no folder.
  fs.mkdirSync(path.join(cwd, 'mine'));
  fs.writeFileSync(path.join(cwd, 'mine', 'notes.txt'), 'x');
  expect((await runCli([...args, '--out', path.join(cwd, 'mine')], cwd)).stderr).toMatch(/exists and is not a run folder/);
  const before = fs.readdirSync(path.join(cwd, 'runs')).length;
  expect((await runCli([...args, '--rtol=-1'], cwd)).code).toBe(2);
  expect(fs.readdirSync(path.join(cwd, 'runs'))).toHaveLength(before);
});

describe('--labels: log p(x | y) of a class-conditional model', () => {
  // Two classes, far apart; 150 draws of each, with their classes as labels.
  const CLASSES = `name: classes\nsde: {kind: vp}\nmodel:\n  type: mixture\n  means: [[-2.0, 0.0], [2.0, 1.0]]\n  stds: [0.4, 0.6]\n  weights: [0.3, 0.7]\n  classes: [west, east]\n`;
  const files = () => {
    fs.writeFileSync(path.join(tmp, 'classes.yaml'), CLASSES);
    const x = new Float64Array(600);
    x.set(new GaussianMixture({ means: [[-2, 0]], stds: [0.4] }).sample(150, 5), 0);
    x.set(new GaussianMixture({ means: [[2, 1]], stds: [0.6] }).sample(150, 6), 300);
    writeNpy(path.join(tmp, 'classes-data.npy'), x, [300, 2], 'float64');
    const labels = Float64Array.from({ length: 300 }, (_, i) => (i < 150 ? 0 : 1));
    writeNpy(path.join(tmp, 'classes-labels.npy'), labels, [300], 'float64');
    writeNpy(path.join(tmp, 'classes-swapped.npy'), labels.map((l) => 1 - l), [300], 'float64');
    writeNpy(path.join(tmp, 'classes-short.npy'), labels.subarray(0, 299), [299], 'float64');
  };
  const run = async (labels: string | undefined, out: string) => {
    const r = await cli(['likelihood', 'classes.yaml', '--data', 'classes-data.npy', ...(labels ? ['--labels', labels] : []), '--out', out, '--json', '-q']);
    return { ...r, summary: r.code === 0 ? JSON.parse(r.stdout) : undefined };
  };

  test('the true labels give each component’s own log-density (model − true within 0.01 nats); swapped labels and no labels do not', async () => {
    files();
    const given = await run('classes-labels.npy', 'given');
    expect(given.code).toBe(0);
    // Measured: model − true 0.0003 ± 0.0008 (Jacobian trace by central differences, RK45 1e-5).
    expect(Math.abs(given.summary.truth.gap.mean)).toBeLessThan(0.01);
    expect(given.summary.guidance).toMatchObject({ scale: 1 });
    // Controls: the other class's density is ~40 nats lower; without labels the model is the
    // whole mixture (its truth is the mixture's, ~0.8 nats below the conditional one here).
    const swapped = await run('classes-swapped.npy', 'swapped');
    expect(swapped.summary.logp.mean).toBeLessThan(given.summary.logp.mean - 20);
    const none = await run(undefined, 'none');
    expect(Math.abs(none.summary.truth.gap.mean)).toBeLessThan(0.01);
    expect(none.summary.logp.mean).toBeLessThan(given.summary.logp.mean - 0.3);
  });

  test('a label file that does not match the data is refused (exit 2) naming it', async () => {
    files();
    const r = await run('classes-short.npy', 'short');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--labels .*classes-short\.npy has 299 labels, but --data has 300 rows/);
  });
});
