import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import { ZodError, z } from 'zod';
import { ConfigError } from '../configs/errors';
import { cli as runCli } from './support/cli';
import { EXIT_FAILURE, EXIT_USAGE, UsageError, exitCodeFor } from '../cli/exit-codes';
import type { Manifest } from '../cli/experiment';
import { slicedWasserstein } from '../metrics';
import { encodeNpy, readNpy, npyToFloat64 } from '../core/npy';
import { GaussianMixture } from '../models/gaussian-mixture';
import { ParameterError } from '../core/errors';
import { NonFiniteError, SOLVERS } from '../solvers';

const ROOT = path.resolve(__dirname, '..');
const QUICKSTART = path.join(ROOT, 'configs', 'examples', 'quickstart.yaml');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-cli-run-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The CLI in-process, run in this file's temporary folder by default. */
const cli = (args: string[], cwd = tmp) => runCli(args, cwd);

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

const SMALL = `sde: {kind: vp}
model:
  type: mixture
  means: [[-2.0, 0.0], [2.0, 0.0]]
  stds: [0.5, 0.5]
solver: {name: ode_euler, steps: 20}
sampling: {n: 40, seed: 1}
`;

describe('score-sde run', () => {
  test('the quickstart end to end: samples.npy, manifest.json, preview.png; samples match the mixture', async () => {
    const out = path.join(tmp, 'quickstart');
    const t0 = performance.now();
    const r = await cli(['run', QUICKSTART, '--out', out, '--json']);
    const seconds = (performance.now() - t0) / 1000;
    expect(r.stderr).toBe('sampling 2000 × [2] with euler_maruyama on VP (js)\n');
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout) as Manifest;

    // samples.npy: float32, [n, 2].
    const arr = readNpy(path.join(out, 'samples.npy'));
    expect(arr.descr).toBe('<f4');
    expect(arr.shape).toEqual([2000, 2]);
    const samples = npyToFloat64(arr);
    expect(samples.every(Number.isFinite)).toBe(true);

    // manifest.json: what was run, with what, how fast, how well.
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest).toEqual(printed);
    expect(manifest).toMatchObject({
      format: 'score-sde-run/1',
      name: 'quickstart',
      configFile: QUICKSTART,
      seed: 0,
      n: 2000,
      sampleShape: [2],
      sde: { kind: 'vp', schedule: 'linear', betaMin: 0.1, betaMax: 20, T: 1, N: 1000 },
      solver: { name: 'euler_maruyama', steps: 500, eps: 1e-3 },
      model: { type: 'mixture', executionProvider: 'js' },
      nfe: 500,
      calls: 500,
      evaluations: 1_000_000,
      reference: { source: 'exact', n: 2000 },
      files: { samples: 'samples.npy', preview: 'preview.png', manifest: 'manifest.json' },
      versions: { package: '0.1.0', node: process.version, onnxruntime: { node: expect.any(String) } },
      environment: { cores: os.cpus().length },
    });
    expect(manifest.config.solver).toEqual({ name: 'euler_maruyama', steps: 500, grid: 'uniform', denoise: false, noise: 'step' });
    // Milliseconds: a million score evaluations take more than 1 ms, and no longer than the command.
    expect(manifest.wallTimeMs).toBeGreaterThan(1);
    expect(manifest.totalTimeMs).toBeGreaterThanOrEqual(manifest.wallTimeMs);
    expect(manifest.totalTimeMs).toBeLessThanOrEqual(seconds * 1000);
    expect(Object.keys(manifest.metrics).sort()).toEqual(['covError', 'meanError', 'mmd2', 'sw', 'swFloor']);

    // preview.png: a PNG.
    const png = fs.readFileSync(path.join(out, 'preview.png'));
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(PNG.sync.read(png).width).toBe(512);

    // Quality. The noise floor: SW₂ between independent exact sample sets of the same size
    // (mean of 4 pairs, ≈ 0.2 at n = 2000: mode occupancies fluctuate). Threshold: 2 × floor + 0.1
    // (≈ 0.5). Samples that missed the mixture (prior draws, a wrong sign, collapsed modes) are
    // at 1–4.
    const mixture = new GaussianMixture(manifest.config.model as never);
    let floor = 0;
    for (let k = 0; k < 4; k++) floor += slicedWasserstein(mixture.sample(2000, 11 + k), mixture.sample(2000, 21 + k), 2) / 4;
    const sw = slicedWasserstein(samples, mixture.sample(2000, 99), 2);
    expect(floor).toBeGreaterThan(0.05);
    expect(floor).toBeLessThan(0.4);
    expect(sw).toBeLessThan(2 * floor + 0.1);
    // The manifest's metric is the same measurement against its own reference draws (seed 2024).
    expect(manifest.metrics.sw).toBeCloseTo(slicedWasserstein(samples, mixture.sample(2000, 2024), 2), 3);
    expect(manifest.metrics.sw).toBeLessThan(2 * floor + 0.1);
    console.log(`quickstart: ${seconds.toFixed(1)} s in jest; sw ${sw.toFixed(3)} (run) vs noise floor ${floor.toFixed(3)}; manifest sw ${manifest.metrics.sw.toFixed(3)}`);
  });

  test('the summary goes to stdout; --quiet silences stderr; the default folder is runs/<name>-<timestamp>', async () => {
    const cfg = write('small/small.yaml', SMALL);
    const cwd = path.join(tmp, 'small');
    const r = await cli(['run', cfg, '--quiet'], cwd);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^runs\/small-\d{8}-\d{6}: 40 samples, ode_euler \(20 steps\), NFE 20, [\d.]+ s on js\n {2}vs inline mixture: sw [\d.]+ \(exact draws: [\d.]+\), mmd2 /);
    const runs = fs.readdirSync(path.join(cwd, 'runs'));
    expect(runs).toHaveLength(1);
    expect(fs.readdirSync(path.join(cwd, 'runs', runs[0])).sort()).toEqual(['manifest.json', 'preview.png', 'samples.npy']);
  });

  test('output.dir and --set work; results do not depend on batchSize; xT replaces the prior draw', async () => {
    const cfg = write('batch/cfg.yaml', `${SMALL}output: {dir: out-a, dtype: float64}\n`);
    const a = await cli(['run', cfg, '-q']);
    expect(a.code).toBe(0);
    const b = await cli(['run', cfg, '-q', '--set', 'sampling.batchSize=7', '--set', 'output.dir=out-b', '--set', 'output.preview=false']);
    expect(b.code).toBe(0);
    const dirA = path.join(tmp, 'batch', 'out-a');
    const dirB = path.join(tmp, 'out-b'); // --set paths are relative to the working directory
    expect(fs.existsSync(path.join(dirB, 'preview.png'))).toBe(false);
    const sa = readNpy(path.join(dirA, 'samples.npy'));
    expect(sa.descr).toBe('<f8');
    expect(Buffer.from(readNpy(path.join(dirB, 'samples.npy')).data.buffer)).toEqual(Buffer.from(sa.data.buffer));

    // The probability-flow ODE is deterministic given x_T: two seeds, the same x_T file → same samples.
    const xT = path.join(tmp, 'batch', 'xT.npy');
    fs.writeFileSync(xT, encodeNpy(Float64Array.from({ length: 100 }, (_, i) => Math.sin(i)), [50, 2], 'float64'));
    const c = await cli(['run', cfg, '-q', '--out', 'xt-1', '--set', `sampling.xT=${xT}`, '--set', 'sampling.seed=5']);
    const d = await cli(['run', cfg, '-q', '--out', 'xt-2', '--set', `sampling.xT=${xT}`, '--set', 'sampling.seed=6']);
    expect([c.code, d.code]).toEqual([0, 0]);
    const sc = readNpy(path.join(tmp, 'xt-1', 'samples.npy')).data;
    expect(Buffer.from(readNpy(path.join(tmp, 'xt-2', 'samples.npy')).data.buffer)).toEqual(Buffer.from(sc.buffer));
    expect(Buffer.from(sc.buffer)).not.toEqual(Buffer.from(sa.data.buffer));
  });
});

describe('exit codes', () => {
  test('2 for a bad config, with the file, field, value and line:col on stderr', async () => {
    const cfg = write('bad/snr.yaml', `${SMALL}solver:\n  name: pc\n  snr: -1\n`.replace('solver: {name: ode_euler, steps: 20}\n', ''));
    for (const cmd of ['run', 'validate']) {
      const r = await cli([cmd, cfg]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`score-sde: invalid config:\n  ${cfg}:9:8: solver.snr: too small: expected number to be >0; got -1\n`);
    }
  });

  test('2 for an x_T file of the wrong shape', async () => {
    const xT = path.join(tmp, 'bad', 'xT.npy');
    fs.writeFileSync(xT, encodeNpy(new Float32Array(30), [10, 3]));
    const r = await cli(['run', write('bad/xt.yaml', SMALL), '--set', `sampling.xT=${xT}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/sampling\.xT: has shape \[10, 3\], expected \[>= 40, 2\].*\[from --set sampling\.xT=/);
  });

  test('2 for x_T with a NaN: the file is named at sampling.xT, with the row (not a solver failure)', async () => {
    const xT = path.join(tmp, 'bad', 'nan.npy');
    const data = new Float32Array(80);
    data[17] = NaN;
    fs.writeFileSync(xT, encodeNpy(data, [40, 2]));
    const r = await cli(['run', write('bad/nan.yaml', SMALL), '--out', path.join(tmp, 'bad', 'nan-run'), '--set', `sampling.xT=${xT}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/sampling\.xT: row 8 holds NaN \(value 1 of the row\): the file must hold finite numbers only; got ".*nan\.npy"/);
    expect(r.stderr).not.toMatch(/in the score/);
    expect(fs.existsSync(path.join(tmp, 'bad', 'nan-run'))).toBe(false);
  });

  test('1 for a run that fails: samples that float32 cannot hold (VE σ_max = 1e50) stop the run, nothing kept', async () => {
    const out = path.join(tmp, 'bad', 'overflow-run');
    const args = ['run', write('bad/overflow.yaml', SMALL), '--out', out, '--set', 'sde={kind: ve, sigmaMax: 1e50}', '--set', 'solver.steps=1'];
    const r = await cli(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^score-sde: samples\.npy: sample 0 \(value 0\) is -?[\d.]+e\+5\d, which float32 cannot hold .*set output\.dtype: float64/m);
    expect(fs.existsSync(out)).toBe(false);
    // The same values in float64 are kept (the negative control: the check is on the written dtype).
    const ok = await cli([...args, '--set', 'output.dtype=float64']);
    expect(ok.code).toBe(0);
    expect(Math.max(...Array.from(npyToFloat64(readNpy(path.join(out, 'samples.npy'))), Math.abs))).toBeGreaterThan(1e40);
  });

  test('2 for usage errors; 0 for --help and --version', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli([])).code).toBe(2);
    const missing = await cli(['run']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/Not enough non-option arguments/);
    expect((await cli(['run', QUICKSTART, '--bogus'])).stderr).toMatch(/Unknown argument: bogus/);
    const nofile = await cli(['run', 'nope.yaml']);
    expect(nofile.code).toBe(2);
    expect(nofile.stderr).toMatch(/nope\.yaml: config file not found/);
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['run <config>', 'sweep <sweep>', 'inspect [model]', 'enable-cuda', 'validate <config>', 'solvers']) expect(help.stdout).toContain(c);
    const version = await cli(['--version']);
    expect([version.code, version.stdout]).toEqual([0, '0.1.0\n']);
  });

  test('the error → exit status mapping', () => {
    const zodError = z.number().safeParse('x').error as ZodError;
    expect(exitCodeFor(ConfigError.at({ path: 'a', message: 'b' }))).toBe(EXIT_USAGE);
    expect(exitCodeFor(new ParameterError('x'))).toBe(EXIT_USAGE);
    expect(exitCodeFor(zodError)).toBe(EXIT_USAGE);
    expect(exitCodeFor(new UsageError('x'))).toBe(EXIT_USAGE);
    expect(exitCodeFor(Object.assign(new Error('card says'), { name: 'ModelCardMismatchError' }))).toBe(EXIT_USAGE);
    expect(exitCodeFor(new NonFiniteError('pc', 3, 0.5, 'x'))).toBe(EXIT_FAILURE);
    expect(exitCodeFor(new Error('ENOSPC'))).toBe(EXIT_FAILURE);
    expect(exitCodeFor('a string')).toBe(EXIT_FAILURE);
  });
});

describe('validate, solvers, schema', () => {
  test('validate prints the resolved config', async () => {
    const r = await cli(['validate', path.join(ROOT, 'configs', 'examples', 'mixture', 've-pc.yaml'), '--set', 'sampling.n=64']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^# .*ve-pc\.yaml: valid experiment config; resolved:\nname: mixture-ve-pc\n/);
    expect(r.stdout).toContain('  n: 64\n');
    expect(r.stdout).toMatch(/resolved:\n {2}files:\n.*ve-pc\.yaml\n.*mixture-base\.yaml\n {2}sde:\n {4}kind: ve\n {4}sigmaMin: 0\.01\n {4}sigmaMax: 50\n {4}T: 1\n {4}N: 1000\n/);
    const json = await cli(['validate', QUICKSTART, '--json']);
    expect(JSON.parse(json.stdout).solver).toEqual({ name: 'euler_maruyama', steps: 500, grid: 'uniform', denoise: false, noise: 'step' });
  });

  test('validate checks every cell of a sweep', async () => {
    const r = await cli(['validate', path.join(ROOT, 'configs', 'sweeps', 'solvers-mixture.yaml'), '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.cells).toHaveLength(24);
    expect(out.cells[6]).toMatchObject({ id: 'name=pc,steps=2', config: { solver: { name: 'pc', steps: 2, norm: 'batch' } } });
    expect(out.cells[0].config.solver).toEqual({ name: 'euler_maruyama', steps: 2, grid: 'uniform', denoise: false, noise: 'step' });
    expect(r.stderr).toMatch(/solvers-mixture\.yaml: valid sweep \(24 cells\)/);
  });

  test('solvers lists every solver with its settings and defaults', async () => {
    const r = await cli(['solvers']);
    expect(r.code).toBe(0);
    for (const s of SOLVERS) {
      expect(r.stdout).toContain(`${s.name} (${s.family}, ${s.adaptive ? 'adaptive' : 'fixed steps'}; budget: ${s.budget.join(', ')}): ${s.summary}`);
    }
    expect(r.stdout).toMatch(/\n {2}snr +number > 0 +default 0\.16 +— Target signal-to-noise ratio/);
    expect(r.stdout).toMatch(/\n {2}predictor +'reverse_diffusion' \| 'ancestral' \| 'euler_maruyama' \| 'none' +default "reverse_diffusion"/);
    const json = JSON.parse((await cli(['solvers', '--json'])).stdout);
    const pc = json.find((s: { name: string }) => s.name === 'pc');
    expect(pc.settings.find((f: { path: string }) => f.path === 'correctorSteps')).toMatchObject({ type: 'integer >= 0 <= 256', default: 1, hasDefault: true });
    expect(pc.settings.find((f: { path: string }) => f.path === 'steps')).toMatchObject({ required: false, hasDefault: false });
    // Every setting of every solver is described by the solver itself; ode_rk45 lists only what it uses.
    for (const s of json) for (const f of s.settings) expect(f.description).toMatch(/\w{3}/);
    const rk45 = json.find((s: { name: string }) => s.name === 'ode_rk45');
    expect(rk45).toMatchObject({ adaptive: true, budget: ['rtol', 'atol'] });
    const rk45Keys = rk45.settings.map((f: { path: string }) => f.path);
    for (const key of ['safety', 'facMin', 'facMax', 'maxSteps', 'h0', 'hMin', 'rtol', 'atol', 'norm', 'eps', 'denoise']) expect(rk45Keys).toContain(key);
    for (const key of ['steps', 'grid', 'rho', 'noise']) expect(rk45Keys).not.toContain(key);
    expect(rk45.settings.find((f: { path: string }) => f.path === 'norm').description).not.toMatch(/Langevin/);
  });

  test('schema documents the config', async () => {
    const r = await cli(['schema']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\nsampling: object \(default \{\}\)\n/);
    expect(r.stdout).toMatch(/\n {2}n: integer > 0 \(default 1000\)\n {4}Number of samples\./);
    expect(r.stdout).toMatch(/\n {2}\(kind=ve\): Variance exploding/);
    const sweep = await cli(['schema', '--sweep']);
    expect(sweep.stdout).toMatch(/\naxes: /);
  });
});
