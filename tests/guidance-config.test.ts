/**
 * Guided sampling and inpainting from configs, through the CLI in-process: what the schema and the
 * checks accept, what they refuse (each error naming its field), and what a run writes (the
 * manifest's guidance with NFE and network rows; the known values back exactly in samples.npy).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Manifest } from '../cli/experiment';
import { encodeNpy, npyToFloat64, readNpy } from '../core/npy';
import { nearestModeCounts } from './support/stats';
import { cli as runCli } from './support/cli';

const ROOT = path.resolve(__dirname, '..');
const COND_ONNX = path.join(ROOT, 'models', 'exact', 'mixture-vp-t-eps-cond.onnx');
const PLAIN_ONNX = path.join(ROOT, 'models', 'exact', 'mixture-vp-t-eps.onnx');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-guidance-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const cli = (args: string[]) => runCli(args, tmp);

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

function npy(name: string, data: number[], shape: number[]): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, encodeNpy(Float64Array.from(data), shape, 'float32'));
  return file;
}

const MIXTURE = `sde: {kind: vp}
model:
  type: mixture
  means: [[-4, 0], [4, 0], [0, 4]]
  stds: [0.5, 0.5, 0.5]
  classes: [west, east, north]
solver: {name: ode_heun, steps: 30}
reference: none
`;

/** stderr of a `validate` expected to fail with exit 2. */
async function invalid(config: string, sets: string[] = []): Promise<string> {
  const r = await cli(['validate', write('c.yaml', config), ...sets.flatMap((s) => ['--set', s])]);
  expect(r.code).toBe(2);
  return r.stderr;
}

describe('labels and guidance in configs', () => {
  test('labels by index, by name (case-insensitive) or all; scale or w; validate shows the resolved classes and γ', async () => {
    const ok = async (sets: string[]) => {
      const r = await cli(['validate', write('ok.yaml', MIXTURE), '--json', ...sets.flatMap((s) => ['--set', s])]);
      expect(r.stderr).toMatch(/valid experiment config/);
      return JSON.parse(r.stdout).resolved.labels;
    };
    expect(await ok(['sampling.labels=all', 'guidance.scale=3'])).toEqual({ classes: ['0 west', '1 east', '2 north'], guidanceScale: 3, w: 2 });
    expect(await ok(['sampling.labels=[2, "East"]', 'guidance.w=0.5'])).toEqual({ classes: ['2 north', '1 east'], guidanceScale: 1.5, w: 0.5 });
    expect(await ok(['sampling.labels=north'])).toEqual({ classes: ['2 north'], guidanceScale: 1, w: 0 });
  });

  test('errors name the field: out of range, unknown class, both strengths, guidance without labels, labels or guidance for an unconditional model', async () => {
    expect(await invalid(MIXTURE, ['sampling.labels=[0, 5]'])).toMatch(/sampling\.labels\.1: label 5 is out of range: the inline mixture model has classes 0 … 2 \(0 'west', 1 'east', 2 'north'\)/);
    expect(await invalid(MIXTURE, ['sampling.labels=south'])).toMatch(/sampling\.labels: unknown class 'south'/);
    expect(await invalid(MIXTURE, ['sampling.labels=all', 'guidance.scale=2', 'guidance.w=1'])).toMatch(/guidance\.w: give the guidance strength once: scale \(γ\) or w/);
    expect(await invalid(MIXTURE, ['guidance={}'])).toMatch(/guidance: give the guidance strength: scale \(γ\) or w/);
    expect(await invalid(MIXTURE, ['guidance.scale=2'])).toMatch(/guidance: guidance needs sampling\.labels/);
    const plain = MIXTURE.replace('  classes: [west, east, north]\n', '');
    expect(await invalid(plain, ['sampling.labels=all'])).toMatch(/sampling\.labels: the inline mixture model takes no class label \(give the mixture `classes`/);
    expect(await invalid(plain.replace('sampling', 'x'), ['guidance.scale=2'])).toMatch(/guidance: classifier-free guidance needs a class-conditional model with a label input/);
    const onnx = `model: {type: onnx, path: ${PLAIN_ONNX}}\nreference: none\n`;
    expect(await invalid(onnx, ['guidance.scale=3'])).toMatch(/guidance: classifier-free guidance needs a class-conditional model.*its card has no 'conditioning'/);
    expect(await invalid(onnx, ['sampling.labels=1'])).toMatch(/sampling\.labels: the model \(card .*mixture-vp-t-eps\.card\.json\) takes no class label/);
    expect(await invalid(MIXTURE.replace('classes: [west, east, north]', 'classes: [west, east]'))).toMatch(/model\.classes: has 2 names, expected 3/);
  });

  test('a guided run through the conditional ONNX network: samples at their labels, manifest with γ, w, NFE and network rows', async () => {
    const config = write('guided.yaml', `model: {type: onnx, path: ${COND_ONNX}, device: cpu}\nsolver: {name: euler_maruyama, steps: 40}\nsampling: {n: 30, batchSize: 8, labels: [north, 0]}\nguidance: {w: 2}\nreference: none\n`);
    const r = await cli(['run', config, '--out', 'guided', '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/NFE 40 \(guided, γ = 3: 80 network rows per sample\)/);
    const m = JSON.parse(fs.readFileSync(path.join(tmp, 'guided', 'manifest.json'), 'utf8')) as Manifest;
    expect(m.guidance).toMatchObject({ scale: 3, w: 2, given: 'w', labels: [2, 0], classes: ['north', 'west'], networkRowsPerSample: 80 });
    expect(m.nfe).toBe(40);
    const x = npyToFloat64(readNpy(path.join(tmp, 'guided', 'samples.npy')));
    const means = [
      [-4, 0],
      [4, 0],
      [0, 4],
    ];
    for (let i = 0; i < 30; i++) expect(nearestModeCounts(x.subarray(2 * i, 2 * i + 2), 2, means)[i % 2 === 0 ? 2 : 0]).toBe(1);
  });
});

describe('inpainting in configs', () => {
  const images = () => npy('images.npy', Array.from({ length: 40 }, (_, j) => (j % 2 === 0 ? -4 + 0.01 * j : 0.3)), [20, 2]);

  test('a run with every method: the known coordinate comes back exactly in samples.npy, the other is sampled', async () => {
    const file = images();
    for (const method of ['replace', 'repaint']) {
      const config = write(
        `inpaint-${method}.yaml`,
        `${MIXTURE}sampling: {n: 20, batchSize: 8}\ninpaint: {images: ${file}, mask: left, method: ${method}${method === 'repaint' ? ', resample: 3, jump: 5' : ''}}\n`,
      );
      const r = await cli(['run', config, '--out', method, '--quiet']);
      expect(r.code).toBe(0);
      const x = npyToFloat64(readNpy(path.join(tmp, method, 'samples.npy')));
      const y = npyToFloat64(readNpy(file));
      for (let i = 0; i < 20; i++) {
        expect(x[2 * i]).toBe(y[2 * i]);
        expect(x[2 * i + 1]).not.toBe(y[2 * i + 1]);
      }
      const m = JSON.parse(fs.readFileSync(path.join(tmp, method, 'manifest.json'), 'utf8')) as Manifest;
      expect(m.inpaint).toMatchObject({ method, mask: 'left', ...(method === 'repaint' ? { resample: 3, jump: 5 } : {}) });
      // The images are an input of the run: a sweep reruns the cell when they change.
      expect(m.inputs.inpaintImages).toMatchObject({ path: file, bytes: fs.statSync(file).size });
      expect(m.nfe).toBe(method === 'repaint' ? 2 * 30 * 3 : 2 * 30);
    }
  });

  test('errors name the field: images count and shape, mask shape and values, named masks that do not fit, adaptive solvers, RePaint settings with replace', async () => {
    const file = images();
    const base = `${MIXTURE}sampling: {n: 20}\n`;
    const with_ = (inpaint: string) => `${base}inpaint: ${inpaint}\n`;
    expect(await invalid(with_(`{images: ${file}, mask: left}`), ['sampling.n=21'])).toMatch(/inpaint\.images: has shape \[20, 2\], expected \[>= 21, 2\] \(an image per sample/);
    const wide = npy('wide.npy', new Array(60).fill(0), [20, 3]);
    expect(await invalid(with_(`{images: ${wide}, mask: left}`))).toMatch(/inpaint\.images: has shape \[20, 3\], expected \[>= 20, 2\]/);
    const badMask = npy('mask3.npy', [1, 0, 1], [3]);
    expect(await invalid(with_(`{images: ${file}, mask: ${badMask}}`))).toMatch(/inpaint\.mask: has shape \[3\], expected the sample shape \[2\] \(one mask for all\) or \[>= 20, 2\] \(one per sample\)/);
    expect(await invalid(with_(`{images: ${file}, mask: top}`))).toMatch(/inpaint\.mask: mask 'top' needs an image shape \[\.\., H, W\]; samples of shape \[2\] take 'left' or 'right'/);
    expect(await invalid(with_(`{images: ${file}, mask: left}`), ['solver.name=ode_rk45', 'solver.steps=null'])).toMatch(/solver\.name: inpainting \('replace'\) replaces the known values.*'ode_rk45' is adaptive/);
    expect(await invalid(with_(`{images: ${file}, mask: left, resample: 4}`))).toMatch(/inpaint\.resample: applies to method 'repaint' only/);
    // Mask values are read at run time: a 0.5 is refused there, naming the field.
    const soft = npy('soft.npy', [1, 0.5], [2]);
    const r = await cli(['run', write('soft.yaml', with_(`{images: ${file}, mask: ${soft}}`)), '--out', 'soft', '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/inpaint\.mask: must hold 0 \(to sample\) or 1 \(known\) only; value 1 is 0\.5/);
  });
});
