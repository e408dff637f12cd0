/**
 * What a package user meets first: shipped networks by name (library and CLI), the CUDA diagnosis
 * in `inspect`, enable-cuda's argument errors, and the CLI's wording (validate says the config is
 * valid; errors carry no internal class names; YAML syntax errors end in a sentence, not ':';
 * a missing file is named whole, however long its path).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ParameterError } from '../core/errors';
import { listShipped, shipped } from '../models/shipped';
import { cli as runCli } from './support/cli';

const ROOT = path.resolve(__dirname, '..');
let tmp: string;
const cli = (args: string[]) => runCli(args, tmp);

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-cli-package-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('shipped networks by name', () => {
  test('shipped(name) is the absolute path inside the package, whatever the working directory', () => {
    const p = shipped('fashion-mnist/unet-vp');
    expect(p).toBe(path.join(ROOT, 'models', 'fashion-mnist', 'unet-vp.onnx'));
    expect(shipped('shipped:toy2d/mixture-vp')).toBe(path.join(ROOT, 'models', 'toy2d', 'mixture-vp.onnx'));
    expect(shipped('toy2d/mixture-vp.onnx')).toBe(shipped('toy2d/mixture-vp'));
  });

  test('an unknown name (or a path out of models/) is a ParameterError listing the names', () => {
    expect(() => shipped('fashion-mnist/unet-xx')).toThrow(ParameterError);
    expect(() => shipped('fashion-mnist/unet-xx')).toThrow(/no shipped network named 'fashion-mnist\/unet-xx'; shipped: .*fashion-mnist\/unet-vp/);
    expect(() => shipped('../package')).toThrow(ParameterError);
  });

  test('listShipped: every .onnx under models/ with a card, one-line summaries from the cards', () => {
    const list = listShipped();
    // Every score network: the feature classifier (a classifier card, no score model) is not one.
    const isClassifier = (d: string, f: string) => fs.readFileSync(path.join(ROOT, 'models', d, f.replace(/\.onnx$/, '.card.json')), 'utf8').includes('"score-sde-classifier/1"');
    const onDisk = ['exact', 'fashion-mnist', 'toy2d'].flatMap((d) => fs.readdirSync(path.join(ROOT, 'models', d)).filter((f) => f.endsWith('.onnx') && !isClassifier(d, f)).map((f) => `${d}/${f.slice(0, -5)}`));
    expect(onDisk.length).toBeGreaterThan(20);
    expect(list.map((m) => m.name).sort()).toEqual(onDisk.sort());
    const unet = list.find((m) => m.name === 'fashion-mnist/unet-vp')!;
    expect(unet.summary).toBe('VP, eps(x, t), [1, 28, 28], fashion-mnist: Small U-Net, 256k params');
    expect(list.find((m) => m.name === 'exact/mixture-vp-t-eps-fp16')!.summary).toMatch(/float16 inputs and output$/);
  });

  test('score-sde inspect --list prints them; inspect takes a name', async () => {
    const list = await cli(['inspect', '--list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^toy2d\/mixture-vp +VP, eps\(x, t\), \[2\], gaussian-mixture-8: MLP, 38k params$/m);
    const one = await cli(['inspect', 'toy2d/mixture-vp']);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain(path.join(ROOT, 'models', 'toy2d', 'mixture-vp.onnx'));
  });
});

describe('inspect without a model: the execution providers and the CUDA diagnosis', () => {
  test('says whether CUDA works, and if not, the diagnosis (provider files, libraries, device)', async () => {
    const r = await cli(['inspect']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^execution providers: cpu yes; cuda (yes|no)/);
    if (/cuda no/.test(r.stdout) && process.platform === 'linux' && process.arch === 'x64') {
      expect(r.stdout).toMatch(/\n {2}provider libraries in .*onnxruntime-node.*: libonnxruntime_providers_shared\.so (present|missing|placeholder)/);
      expect(r.stdout).toMatch(/\n {2}NVIDIA device: /);
    }
    const json = JSON.parse((await cli(['inspect', '--json'])).stdout);
    expect(json.cudaDiagnosis.providerLibs).toHaveLength(2);
  });
});

describe('enable-cuda arguments', () => {
  test('--from a path that is not there is a usage error naming it', async () => {
    const r = await cli(['enable-cuda', '--from', path.join(tmp, 'nowhere.tgz')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`score-sde: --from ${path.join(tmp, 'nowhere.tgz')}: not found\n`);
  });
});

describe('wording', () => {
  test('validate says the config is valid', async () => {
    const r = await cli(['validate', path.join(ROOT, 'configs', 'examples', 'toy2d-vp.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^# .*toy2d-vp\.yaml: valid experiment config; resolved:$/);
    const json = await cli(['validate', path.join(ROOT, 'configs', 'examples', 'toy2d-vp.yaml'), '--json']);
    expect(JSON.parse(json.stdout).name).toBe('toy2d-vp');
    expect(json.stderr).toMatch(/^score-sde: .*toy2d-vp\.yaml: valid experiment config\n$/);
  });

  test('errors name the problem, not an internal class', async () => {
    const r = await cli(['inspect', path.join(tmp, 'missing.onnx')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`score-sde: ${path.join(tmp, 'missing.onnx')}: model file not found\n`);
  });

  test('a YAML syntax error reads as a sentence with file:line:col, without a dangling colon', async () => {
    fs.writeFileSync(path.join(tmp, 'broken.yaml'), 'name: x\nmodel: {type: onnx\nsolver: [\n');
    const r = await cli(['validate', path.join(tmp, 'broken.yaml')]);
    expect(r.code).toBe(2);
    const issues = r.stderr.trim().split('\n').slice(1);
    expect(issues.length).toBeGreaterThan(0);
    for (const line of issues) {
      expect(line).toMatch(/broken\.yaml:\d+:\d+: YAML syntax error: /);
      expect(line).not.toMatch(/:\s*$/);
      expect(line).not.toMatch(/at line \d+, column \d+/);
    }
  });

  test('a missing reference file is named whole, however long its path', async () => {
    const deep = path.join(tmp, 'a-rather-long-folder-name', 'another-long-folder-name-here', 'and-one-more-level');
    fs.mkdirSync(deep, { recursive: true });
    const ref = path.join(deep, 'the-reference-data-file-that-is-not-there.npy');
    fs.writeFileSync(path.join(tmp, 'ref.yaml'), `sde: {kind: vp}\nmodel: {type: gaussian, mean: [0, 0], std: 1}\nsolver: {name: ode_euler, steps: 2}\nreference: ${ref}\n`);
    const r = await cli(['validate', path.join(tmp, 'ref.yaml')]);
    expect(r.code).toBe(2);
    expect(ref.length).toBeGreaterThan(80);
    expect(r.stderr).toContain(`reference: file not found; got ${JSON.stringify(ref)}`);
  });
});
