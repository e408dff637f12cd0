import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cli as runCli } from './support/cli';
import { readNpy } from '../core/npy';
import { cellIds, loadSweep } from '../configs/sweep';
import { ConfigError } from '../configs/errors';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-cli-sweep-'));
  fs.writeFileSync(path.join(tmp, 'base.yaml'), BASE);
  fs.writeFileSync(path.join(tmp, 'sweep.yaml'), SWEEP);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The CLI in-process, run in this file's temporary folder by default. */
const cli = (args: string[], cwd = tmp) => runCli(args, cwd);

const BASE = `# a small exact mixture: each cell runs in milliseconds
name: tiny
sde: {kind: vp}
model:
  type: mixture
  means: [[-2.0, 0.0], [2.0, 1.0]]
  stds: [0.4, 0.6]
  weights: [0.3, 0.7]
solver: {name: pc, snr: 0.1, norm: batch}
sampling: {n: 200, seed: 3}
output: {preview: false}
`;

// 3 solvers × 2 step counts. pc keeps the base's snr/norm; the others drop them.
const SWEEP = `name: tiny-sweep
base: base.yaml
axes:
  solver.name: [euler_maruyama, pc, ode_heun]
  solver.steps: [5, 15]
`;

const CELLS = ['name=euler_maruyama,steps=5', 'name=euler_maruyama,steps=15', 'name=pc,steps=5', 'name=pc,steps=15', 'name=ode_heun,steps=5', 'name=ode_heun,steps=15'];

interface Results {
  columns: string[];
  timingColumns: string[];
  rows: Record<string, unknown>[];
}

function results(dir: string): Results {
  return JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as Results;
}

/** The table without the columns that differ between identical runs (wall times). */
function withoutTiming(r: Results): Record<string, unknown>[] {
  return r.rows.map((row) => Object.fromEntries(Object.entries(row).filter(([k]) => !r.timingColumns.includes(k))));
}

function csvWithoutTiming(dir: string): string[][] {
  const lines = fs.readFileSync(path.join(dir, 'results.csv'), 'utf8').trim().split('\n');
  // Cell ids contain commas (quoted); split outside quotes.
  const split = (line: string) => line.match(/("[^"]*"|[^,]*)(,|$)/g)!.map((f) => f.replace(/,$/, '')).slice(0, -1);
  const header = split(lines[0]);
  const keep = header.map((h, i) => (h === 'wallTimeMs' ? -1 : i)).filter((i) => i >= 0);
  return lines.map((l) => keep.map((i) => split(l)[i]));
}

describe('score-sde sweep', () => {
  let full: string;

  test('runs every cell, writes results.csv/json, both plots (.svg and .png) and prints a table', async () => {
    full = path.join(tmp, 'full');
    const r = await cli(['sweep', 'sweep.yaml', '--out', 'full']);
    expect(r.code).toBe(0);
    expect(fs.readdirSync(full).sort()).toEqual(['cells', 'quality-vs-nfe.png', 'quality-vs-nfe.svg', 'quality-vs-time.png', 'quality-vs-time.svg', 'results.csv', 'results.json', 'sweep.json']);
    expect(fs.readdirSync(path.join(full, 'cells')).sort()).toEqual([...CELLS].sort());
    for (const c of CELLS) expect(fs.readdirSync(path.join(full, 'cells', c)).sort()).toEqual(['manifest.json', 'samples.npy']);

    const res = results(full);
    // The solver's name and steps once (they are axes here), not again from the runs.
    expect(res.columns).toEqual(['cell', 'solver.name', 'solver.steps', 'nfe', 'calls', 'wallTimeMs', 'sw', 'mmd2', 'meanError', 'covError', 'swFloor', 'status']);
    expect(res.rows.map((row) => row.cell)).toEqual(CELLS);
    expect(res.rows.map((row) => row.nfe)).toEqual([5, 15, 10, 30, 10, 30]);
    for (const row of res.rows) {
      expect(row.status).toBe('ok');
      expect(row.sw).toBeGreaterThan(0);
      expect(row.sw).toBeLessThan(3);
    }
    // Every cell: same seed, so the same prior draws (common random numbers); pc kept its base settings.
    const manifests = CELLS.map((c) => JSON.parse(fs.readFileSync(path.join(full, 'cells', c, 'manifest.json'), 'utf8')));
    expect(new Set(manifests.map((m) => m.seed))).toEqual(new Set([3]));
    expect(manifests[2].config.solver).toMatchObject({ name: 'pc', steps: 5, snr: 0.1, norm: 'batch' });
    expect(manifests[0].config.solver).toEqual({ name: 'euler_maruyama', steps: 5, grid: 'uniform', denoise: false, noise: 'step' });

    const csv = fs.readFileSync(path.join(full, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(7);
    expect(csv[1]).toMatch(/^"name=euler_maruyama,steps=5",euler_maruyama,5,5,5,[\d.]+,[\d.]+,/);

    // The exact reference's floor: fresh exact draws of n = 200 against the same reference rows, the
    // same in every cell; the coarsest Euler–Maruyama cell is far above it.
    const floors = new Set(res.rows.map((row) => row.swFloor));
    expect(floors.size).toBe(1);
    const swFloor = res.rows[0].swFloor as number;
    expect(swFloor).toBeGreaterThan(0);
    expect(res.rows[0].sw as number).toBeGreaterThan(2 * swFloor);
    for (const p of ['quality-vs-nfe', 'quality-vs-time']) {
      const svg = fs.readFileSync(path.join(full, `${p}.svg`), 'utf8');
      expect(svg).toContain('data floor (n=200)');
      expect((svg.match(/<polyline/g) ?? []).length).toBe(3); // one line per solver
      for (const s of ['euler_maruyama', 'pc', 'ode_heun']) expect(svg).toContain(`>${s}</text>`);
      expect([...fs.readFileSync(path.join(full, `${p}.png`)).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    }
    // The table on stdout, the per-cell log on stderr.
    expect(r.stdout).toMatch(/│ name +│ steps │ nfe │ time \(s\) │ sw +│ mmd2 +│ meanError │ covError │ status │/);
    expect(r.stdout).toMatch(/full: 6 run, 0 already done, 0 failed, 0 pending\n$/);
    expect(r.stderr).toMatch(/^sweep tiny-sweep: 6 cells \(solver\.name × 3, solver\.steps × 2\)\n\[1\/6\] name=euler_maruyama,steps=5: nfe 5 sw /);
  });

  test('interrupted and resumed, the table is the same as uninterrupted (except wall times)', async () => {
    const dir = path.join(tmp, 'resumed');
    // Stopped after 2 cells…
    const first = await cli(['sweep', 'sweep.yaml', '--out', 'resumed', '--limit', '2', '-q']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/2 run, 0 already done, 0 failed, 4 pending \(run the same command again to resume\)/);
    expect(results(dir).rows.map((r) => r.status)).toEqual(['ok', 'ok', 'pending', 'pending', 'pending', 'pending']);
    // …and a third killed mid-write: a folder with partial files and no manifest.
    const killed = path.join(dir, 'cells', CELLS[2]);
    fs.mkdirSync(killed, { recursive: true });
    fs.writeFileSync(path.join(killed, 'samples.npy'), 'partial');
    fs.writeFileSync(path.join(killed, 'manifest.json.tmp-123-abc'), '{');

    const second = await cli(['sweep', 'sweep.yaml', '--out', 'resumed', '-q']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/4 run, 2 already done, 0 failed, 0 pending\n$/);
    expect(fs.readdirSync(killed).sort()).toEqual(['manifest.json', 'samples.npy']);
    expect(withoutTiming(results(dir))).toEqual(withoutTiming(results(full)));
    expect(csvWithoutTiming(dir)).toEqual(csvWithoutTiming(full));
    // Same samples, bit for bit.
    for (const c of CELLS) {
      expect(Buffer.from(readNpy(path.join(dir, 'cells', c, 'samples.npy')).data.buffer)).toEqual(Buffer.from(readNpy(path.join(full, 'cells', c, 'samples.npy')).data.buffer));
    }

    // A deleted manifest reruns that cell only; a finished sweep reruns nothing.
    fs.rmSync(path.join(dir, 'cells', CELLS[5], 'manifest.json'));
    const third = await cli(['sweep', 'sweep.yaml', '--out', 'resumed', '-q']);
    expect(third.stdout).toMatch(/1 run, 5 already done/);
    expect(withoutTiming(results(dir))).toEqual(withoutTiming(results(full)));
    const again = await cli(['sweep', 'sweep.yaml', '--out', 'resumed', '-q', '--json']);
    expect(JSON.parse(again.stdout).rows).toEqual(results(dir).rows);
  });

  test('a cell whose config changed since its manifest was written is run again', async () => {
    const dir = path.join(tmp, 'changed');
    await cli(['sweep', 'sweep.yaml', '--out', 'changed', '-q']);
    const r = await cli(['sweep', 'sweep.yaml', '--out', 'changed', '-q', '--set', 'sampling.n=100']);
    expect(r.stdout).toMatch(/6 run, 0 already done/);
    expect(results(dir).rows.every((row) => row.status === 'ok')).toBe(true);
  });

  test('--workers 2 runs cells in worker threads with the same results', async () => {
    const r = await cli(['sweep', 'sweep.yaml', '--out', 'parallel', '--workers', '2', '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(withoutTiming(results(path.join(tmp, 'parallel')))).toEqual(withoutTiming(results(full)));
  });

  test('cells that change nothing about the noise see the same noise (common random numbers)', async () => {
    fs.writeFileSync(path.join(tmp, 'crn.yaml'), `base: base.yaml\naxes:\n  output.preview: [false, true]\n  sampling.batchSize: [200, 64]\n`);
    // (euler_maruyama: pc with norm: batch would couple a sample to its batch-mates.)
    const r = await cli(['sweep', 'crn.yaml', '--out', 'crn', '-q', '--set', 'solver.name=euler_maruyama']);
    expect(r.code).toBe(0);
    const cells = fs.readdirSync(path.join(tmp, 'crn', 'cells')).sort();
    expect(cells).toEqual(['preview=false,batchSize=200', 'preview=false,batchSize=64', 'preview=true,batchSize=200', 'preview=true,batchSize=64']);
    const bytes = cells.map((c) => Buffer.from(readNpy(path.join(tmp, 'crn', 'cells', c, 'samples.npy')).data.buffer));
    for (const b of bytes) expect(b).toEqual(bytes[0]);
  });

  test('a bad axis value is a config error (exit 2) at its line:col in the sweep file, before anything runs', async () => {
    fs.writeFileSync(path.join(tmp, 'bad.yaml'), `base: base.yaml\naxes:\n  solver.name: [pc, ode_euler]\n  solver.snr: [0.1, -2]\n`);
    const r = await cli(['sweep', 'bad.yaml', '--out', 'bad']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path.join(tmp, 'bad.yaml')}:4:21: solver.snr: too small: expected number to be >0; got -2 [from sweep cell name=pc,snr=-2]`);
    expect(r.stderr).toContain(`${path.join(tmp, 'bad.yaml')}:4:16: solver.snr: unknown key 'snr'; allowed here: name, steps, eps, grid, rho, nfe, denoise [from sweep cell name=ode_euler,snr=0.1]`);
    expect(fs.existsSync(path.join(tmp, 'bad'))).toBe(false);
    fs.writeFileSync(path.join(tmp, 'bad2.yaml'), `base: base.yaml\naxes: {}\nbogus: 1\n`);
    const r2 = await cli(['sweep', 'bad2.yaml']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/bad2\.yaml:2:7: axes: give at least one axis; got \{\}/);
    expect(r2.stderr).toMatch(/bad2\.yaml:3:1: bogus: unknown key 'bogus'; allowed here: name, description, base, axes, output, plot, workers/);
  });

  test('a cell that fails is reported (exit 1) while the others finish; it reruns on resume', async () => {
    const { encodeNpy } = require('../core/npy') as typeof import('../core/npy');
    const good = new Float32Array(400).map((_, i) => Math.sin(i));
    const bad = good.slice();
    bad[5] = NaN;
    fs.writeFileSync(path.join(tmp, 'good.npy'), encodeNpy(good, [200, 2]));
    fs.writeFileSync(path.join(tmp, 'nan.npy'), encodeNpy(bad, [200, 2]));
    fs.writeFileSync(path.join(tmp, 'fail.yaml'), `base: base.yaml\naxes:\n  sampling.xT: [good.npy, nan.npy]\n  solver.steps: [4]\n`);
    const r = await cli(['sweep', 'fail.yaml', '--out', 'fail']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/1 run, 0 already done, 1 failed, 0 pending/);
    const rows = results(path.join(tmp, 'fail')).rows;
    expect(rows.map((row) => row.status)).toEqual(['ok', 'failed']);
    expect(rows[1].error).toMatch(/sampling\.xT: row 2 holds NaN/);
    expect(fs.readdirSync(path.join(tmp, 'fail', 'cells', 'xT=nan.npy,steps=4'))).toEqual(['error.txt']);
    expect(fs.readFileSync(path.join(tmp, 'fail', 'cells', 'xT=nan.npy,steps=4', 'error.txt'), 'utf8')).toMatch(/ConfigError: .*sampling\.xT: row 2 holds NaN/);
    const again = await cli(['sweep', 'fail.yaml', '--out', 'fail', '-q']);
    expect(again.stdout).toMatch(/0 run, 1 already done, 1 failed/);
  });

  test('cell ids: readable, deterministic, unique', () => {
    const axes: [string, unknown[]][] = [
      ['solver.steps', [10, 20]],
      ['sde.N', [1]],
      ['model.N', [2]],
    ];
    expect(cellIds(axes, [[0, 0, 0], [1, 0, 0]])).toEqual(['steps=10,sde.N=1,model.N=2', 'steps=20,sde.N=1,model.N=2']);
    const odd = cellIds([['name', ['a/b', 'a b']]], [[0], [1]]);
    expect(odd[0]).toMatch(/^name=a_b~[0-9a-f]{10}$/);
    expect(odd[1]).toMatch(/^name=a_b~[0-9a-f]{10}$/);
    expect(odd[0]).not.toBe(odd[1]);
    expect(() => loadSweep(path.join(tmp, 'nope.yaml'))).toThrow(ConfigError);
  });
});
