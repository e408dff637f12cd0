import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import { loadOnnxScoreModel } from '../models/onnx';
import { cli as runCli } from './support/cli';
import type { Manifest } from '../cli/experiment';
import { slicedWasserstein } from '../metrics';
import { npyToFloat64, readNpy } from '../core/npy';
import { GaussianMixture } from '../models/gaussian-mixture';

/**
 * The CLI with the shipped ONNX models (models/onnx, onnxruntime-node on the CPU). Skipped where
 * the model files are not present.
 */

const ROOT = path.resolve(__dirname, '..');
const TOY = path.join(ROOT, 'models', 'toy2d', 'mixture-vp.onnx');
const FASHION = path.join(ROOT, 'models', 'fashion-mnist', 'unet-vp.onnx');
const EXAMPLES = path.join(ROOT, 'configs', 'examples');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-cli-onnx-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The CLI in-process, run in this file's temporary folder by default. */
const cli = (args: string[], cwd = tmp) => runCli(args, cwd);

// The shipped networks must be there: a missing file fails these tests rather than skipping them.
describe('toy2d network', () => {
  test('loads through models/onnx', async () => {
    const m = await loadOnnxScoreModel(TOY, { device: 'cpu', log: () => undefined });
    expect(m.sampleShape).toEqual([2]);
    await m.dispose();
  });

  test('run: the shipped 2-D model samples the mixture it was trained on', async () => {
    const out = path.join(tmp, 'toy');
    const r = await cli(['run', path.join(EXAMPLES, 'toy2d-vp.yaml'), '--out', out, '--json', '--set', 'sampling.n=1000', '--set', 'solver.steps=200']);
    expect(r.stderr).toMatch(/execution provider cpu/);
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout) as Manifest;
    expect(m).toMatchObject({
      n: 1000,
      sampleShape: [2],
      sde: { kind: 'vp', schedule: 'linear', betaMin: 0.1, betaMax: 20, T: 1, N: 1000 },
      model: { type: 'onnx', path: TOY, card: TOY.replace(/\.onnx$/, '.card.json'), executionProvider: 'cpu' },
      nfe: 200,
      reference: { source: 'exact', from: 'model card mixture (gaussian-mixture-8)', n: 1000 },
      versions: { onnxruntime: { node: '1.29.0' } },
    });
    const samples = npyToFloat64(readNpy(path.join(out, 'samples.npy')));
    // Noise floor: SW₂ between exact sample sets of n = 1000 (mean of 4 pairs, ≈ 0.25); a trained
    // network at 200 steps should be within 2 × floor + 0.15.
    const mixture = new GaussianMixture(JSON.parse(fs.readFileSync(TOY.replace(/\.onnx$/, '.card.json'), 'utf8')).data.mixture);
    let floor = 0;
    for (let k = 0; k < 4; k++) floor += slicedWasserstein(mixture.sample(1000, 31 + k), mixture.sample(1000, 41 + k), 2) / 4;
    expect(slicedWasserstein(samples, mixture.sample(1000, 7), 2)).toBeLessThan(2 * floor + 0.15);
    expect(m.metrics.sw).toBeLessThan(2 * floor + 0.15);
  });

  test('a config that contradicts the card exits 2 and names the field', async () => {
    const cfg = path.join(EXAMPLES, 'toy2d-vp.yaml');
    const sde = await cli(['run', cfg, '--set', 'sde={kind: vp, betaMax: 10}', '--out', path.join(tmp, 'x1')]);
    expect(sde.code).toBe(2);
    expect(sde.stderr).toMatch(/sde\.betaMax: disagrees with the model card .*which says betaMax: 20/);
    const param = await cli(['run', cfg, '--set', 'model.parameterization=score', '--set', 'sampling.n=10', '--out', path.join(tmp, 'x2')]);
    expect(param.code).toBe(2);
    expect(param.stderr).toMatch(/model\.parameterization: disagrees with the model card .*mixture-vp\.card\.json, which says parameterization: 'eps'.*; got "score" \[from --set model\.parameterization=score\]/);
    // Where the card is only known once the model loads (ONNX metadata), the loader's check stops it.
    const bare = path.join(tmp, 'bare');
    fs.mkdirSync(bare, { recursive: true });
    fs.copyFileSync(TOY, path.join(bare, 'net.onnx'));
    fs.copyFileSync(TOY.replace(/\.onnx$/, '.card.json'), path.join(bare, 'card.json'));
    fs.writeFileSync(path.join(bare, 'cfg.yaml'), 'model: {type: onnx, path: net.onnx, card: card.json, timeInput: sigma}\nsampling: {n: 10}\ndevice: cpu\n');
    const early = await cli(['validate', path.join(bare, 'cfg.yaml')]);
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(/cfg\.yaml:1:65: model\.timeInput: disagrees with the model card .*card\.json, which says timeInput: 't'/);
    // Without a card file the card is in the ONNX metadata: validate reads it too (without
    // onnxruntime), so the contradiction stops validate and run alike, before any session.
    fs.writeFileSync(path.join(bare, 'cfg.yaml'), 'model: {type: onnx, path: net.onnx, timeInput: sigma}\nsampling: {n: 10}\ndevice: cpu\n');
    const embedded = await cli(['validate', path.join(bare, 'cfg.yaml')]);
    expect(embedded.code).toBe(2);
    expect(embedded.stderr).toMatch(/cfg\.yaml:1:48: model\.timeInput: disagrees with the model card embedded in .*net\.onnx, which says timeInput: 't'/);
    const late = await cli(['run', path.join(bare, 'cfg.yaml'), '--out', path.join(bare, 'out')]);
    expect(late.code).toBe(2);
    expect(late.stderr).toMatch(/model\.timeInput: disagrees with the model card embedded in .*net\.onnx/);
    fs.writeFileSync(path.join(bare, 'cfg.yaml'), 'model: {type: onnx, path: net.onnx}\nsampling: {n: 10}\ndevice: cpu\n');
    const ok = await cli(['validate', path.join(bare, 'cfg.yaml')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/modelCard: embedded in .*net\.onnx/);
    expect(ok.stdout).toMatch(/betaMax: 20/);
  });

  test('inspect: inputs, outputs, card, execution providers', async () => {
    const r = await cli(['inspect', TOY]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/inputs:\n {2}x: float32 \[batch, 2\]\n {2}t: float32 \[batch\]\noutputs:\n {2}out: float32 \[batch, 2\]\n/);
    expect(r.stdout).toMatch(/ name: toy2d-mixture-vp\n/);
    expect(r.stdout).toMatch(/score model: ok: loads as a score model: sampleShape \[2\], eps output/);
    expect(r.stdout).toMatch(/execution providers: cpu yes; cuda (yes|no)/);
    const json = JSON.parse((await cli(['inspect', TOY, '--json'])).stdout);
    expect(json.card.sde.kind).toBe('vp');
    expect(json.inputs.map((i: { name: string }) => i.name)).toEqual(['x', 't']);
    expect((await cli(['inspect', path.join(tmp, 'missing.onnx')])).code).toBe(2);
  });

  test('sweep on the network: workers load their own sessions; same table as one worker', async () => {
    fs.writeFileSync(
      path.join(tmp, 'toy-sweep.yaml'),
      `base: ${path.join(EXAMPLES, 'toy2d-vp.yaml')}\naxes:\n  solver.name: [euler_maruyama, ode_heun]\n  solver.steps: [10, 30]\n`,
    );
    const one = await cli(['sweep', 'toy-sweep.yaml', '--out', 'toy-1', '-q', '--set', 'sampling.n=200', '--set', 'output.preview=false']);
    const two = await cli(['sweep', 'toy-sweep.yaml', '--out', 'toy-2', '-q', '--workers', '2', '--set', 'sampling.n=200', '--set', 'output.preview=false']);
    expect([one.code, two.code]).toEqual([0, 0]);
    const table = (d: string) =>
      (JSON.parse(fs.readFileSync(path.join(tmp, d, 'results.json'), 'utf8')).rows as Record<string, unknown>[]).map(({ wallTimeMs: _, ...rest }) => rest);
    expect(table('toy-2')).toEqual(table('toy-1'));
    expect(table('toy-1').map((r) => r.nfe)).toEqual([10, 30, 20, 60]);
  });
});

describe('Fashion-MNIST network', () => {
  test('run: images, an image-grid preview and pixel metrics against the card reference', async () => {
    const out = path.join(tmp, 'fashion');
    const r = await cli([
      'run', path.join(EXAMPLES, 'fashion-mnist-vp.yaml'), '--out', out, '--json', '-q',
      '--set', 'sampling.n=4', '--set', 'solver.steps=10', '--set', 'device=cpu',
    ]);
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout) as Manifest;
    expect(m.sampleShape).toEqual([1, 28, 28]);
    expect(m.reference).toMatchObject({ source: 'npy', n: 1000 });
    expect(Object.keys(m.metrics).sort()).toEqual(
      ['meanError', 'mmd2', 'pixelHist', 'pixelMean', 'pixelStd', 'refPixelMean', 'refPixelStd', 'sw',
        'fd', 'fdFloor', 'fdFloorSd', 'kid', 'kidStd', 'kidFloor', 'kidFloorSd', 'classTV', 'classTVFloor', 'confidence', 'refConfidence'].sort(),
    );
    // The image metrics come from the card's classifier, at the run's n, with the floor at that n.
    expect(m.features).toMatchObject({ source: 'classifier', from: 'model card data.classifier (classifier.onnx)', n: 4 });
    expect(m.metrics.refPixelMean).toBeGreaterThan(-1);
    expect(m.metrics.refPixelMean).toBeLessThan(0);
    expect(readNpy(path.join(out, 'samples.npy')).shape).toEqual([4, 1, 28, 28]);
    const png = PNG.sync.read(fs.readFileSync(path.join(out, 'preview.png')));
    expect([png.width, png.height]).toEqual([4 * (56 + 2) + 2, 56 + 4]);
  });
});
