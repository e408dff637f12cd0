import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cli as runCli, withEnv } from './support/cli';
import { kill, killStrays, spawnCli, waitUntil } from './support/child-cli';
import { readNpy, readNpyHeader } from '../core/npy';
import { claimRunDir } from '../cli/run-folder';
import type { Manifest } from '../cli/manifest';

/**
 * A run never writes into another run's folder, and a run that fails or is killed never leaves a
 * folder that looks finished but mixes two runs (issue: same-second folders; old manifest beside
 * new samples; samples lost to a slow or failing metric step).
 */

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-run-folders-'));
  fs.writeFileSync(path.join(tmp, 'small.yaml'), SMALL);
});
afterEach(killStrays);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = (args: string[], cwd = tmp) => runCli(args, cwd);

const SMALL = `name: small
sde: {kind: vp}
model:
  type: mixture
  means: [[-2.0, 0.0], [2.0, 0.0]]
  stds: [0.5, 0.5]
solver: {name: ode_euler, steps: 10}
sampling: {n: 40, seed: 1}
output: {preview: false}
`;

function manifestOf(dir: string): Manifest {
  return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
}

/** A run folder is consistent when its manifest and its samples.npy describe the same run. */
function expectConsistent(dir: string, seed: number, n: number): void {
  const m = manifestOf(dir);
  expect(m.seed).toBe(seed);
  expect(m.n).toBe(n);
  expect(readNpy(path.join(dir, 'samples.npy')).shape).toEqual([n, 2]);
}

describe('run folders', () => {
  test('runs started in the same second each get a folder of their own (-2, -3, … claimed atomically)', async () => {
    const cwd = fs.mkdtempSync(path.join(tmp, 'same-second-'));
    fs.copyFileSync(path.join(tmp, 'small.yaml'), path.join(cwd, 'small.yaml'));
    // Five runs started together: every folder name is claimed before any of them samples.
    const results = await Promise.all([0, 1, 2, 3, 4].map((seed) => cli(['run', 'small.yaml', '-q', '--set', `sampling.seed=${seed}`], cwd)));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0, 0]);
    const dirs = fs.readdirSync(path.join(cwd, 'runs')).sort();
    expect(dirs).toHaveLength(5);
    expect(dirs.every((d) => /^small-\d{8}-\d{6}(-[2-9])?$/.test(d))).toBe(true);
    const seeds = dirs.map((d) => manifestOf(path.join(cwd, 'runs', d)).seed).sort();
    expect(seeds).toEqual([0, 1, 2, 3, 4]);
    for (const d of dirs) expectConsistent(path.join(cwd, 'runs', d), manifestOf(path.join(cwd, 'runs', d)).seed, 40);

    const base = path.join(cwd, 'claimed', 'x');
    expect([claimRunDir(base), claimRunDir(base), claimRunDir(base)]).toEqual([base, `${base}-2`, `${base}-3`]);
  });

  test('a re-run into an existing folder that fails (disk full at manifest.json) leaves the old run whole', async () => {
    const out = path.join(tmp, 'rerun-enospc');
    expect((await cli(['run', 'small.yaml', '--out', out, '-q', '--set', 'sampling.seed=0'])).code).toBe(0);
    const before = fs.readFileSync(path.join(out, 'samples.npy'));
    for (const target of ['manifest\\.json$', 'samples\\.npy$']) {
      const r = await withEnv('SCORE_SDE_TEST_ENOSPC', target, () => cli(['run', 'small.yaml', '--out', out, '-q', '--set', 'sampling.seed=9', '--set', 'sampling.n=300']));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/ENOSPC/);
      // Seed 0's manifest beside seed 0's 40 samples: nothing of the failed seed-9 run.
      expectConsistent(out, 0, 40);
      expect(fs.readFileSync(path.join(out, 'samples.npy'))).toEqual(before);
      expect(fs.readdirSync(tmp).filter((e) => e.startsWith('.rerun-enospc'))).toEqual([]);
    }
    // The negative control: the same re-run without the fault replaces the folder whole.
    expect((await cli(['run', 'small.yaml', '--out', out, '-q', '--set', 'sampling.seed=9', '--set', 'sampling.n=300'])).code).toBe(0);
    expectConsistent(out, 9, 300);
  });

  test('an output folder holding files a run did not write is refused before anything runs (exit 2)', async () => {
    const out = path.join(tmp, 'not-a-run');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'thesis.tex'), 'precious');
    const r = await cli(['run', 'small.yaml', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out: .*not-a-run exists and is not a run folder \(it holds thesis\.tex\)/);
    expect(fs.readdirSync(out)).toEqual(['thesis.tex']);
  });

  test('samples are written before the metrics: a failing metric step keeps them, and says so (exit 1)', async () => {
    const out = path.join(tmp, 'metrics-fail');
    const r = await withEnv('SCORE_SDE_TEST_FAULTS', 'metrics', () => cli(['run', 'small.yaml', '--out', out, '-q']));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^score-sde: the metrics failed \(injected failure of the metric step.*\); the samples are kept in .*metrics-fail \(manifest status 'metrics-failed'\)/m);
    const m = manifestOf(out);
    expect(m).toMatchObject({ status: 'metrics-failed', metrics: {}, metricsError: expect.stringMatching(/injected/) });
    expect(readNpy(path.join(out, 'samples.npy')).shape).toEqual([40, 2]);
    // Without the fault: status complete with metrics (the control).
    expect((await cli(['run', 'small.yaml', '--out', out, '-q'])).code).toBe(0);
    expect(manifestOf(out)).toMatchObject({ status: 'complete', metrics: { sw: expect.any(Number) } });
  });
});

describe('killed runs (SIGKILL of a real process)', () => {
  test('a re-run killed while streaming samples leaves the old run whole; the next run clears the leftovers', async () => {
    const out = path.join(tmp, 'killed-rerun');
    expect((await cli(['run', 'small.yaml', '--out', out, '-q', '--set', 'sampling.seed=0'])).code).toBe(0);
    const before = fs.readFileSync(path.join(out, 'samples.npy'));
    // A slow re-run (seed 9, 400 000 samples in batches of 20 000) killed once a batch is on disk.
    const run = spawnCli(['run', 'small.yaml', '--out', out, '-q', '--set', 'sampling.seed=9', '--set', 'sampling.n=400000', '--set', 'sampling.batchSize=20000', '--set', 'solver.steps=200'], tmp);
    const staged = () => fs.readdirSync(tmp).find((e) => e.startsWith('.killed-rerun.partial-'));
    await waitUntil(run, () => {
      const s = staged();
      const tmpFile = s && fs.readdirSync(path.join(tmp, s)).find((f) => f.startsWith('samples.npy.tmp-'));
      return !!tmpFile && fs.statSync(path.join(tmp, s!, tmpFile)).size > 20000 * 8;
    });
    await kill(run);
    expectConsistent(out, 0, 40);
    expect(fs.readFileSync(path.join(out, 'samples.npy'))).toEqual(before);
    expect(staged()).toBeDefined(); // the killed run's half-built folder, hidden beside it
    expect((await cli(['run', 'small.yaml', '--out', out, '-q', '--set', 'sampling.seed=3'])).code).toBe(0);
    expectConsistent(out, 3, 40);
    expect(staged()).toBeUndefined();
  });

  test('a run killed during a slow metric step keeps its samples, with a manifest saying the metrics are pending', async () => {
    const out = path.join(tmp, 'killed-metrics');
    const n = 100000;
    const run = spawnCli(['run', 'small.yaml', '--out', out, '-q', '--set', `sampling.n=${n}`, '--set', `reference.maxSamples=${n}`, '--set', 'solver.steps=2'], tmp);
    await waitUntil(run, () => fs.existsSync(path.join(out, 'manifest.json')));
    await kill(run);
    const m = manifestOf(out);
    expect(m.status).toBe('metrics-pending');
    expect(m.metrics).toEqual({});
    expect(readNpyHeader(path.join(out, 'samples.npy')).shape).toEqual([n, 2]);
    expect(readNpy(path.join(out, 'samples.npy')).data.every(Number.isFinite)).toBe(true);
  });
});
