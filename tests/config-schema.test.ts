import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError } from '../configs/errors';
import { describeFields } from '../configs/introspect';
import { loadConfig } from '../configs/load';
import { checkExperiment } from '../configs/resolve';
import { experimentConfigSchema } from '../configs/schema';
import { loadSweep } from '../configs/sweep';
import { SOLVERS } from '../solvers/registry';

const ROOT = path.resolve(__dirname, '..');
const EXAMPLES = path.join(ROOT, 'configs', 'examples');
const SWEEPS = path.join(ROOT, 'configs', 'sweeps');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-config-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

function yamlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? yamlFiles(p) : /\.(ya?ml|json)$/.test(e.name) ? [p] : [];
  });
}

/** The ConfigError a load throws (fails the test if it does not throw one). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const MIXTURE = `model:
  type: mixture
  means: [[-2.0, 0.0], [2.0, 0.0]]
  stds: [0.5, 0.5]
`;

describe('example configs', () => {
  const files = yamlFiles(EXAMPLES);

  test('there are examples for every solver on VE, VP and sub-VP, a quickstart and ONNX models', () => {
    const names = files.map((f) => path.relative(EXAMPLES, f));
    for (const kind of ['ve', 'vp', 'subvp']) {
      for (const s of SOLVERS) expect(names).toContain(path.join('mixture', `${kind}-${s.name}.yaml`));
    }
    expect(names).toEqual(expect.arrayContaining(['quickstart.yaml', 'toy2d-vp.yaml', 'fashion-mnist-vp.yaml']));
  });

  // mixture-base.yaml is a fragment for `extends` (no sde): it must fail, and say why.
  const complete = files.filter((f) => path.basename(f) !== 'mixture-base.yaml');

  test.each(complete.map((f) => [path.relative(EXAMPLES, f), f]))('%s parses and resolves', (_name, file) => {
    const loaded = loadConfig(file);
    expect(loaded.config.model).toBeDefined();
    // Every example's network is shipped: a missing one fails here (checkExperiment reads its card).
    const checked = checkExperiment(loaded.config, loaded.sources);
    expect(checked.sampleShape?.length).toBeGreaterThan(0);
    expect(checked.sde?.kind).toMatch(/^(ve|vp|subvp)$/);
    expect(checked.reference?.source).not.toBe('none');
  });

  test('the extends fragment alone is incomplete: sde is required for an inline mixture', () => {
    const loaded = loadConfig(path.join(EXAMPLES, 'mixture-base.yaml'));
    const err = configError(() => checkExperiment(loaded.config, loaded.sources));
    expect(err.message).toMatch(/sde: required for model type 'mixture'/);
  });

  test.each(yamlFiles(SWEEPS).map((f) => [path.basename(f), f]))('sweep %s loads every cell', (_name, file) => {
    const sweep = loadSweep(file);
    expect(sweep.cells.length).toBeGreaterThanOrEqual(6);
    // Every cell is a different experiment (an axis that changed nothing would repeat one).
    expect(new Set(sweep.cells.map((c) => JSON.stringify(c.config))).size).toBe(sweep.cells.length);
  });

  test('defaults are filled', () => {
    const file = write('defaults.yaml', `sde: {kind: vp}\n${MIXTURE}`);
    const { config } = loadConfig(file);
    expect(config.name).toBe('defaults');
    expect(config.solver).toEqual({ name: 'euler_maruyama', grid: 'uniform', denoise: false, noise: 'step' });
    expect(config.sampling).toEqual({ n: 1000, seed: 0 });
    expect(config.device).toBe('auto');
    expect(config.output).toMatchObject({ preview: true, grid: 8, scale: 2, dtype: 'float32' });
    expect(config.reference).toMatchObject({ source: 'auto', seed: 2024, projections: 256 });
  });

  test('solver settings are validated and defaulted by the solver\'s own schema', () => {
    const file = write('pc.yaml', `sde: {kind: ve}\n${MIXTURE}solver: {name: pc, steps: 20}\n`);
    const { config } = loadConfig(file);
    expect(config.solver).toMatchObject({ name: 'pc', steps: 20, predictor: 'reverse_diffusion', corrector: 'langevin', snr: 0.16, correctorSteps: 1 });
  });

  test('every config field is documented, and every optional one names its default', () => {
    const fields = describeFields(experimentConfigSchema);
    expect(fields.length).toBeGreaterThan(30);
    for (const f of fields) {
      expect(`${f.path}: ${f.description ?? ''}`).toMatch(/: \S/);
      if (!f.required && !f.path.includes('(') && !/^(name|description)$/.test(f.path)) {
        expect(`${f.path}: ${f.description}`).toMatch(/Default|default|Implies|Required|Optional|Reference for metrics/);
      }
    }
  });
});

describe('bad configs name the file, the field, the value, what is allowed, and line:col', () => {
  const cases: [string, string, RegExp[]][] = [
    ['unknown top-level key', `sde: {kind: vp}\n${MIXTURE}colour: red\n`, [/:6:1: colour: unknown key 'colour'; allowed here: name, description, sde, model, solver/]],
    ['unknown nested key', `sde: {kind: vp}\n${MIXTURE}sampling:\n  n: 10\n  seeed: 3\n`, [/:8:3: sampling\.seeed: unknown key 'seeed'; allowed here: n, batchSize, seed, xT/]],
    ['wrong enum', `sde:\n  kind: vx\n${MIXTURE}`, [/:2:9: sde\.kind: invalid discriminator value\. Expected 've' \| 'vp' \| 'subvp'; got "vx"/]],
    ['wrong schedule enum', `sde:\n  kind: vp\n  schedule: quadratic\n${MIXTURE}`, [/:3:13: sde\.schedule: invalid option: expected one of "linear"\|"cosine"; got "quadratic"/]],
    ['negative steps', `sde: {kind: vp}\n${MIXTURE}solver:\n  name: ode_euler\n  steps: -5\n`, [/:8:10: solver\.steps: too small: expected number to be >0; got -5/]],
    ['fractional steps', `sde: {kind: vp}\n${MIXTURE}solver: {name: ode_euler, steps: 2.5}\n`, [/solver\.steps: .*int.*; got 2\.5/i]],
    ['bad snr', `sde: {kind: vp}\n${MIXTURE}solver:\n  name: pc\n  snr: -0.1\n`, [/:8:8: solver\.snr: too small: expected number to be >0; got -0\.1/]],
    ['snr on a solver without a corrector', `sde: {kind: vp}\n${MIXTURE}solver:\n  name: ode_heun\n  snr: 0.2\n`, [/:8:3: solver\.snr: unknown key 'snr'; allowed here: name, steps, eps, grid, rho, nfe, denoise/]],
    ['unknown solver', `sde: {kind: vp}\n${MIXTURE}solver: {name: heun}\n`, [/:6:16: solver\.name: unknown solver: expected one of euler_maruyama, pc, ode_euler, ode_heun, ode_rk45, ddim, dpm_solver, dpmpp_2m, dpmpp_3m, dpmpp_2m_sde, unipc, edm; got "heun"/]],
    ['wrong type', `sde: {kind: vp}\n${MIXTURE}sampling:\n  n: many\n`, [/:7:6: sampling\.n: invalid input: expected number, received string; got "many"/]],
    ['sigmaMin >= sigmaMax', `sde:\n  kind: ve\n  sigmaMin: 50\n  sigmaMax: 10\n${MIXTURE}`, [/:3:13: sde\.sigmaMin: sigmaMin must be < sigmaMax \(10\); got 50/]],
    ['missing model', `sde: {kind: vp}\n`, [/model: required field is missing/]],
    ['bad mixture stds', `sde: {kind: vp}\nmodel:\n  type: mixture\n  means: [[0, 0]]\n  stds: [-1]\n`, [/:5:10: model\.stds\.0: too small: expected number to be >0; got -1/]],
    ['wrong model type', `sde: {kind: vp}\nmodel: {type: torch, path: x.pt}\n`, [/:2:15: model\.type: invalid discriminator value\. Expected 'onnx' \| 'mixture' \| 'gaussian'/]],
    ['bad device', `sde: {kind: vp}\n${MIXTURE}device: tpu\n`, [/:6:9: device: invalid option: expected one of "auto"\|"cuda"\|"cpu"; got "tpu"/]],
  ];

  test.each(cases)('%s', (_name, text, patterns) => {
    const file = write(`bad-${_name.replace(/\W+/g, '-')}.yaml`, text);
    const err = configError(() => loadConfig(file));
    expect(err.message.startsWith(file)).toBe(true);
    for (const p of patterns) expect(err.message).toMatch(p);
  });

  test('several problems are all reported', () => {
    const file = write('many.yaml', `sde: {kind: vp, betaMax: -1}\n${MIXTURE}sampling: {n: 0, seed: -1}\n`);
    const err = configError(() => loadConfig(file));
    expect(err.issues.map((i) => i.path).sort()).toEqual(['sampling.n', 'sampling.seed', 'sde.betaMax']);
  });

  test('YAML syntax errors carry line:col', () => {
    const file = write('syntax.yaml', `sde: {kind: vp}\nmodel:\n  type: mixture\n  means: [[0, 0]\n`);
    const err = configError(() => loadConfig(file));
    expect(err.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: YAML syntax error`));
  });

  test('JSON configs work, with line:col too', () => {
    const file = write('cfg.json', `{\n  "sde": {"kind": "vp"},\n  "model": {"type": "gaussian", "mean": [0, 0]},\n  "solver": {"name": "pc", "snr": 0}\n}\n`);
    const err = configError(() => loadConfig(file));
    expect(err.message).toMatch(/cfg\.json:4:35: solver\.snr: too small/);
    fs.writeFileSync(file, `{"sde": {"kind": "vp"}, "model": {"type": "gaussian", "mean": [0, 0]}}`);
    expect(loadConfig(file).config.model).toEqual({ type: 'gaussian', mean: [0, 0], std: 1 });
  });

  test('a missing file is a ConfigError naming it', () => {
    const err = configError(() => loadConfig(path.join(tmp, 'nope.yaml')));
    expect(err.message).toMatch(/nope\.yaml: config file not found/);
  });

  test('an SDE that contradicts the model card is an error at the field (no onnxruntime needed)', () => {
    const model = path.join(ROOT, 'models', 'toy2d', 'mixture-vp.onnx');
    const file = write('card.yaml', `sde:\n  kind: vp\n  betaMax: 10\nmodel:\n  type: onnx\n  path: ${model}\n`);
    const loaded = loadConfig(file);
    const err = configError(() => checkExperiment(loaded.config, loaded.sources));
    expect(err.message).toMatch(/card\.yaml:3:12: sde\.betaMax: disagrees with the model card .*mixture-vp\.card\.json, which says betaMax: 20.*; got 10/);
    // Agreeing fields and N (which the card does not record) are fine; the rest comes from the card.
    fs.writeFileSync(file, `sde: {kind: vp, betaMin: 0.1, N: 500}\nmodel: {type: onnx, path: ${model}}\n`);
    const ok = loadConfig(file);
    expect(checkExperiment(ok.config, ok.sources).sde).toEqual({ kind: 'vp', schedule: 'linear', betaMin: 0.1, betaMax: 20, T: 1, N: 500 });
    fs.writeFileSync(file, `sde: {kind: ve}\nmodel: {type: onnx, path: ${model}}\n`);
    const kind = loadConfig(file);
    expect(configError(() => checkExperiment(kind.config, kind.sources)).message).toMatch(/:1:13: sde\.kind: disagrees with the model card/);
  });

  test('an x_T file of the wrong shape is a config error at sampling.xT', () => {
    const { encodeNpy } = require('../core/npy') as typeof import('../core/npy');
    const xT = path.join(tmp, 'xT-3d.npy');
    fs.writeFileSync(xT, encodeNpy(new Float32Array(30), [10, 3]));
    const file = write('xt.yaml', `sde: {kind: vp}\n${MIXTURE}sampling:\n  n: 10\n  xT: xT-3d.npy\n`);
    const loaded = loadConfig(file);
    const err = configError(() => checkExperiment(loaded.config, loaded.sources));
    expect(err.message).toMatch(/xt\.yaml:8:7: sampling\.xT: has shape \[10, 3\], expected \[>= 10, 2\]/);
  });
});

describe('extends and --set', () => {
  test('deep merge, child wins; arrays are replaced; null deletes', () => {
    write('ext/base.yaml', `sde: {kind: vp, betaMax: 15}\n${MIXTURE}sampling: {n: 50, seed: 7, batchSize: 10}\nsolver: {name: pc, snr: 0.1, steps: 30}\n`);
    const child = write('ext/child.yaml', `extends: base.yaml\nsde: {betaMin: 0.2}\nmodel: {means: [[0, 0], [1, 1]]}\nsampling: {n: 80, batchSize: null}\nsolver: {steps: 40}\n`);
    const { config, files } = loadConfig(child);
    expect(files).toEqual([child, path.join(tmp, 'ext', 'base.yaml')]);
    expect(config.sde).toEqual({ kind: 'vp', betaMin: 0.2, betaMax: 15 });
    expect(config.model).toEqual({ type: 'mixture', means: [[0, 0], [1, 1]], stds: [0.5, 0.5] });
    expect(config.sampling).toEqual({ n: 80, seed: 7 });
    expect(config.solver).toMatchObject({ name: 'pc', snr: 0.1, steps: 40 });
    expect(config.name).toBe('child');
  });

  test('paths are relative to the file that writes them', () => {
    const { encodeNpy } = require('../core/npy') as typeof import('../core/npy');
    fs.mkdirSync(path.join(tmp, 'rel', 'parent', 'data'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'rel', 'parent', 'data', 'x.npy'), encodeNpy(new Float32Array(8), [4, 2]));
    write('rel/parent/base.yaml', `sde: {kind: vp}\n${MIXTURE}sampling: {n: 4, xT: data/x.npy}\nreference: data/ref.npy\noutput: {dir: out}\n`);
    const child = write('rel/child/run.yaml', `extends: ../parent/base.yaml\noutput: {dir: here}\n`);
    const { config } = loadConfig(child);
    expect(config.sampling.xT).toBe(path.join(tmp, 'rel', 'parent', 'data', 'x.npy'));
    expect(config.reference).toMatchObject({ source: 'npy', path: path.join(tmp, 'rel', 'parent', 'data', 'ref.npy') });
    expect(config.output.dir).toBe(path.join(tmp, 'rel', 'child', 'here'));
  });

  test('a list of parents merges left to right', () => {
    write('multi/a.yaml', `sde: {kind: vp}\nsampling: {n: 1, seed: 1}\n`);
    write('multi/b.yaml', `${MIXTURE}sampling: {n: 2}\n`);
    const c = write('multi/c.yaml', `extends: [a.yaml, b.yaml]\n`);
    expect(loadConfig(c).config.sampling).toEqual({ n: 2, seed: 1 });
  });

  test('changing solver.name drops inherited settings the new solver does not take', () => {
    write('switch/base.yaml', `sde: {kind: vp}\n${MIXTURE}solver: {name: pc, snr: 0.1, steps: 30, norm: batch}\n`);
    const child = write('switch/child.yaml', `extends: base.yaml\nsolver: {name: ode_heun}\n`);
    expect(loadConfig(child).config.solver).toEqual({ name: 'ode_heun', steps: 30, grid: 'uniform', denoise: false });
    // But a setting written beside the new name is validated, not dropped.
    fs.writeFileSync(child, `extends: base.yaml\nsolver: {name: ode_heun, snr: 0.3}\n`);
    expect(configError(() => loadConfig(child)).message).toMatch(/child\.yaml:2:26: solver\.snr: unknown key 'snr'/);
    // Restating the same name also sheds other solvers' settings; a key no solver takes stays an error.
    write('switch/mixed.yaml', `sde: {kind: vp}\n${MIXTURE}solver: {name: euler_maruyama, steps: 30, norm: batch, snr: 0.2}\n`);
    fs.writeFileSync(child, `extends: mixed.yaml\nsolver: {name: euler_maruyama}\n`);
    expect(loadConfig(child).config.solver).toEqual({ name: 'euler_maruyama', steps: 30, grid: 'uniform', denoise: false, noise: 'step' });
    write('switch/typo.yaml', `sde: {kind: vp}\n${MIXTURE}solver: {name: pc, stepz: 30}\n`);
    fs.writeFileSync(child, `extends: typo.yaml\nsolver: {name: ode_euler}\n`);
    expect(configError(() => loadConfig(child)).message).toMatch(/typo\.yaml:6:20: solver\.stepz: unknown key 'stepz'/);
    // Changing the model type replaces the model's fields.
    fs.writeFileSync(child, `extends: base.yaml\nmodel: {type: gaussian, mean: [1, 2]}\n`);
    expect(loadConfig(child).config.model).toEqual({ type: 'gaussian', mean: [1, 2], std: 1 });
  });

  test('an error in a parent points into the parent file', () => {
    const base = write('perr/base.yaml', `sde: {kind: vp}\n${MIXTURE}solver:\n  name: pc\n  snr: -3\n`);
    const child = write('perr/child.yaml', `extends: base.yaml\nsampling: {n: 5}\n`);
    const err = configError(() => loadConfig(child));
    expect(err.issues[0]).toMatchObject({ file: base, path: 'solver.snr', line: 8, col: 8, value: -3 });
  });

  test('cycles are detected and named', () => {
    write('cyc/a.yaml', `extends: b.yaml\n${MIXTURE}`);
    write('cyc/b.yaml', `extends: c.yaml\n`);
    write('cyc/c.yaml', `sde: {kind: vp}\nextends: a.yaml\n`);
    const err = configError(() => loadConfig(path.join(tmp, 'cyc', 'a.yaml')));
    expect(err.message).toMatch(/c\.yaml:2:10: extends: extends cycle: .*a\.yaml -> .*b\.yaml -> .*c\.yaml -> .*a\.yaml/);
    const self = write('cyc/self.yaml', `extends: self.yaml\n`);
    expect(configError(() => loadConfig(self)).message).toMatch(/extends cycle/);
    const missing = write('cyc/missing.yaml', `extends: nowhere.yaml\n`);
    expect(configError(() => loadConfig(missing)).message).toMatch(/missing\.yaml:1:10: extends: extended file not found/);
  });

  test('--set overrides with values parsed as YAML/JSON, in order, after extends', () => {
    const file = write('set/base.yaml', `sde: {kind: vp}\n${MIXTURE}solver: {name: pc}\n`);
    const { config } = loadConfig(file, {
      sets: ['solver.snr=0.2', 'solver.correctorSteps=2', 'output.preview=false', 'model.weights=[1, 3]', 'name=my run', 'sampling={n: 12, seed: 3}', 'sampling.seed=4', 'model.means.1.0=5'],
      cwd: tmp,
    });
    expect(config.solver).toMatchObject({ name: 'pc', snr: 0.2, correctorSteps: 2 });
    expect(config.output.preview).toBe(false);
    expect(config.model).toMatchObject({ weights: [1, 3], means: [[-2, 0], [5, 0]] });
    expect(config.name).toBe('my run');
    expect(config.sampling).toEqual({ n: 12, seed: 4 });
    // Paths given with --set are relative to the working directory; null deletes.
    const c2 = loadConfig(file, { sets: ['output.dir=results/x', 'reference=none', 'solver.snr=null'], cwd: '/somewhere' }).config;
    expect(c2.output.dir).toBe(path.resolve('/somewhere', 'results/x'));
    expect(c2.reference.source).toBe('none');
    expect(c2.solver.snr).toBe(0.16);
  });

  test('--set errors say they came from --set', () => {
    const file = write('set/err.yaml', `sde: {kind: vp}\n${MIXTURE}`);
    const err = configError(() => loadConfig(file, { sets: ['solver.steps=-1'] }));
    expect(err.message).toMatch(/err\.yaml: solver\.steps: too small.*; got -1 \[from --set solver\.steps=-1\]/);
    expect(configError(() => loadConfig(file, { sets: ['nokey'] })).message).toMatch(/expected --set path\.to\.key=value/);
    expect(configError(() => loadConfig(file, { sets: ['solver.stepz=3'] })).message).toMatch(/solver\.stepz: unknown key 'stepz'.*\[from --set solver\.stepz=3\]/);
  });
});
