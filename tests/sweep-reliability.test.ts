import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { cli as runCli, withEnv } from './support/cli';
import { kill, killStrays, spawnCli, waitUntil } from './support/child-cli';
import { readNpy } from '../core/npy';
import type { Manifest } from '../cli/manifest';

/**
 * Sweeps that never lose or mix results: resume by config and input-file content, nothing deleted
 * before its replacement exists, one sweep per folder, NaN metrics, a full disk.
 */

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-sweep-rel-'));
  const exact = path.resolve(__dirname, '..', 'models', 'exact');
  fs.copyFileSync(path.join(exact, 'mixture-vp-t-score.onnx'), path.join(tmp, 'net.onnx'));
  fs.copyFileSync(path.join(exact, 'mixture-vp-t-score.card.json'), path.join(tmp, 'net.card.json'));
  fs.writeFileSync(path.join(tmp, 'base.yaml'), BASE);
  fs.writeFileSync(path.join(tmp, 'onnx.yaml'), ONNX);
  fs.writeFileSync(path.join(tmp, 'sweep.yaml'), `name: rel\nbase: base.yaml\naxes:\n  solver.name: [euler_maruyama, ode_heun]\n  solver.steps: [5, 15]\n`);
  fs.writeFileSync(path.join(tmp, 'onnx-sweep.yaml'), `base: onnx.yaml\naxes:\n  solver.steps: [3, 6]\n`);
});
afterEach(killStrays);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = (args: string[], cwd = tmp) => runCli(args, cwd);

const BASE = `sde: {kind: vp}
model:
  type: mixture
  means: [[-2.0, 0.0], [2.0, 1.0]]
  stds: [0.4, 0.6]
solver: {name: euler_maruyama}
sampling: {n: 200, seed: 3}
output: {preview: false}
`;

const ONNX = `model: {type: onnx, path: net.onnx, device: cpu, threads: 1}
solver: {name: ode_euler}
sampling: {n: 100}
output: {preview: false}
`;

const CELLS = ['name=euler_maruyama,steps=5', 'name=euler_maruyama,steps=15', 'name=ode_heun,steps=5', 'name=ode_heun,steps=15'];

function manifest(dir: string, cell: string): Manifest {
  return JSON.parse(fs.readFileSync(path.join(dir, 'cells', cell, 'manifest.json'), 'utf8')) as Manifest;
}

describe('sweep resume', () => {
  test('a replaced model file reruns its cells; the same content touched does not', async () => {
    const first = await cli(['sweep', 'onnx-sweep.yaml', '--out', 'fp', '-q']);
    expect(first.code).toBe(0);
    const m0 = manifest(path.join(tmp, 'fp'), 'steps=3');
    expect(m0.inputs.model).toMatchObject({ path: path.join(tmp, 'net.onnx'), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(m0.inputs.card?.path).toBe(path.join(tmp, 'net.card.json'));

    // Same bytes, new mtime: still done (the control).
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(tmp, 'net.onnx'), later, later);
    expect((await cli(['sweep', 'onnx-sweep.yaml', '--out', 'fp', '-q'])).stdout).toMatch(/0 run, 2 already done/);

    // Another network (same card semantics, another graph) in its place: both cells rerun.
    fs.copyFileSync(path.resolve(__dirname, '..', 'models', 'exact', 'mixture-vp-t-score-b8.onnx'), path.join(tmp, 'net.onnx'));
    const again = await cli(['sweep', 'onnx-sweep.yaml', '--out', 'fp', '-q']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/2 run, 0 already done/);
    expect(manifest(path.join(tmp, 'fp'), 'steps=3').inputs.model!.sha256).not.toBe(m0.inputs.model!.sha256);

    // An edited card reruns too.
    fs.writeFileSync(path.join(tmp, 'net.card.json'), fs.readFileSync(path.join(tmp, 'net.card.json'), 'utf8').replace('"description": "', '"description": "edited. '));
    expect((await cli(['sweep', 'onnx-sweep.yaml', '--out', 'fp', '-q'])).stdout).toMatch(/2 run, 0 already done/);
  });

  test('a sweep killed just after it started with a changed config deletes no finished cell', async () => {
    const dir = path.join(tmp, 'killed');
    expect((await cli(['sweep', 'sweep.yaml', '--out', 'killed', '-q'])).code).toBe(0);
    const results = fs.readFileSync(path.join(dir, 'results.json'), 'utf8');
    // The changed sweep (another n: every cell to run again), killed while its first cell samples.
    const run = spawnCli(['sweep', 'sweep.yaml', '--out', 'killed', '-q', '--set', 'sampling.n=300000', '--set', 'sampling.batchSize=10000'], tmp);
    await waitUntil(run, () => fs.readdirSync(path.join(dir, 'cells')).some((e) => e.includes('.partial-')));
    await kill(run);
    for (const c of CELLS) {
      expect(manifest(dir, c).n).toBe(200);
      expect(readNpy(path.join(dir, 'cells', c, 'samples.npy')).shape).toEqual([200, 2]);
    }
    expect(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')).toBe(results);
    // The killed sweep's lock is stale (its pid is gone): the next sweep takes over, finds every
    // cell of the original config done, and clears the half-built cell.
    expect(fs.existsSync(path.join(dir, '.lock'))).toBe(true);
    const resumed = await cli(['sweep', 'sweep.yaml', '--out', 'killed', '-q']);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/0 run, 4 already done/);
    expect(fs.readdirSync(path.join(dir, 'cells')).sort()).toEqual([...CELLS].sort());
    expect(fs.existsSync(path.join(dir, '.lock'))).toBe(false);
  });

  test('a NaN metric (stored as null) does not crash the next run of the finished sweep', async () => {
    const dir = path.join(tmp, 'nan-metric');
    expect((await cli(['sweep', 'sweep.yaml', '--out', 'nan-metric', '-q'])).code).toBe(0);
    const file = path.join(dir, 'cells', CELLS[1], 'manifest.json');
    const m = JSON.parse(fs.readFileSync(file, 'utf8'));
    m.metrics.sw = null; // what JSON.stringify makes of NaN
    fs.writeFileSync(file, JSON.stringify(m));
    const r = await cli(['sweep', 'sweep.yaml', '--out', 'nan-metric']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/0 run, 4 already done/);
    expect(r.stdout).toMatch(/│ euler_maruyama │ 15 +│ 15 +│ [\d.]+ +│ NaN +│/);
    const csv = fs.readFileSync(path.join(dir, 'results.csv'), 'utf8');
    expect(csv.split('\n')[2]).toMatch(/,NaN,/);
  });

  test('a cell whose metrics fail keeps its samples, with error.txt beside them, and runs again on resume', async () => {
    const dir = path.join(tmp, 'metrics-fail');
    const r = await withEnv('SCORE_SDE_TEST_FAULTS', 'metrics', () => cli(['sweep', 'sweep.yaml', '--out', 'metrics-fail', '-q', '--limit', '1']));
    expect(r.code).toBe(1);
    const cell = path.join(dir, 'cells', CELLS[0]);
    expect(fs.readdirSync(cell).sort()).toEqual(['error.txt', 'manifest.json', 'samples.npy']);
    expect(manifest(dir, CELLS[0]).status).toBe('metrics-failed');
    expect(fs.readFileSync(path.join(cell, 'error.txt'), 'utf8')).toMatch(/MetricsFailedError/);
    const again = await cli(['sweep', 'sweep.yaml', '--out', 'metrics-fail', '-q', '--limit', '1']);
    expect(again.stdout).toMatch(/1 run, 0 already done, 0 failed/);
    expect(fs.readdirSync(cell).sort()).toEqual(['manifest.json', 'samples.npy']);
  });
});

describe('one sweep per folder', () => {
  test('two sweeps into one folder at once: the second exits 2 naming the holder, the first finishes', async () => {
    const [a, b] = await Promise.all([cli(['sweep', 'sweep.yaml', '--out', 'locked', '-q']), cli(['sweep', 'sweep.yaml', '--out', 'locked', '-q'])]);
    expect([a.code, b.code].sort()).toEqual([0, 2]);
    const loser = a.code === 2 ? a : b;
    expect(loser.stderr).toMatch(
      new RegExp(`^score-sde: the sweep folder .*locked is in use by another sweep \\(pid ${process.pid} on host ${os.hostname()}, since .*\\); wait for it to finish, or delete .*locked/\\.lock if that process is gone`, "m"),
    );
    expect(fs.existsSync(path.join(tmp, 'locked', '.lock'))).toBe(false);
  });

  test('a lock left by a dead process is taken over; one from another host is respected', async () => {
    const dir = path.join(tmp, 'stale');
    fs.mkdirSync(dir, { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    fs.writeFileSync(path.join(dir, '.lock'), JSON.stringify({ pid: dead, host: os.hostname(), startedAt: 'then', token: 'x' }));
    expect((await cli(['sweep', 'sweep.yaml', '--out', 'stale', '-q'])).code).toBe(0);
    fs.writeFileSync(path.join(dir, '.lock'), JSON.stringify({ pid: dead, host: 'elsewhere', startedAt: 'then', token: 'y' }));
    const r = await cli(['sweep', 'sweep.yaml', '--out', 'stale', '-q']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`in use by another sweep \\(pid ${dead} on host elsewhere, since then\\)`));
  });
});

describe('a full disk during a sweep', () => {
  test('cells finished before the disk filled are still reported, with the write failures named (exit 1)', async () => {
    // Everything written after the first two cells fails: the later cells, their error.txt, results.
    const r = await withEnv('SCORE_SDE_TEST_ENOSPC', 'name=ode_heun|results\\.|quality-vs', () => cli(['sweep', 'sweep.yaml', '--out', 'full-disk']));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/│ euler_maruyama │ 5 +│ 5 +│ [\d.]+ +│ [\d.]+ .*│ ok +│/);
    expect(r.stdout).toMatch(/│ euler_maruyama │ 15 +│ 15 +│ .*│ ok +│/);
    expect(r.stdout).toMatch(/│ ode_heun +│ 15 +│ +│ +│.*│ failed │/);
    expect(r.stdout).toMatch(/full-disk: 2 run, 0 already done, 2 failed, 0 pending/);
    expect(r.stderr).toMatch(/cannot write .*error\.txt: ENOSPC/);
    expect(r.stderr).toMatch(/score-sde: cannot write the results into .*full-disk: ENOSPC/);
    // With room again, the sweep resumes: the two finished cells are kept.
    const again = await cli(['sweep', 'sweep.yaml', '--out', 'full-disk', '-q']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/2 run, 2 already done, 0 failed/);
  });
});
