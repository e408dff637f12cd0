import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Job, Queue as BullQueue } from 'bullmq';
import { cli as runCli } from './support/cli';
import { ChildRun, kill, killStrays, spawnCli, waitUntil } from './support/child-cli';
import { RedisServer, freePort, requireRedisOrSkipLoudly, startRedis } from './support/redis';
import { encodeNpy } from '../core/npy';
import { QUEUE_NAME, cellJob, cellJobId } from '../cli/queue-jobs';
import { jobState } from '../cli/queue-coordinator';
import { loadSweep } from '../configs/sweep';
import type { Manifest } from '../cli/manifest';

/**
 * Sweeps on several machines: a real Redis (redis-server on a free loopback port), real worker
 * processes (`score-sde worker`), real coordinators (`score-sde sweep --queue`), SIGKILLs at chosen
 * moments. The worker processes are shared by the tests of this file (started once; one is killed
 * by the first test; the third runs two cells at a time), with a 3 s lock so that a killed worker's cell is taken over within seconds.
 */

const canRun = requireRedisOrSkipLoudly('tests/queue-sweep.test.ts');
const describeRedis = canRun ? describe : describe.skip;

const BASE = `sde: {kind: vp}
model:
  type: mixture
  means: [[-2.0, 0.0], [2.0, 1.0]]
  stds: [0.4, 0.6]
solver: {name: euler_maruyama}
sampling: {n: 20000, seed: 11}
reference: {maxSamples: 500, projections: 32}
output: {preview: false}
`;
const STEPS = [30, 40, 50, 60];
const SOLVERS = ['euler_maruyama', 'ode_euler', 'ode_heun'];
const CELLS = SOLVERS.flatMap((s) => STEPS.map((n) => `name=${s},steps=${n}`));

let tmp: string;
let outside: string;
let redis: RedisServer;
let queue: BullQueue;
let client: import('ioredis').Redis;
const workers: { run: ChildRun; log: () => string }[] = [];

const cli = (args: string[]) => runCli(args, tmp);

function startWorker(concurrency: number): { run: ChildRun; log: () => string } {
  const run = spawnCli(['worker', '--queue', redis.url, '--root', tmp, '--lock-timeout', '3', '--concurrency', String(concurrency)], tmp);
  let log = '';
  run.child.stderr!.on('data', (d) => (log += d));
  return { run, log: () => log };
}

function results(dir: string): { rows: { cell: string; status: string; error?: string }[] } {
  return JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8'));
}

function manifest(dir: string, cell: string): Manifest {
  return JSON.parse(fs.readFileSync(path.join(dir, 'cells', cell, 'manifest.json'), 'utf8')) as Manifest;
}

/** The job of each cell of sweep.yaml run into `dir`, by cell id. */
async function jobsOf(sweepFile: string, dir: string): Promise<Map<string, Job>> {
  const sweep = loadSweep(sweepFile);
  const out = new Map<string, Job>();
  for (const cell of sweep.cells) {
    const job = await queue.getJob(cellJobId(cellJob(sweep.file, dir, cell)));
    if (job) out.set(cell.id, job);
  }
  return out;
}

/** Cells whose manifest says complete (a manifest is first written 'metrics-pending'). */
function finishedCells(dir: string): string[] {
  const cells = path.join(dir, 'cells');
  const complete = (c: string) => {
    try {
      return manifest(dir, c).status === 'complete';
    } catch {
      return false;
    }
  };
  return fs.existsSync(cells) ? fs.readdirSync(cells).filter(complete) : [];
}

beforeAll(async () => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-queue-')));
  outside = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-queue-outside-')));
  fs.writeFileSync(path.join(tmp, 'base.yaml'), BASE);
  fs.writeFileSync(path.join(tmp, 'sweep.yaml'), `name: q12\nbase: base.yaml\naxes:\n  solver.name: [${SOLVERS.join(', ')}]\n  solver.steps: [${STEPS.join(', ')}]\n`);
  if (!canRun) return;
  redis = await startRedis();
  const { Queue } = await import('bullmq');
  const { Redis } = await import('ioredis');
  client = new Redis(redis.url, { maxRetriesPerRequest: null });
  queue = new Queue(QUEUE_NAME, { connection: client });
  for (const concurrency of [1, 1, 2]) workers.push(startWorker(concurrency));
  for (const w of workers) await waitUntil(w.run, () => /; ready\n/.test(w.log()));
});

afterAll(async () => {
  killStrays();
  await queue?.close();
  await client?.quit();
  await redis?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

describeRedis('a sweep through Redis on three worker processes', () => {
  test('one worker SIGKILLed mid-cell: every cell ends once, bit-identical to the same sweep run locally', async () => {
    // The same sweep run locally, in another process meanwhile: the reference samples.
    const local = spawnCli(['sweep', 'sweep.yaml', '--out', 'local', '-q'], tmp);
    const dir = path.join(tmp, 'q');
    const coordinator = cli(['sweep', 'sweep.yaml', '--out', 'q', '--queue', redis.url]);
    // The victim: the first worker, caught while it builds a cell (its half-built folder exists).
    const victim = workers[0];
    const partial = new RegExp(`\\.partial-[A-Za-z0-9_]+-${victim.run.child.pid}-`);
    await waitUntil(victim.run, () => fs.existsSync(path.join(dir, 'cells')) && fs.readdirSync(path.join(dir, 'cells')).some((e) => partial.test(e)), 60000);
    await kill(victim.run);
    const r = await coordinator;
    expect(r.code).toBe(0);
    expect((await local.done).code).toBe(0);
    expect(r.stdout).toMatch(/q: 12 run, 0 already done, 0 failed, 0 pending/);

    // Exactly once: one ok row per cell, one folder per cell, no half-built folder left.
    const rows = results(dir).rows;
    expect(rows.map((row) => row.cell)).toEqual(CELLS);
    expect(rows.every((row) => row.status === 'ok')).toBe(true);
    expect(fs.readdirSync(path.join(dir, 'cells')).sort()).toEqual([...CELLS].sort());
    // The killed cell was taken over: its job was found stalled and started a second time.
    const jobs = await jobsOf(path.join(tmp, 'sweep.yaml'), dir);
    expect(jobs.size).toBe(12);
    const retried = [...jobs.values()].filter((j) => j.stalledCounter > 0);
    expect(retried.length).toBe(1);
    expect(retried[0].attemptsStarted).toBe(2);
    expect(retried[0].processedBy).not.toBe(`${os.hostname()}:${victim.run.child.pid}`);
    // The third worker (--concurrency 2) had two cells running at once.
    let running = 0;
    let most = 0;
    for (const line of workers[2].log().split('\n')) {
      if (/: started$/.test(line)) most = Math.max(most, ++running);
      if (/: (done|FAILED)/.test(line)) running--;
    }
    expect(most).toBe(2);
    // Common random numbers: each cell's samples are the local sweep's, byte for byte.
    for (const c of CELLS) {
      expect(fs.readFileSync(path.join(dir, 'cells', c, 'samples.npy')).equals(fs.readFileSync(path.join(tmp, 'local', 'cells', c, 'samples.npy')))).toBe(true);
    }
    // Control: the comparison sees a difference where there is one.
    expect(fs.readFileSync(path.join(dir, 'cells', CELLS[0], 'samples.npy')).equals(fs.readFileSync(path.join(tmp, 'local', 'cells', CELLS[1], 'samples.npy')))).toBe(false);
    // The results table is the local sweep's, timings aside.
    const strip = (d: string) => results(d).rows.map((row) => ({ ...row, wallTimeMs: undefined }));
    expect(strip(dir)).toEqual(strip(path.join(tmp, 'local')));
  });

  test('the coordinator SIGKILLed mid-sweep and started again resumes: no finished cell runs again', async () => {
    const dir = path.join(tmp, 'restart');
    const first = spawnCli(['sweep', 'sweep.yaml', '--out', 'restart', '--queue', redis.url], tmp);
    await waitUntil(first, () => finishedCells(dir).length >= 3, 60000);
    await kill(first);
    const before = new Map(finishedCells(dir).map((c) => [c, manifest(dir, c).createdAt]));
    expect(before.size).toBeGreaterThanOrEqual(3);

    // Meanwhile the workers go on with the queued cells; --status reads where each stands.
    const status = await cli(['sweep', 'sweep.yaml', '--out', 'restart', '--queue', redis.url, '--status', '--json']);
    expect(status.code).toBe(0);
    const s = JSON.parse(status.stdout);
    expect(s.done + s.running + s.failed + s.waiting + s.notQueued).toBe(12);
    expect(s.done).toBeGreaterThanOrEqual(before.size);
    expect(s.failed).toBe(0);
    expect(s.workers).toBe(2);

    const again = await cli(['sweep', 'sweep.yaml', '--out', 'restart', '--queue', redis.url]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`(\\d+) of 12 cells already done`));
    expect(Number(/(\d+) of 12 cells already done/.exec(again.stderr)![1])).toBeGreaterThanOrEqual(before.size);
    expect(results(dir).rows.every((row) => row.status === 'ok')).toBe(true);
    // Nothing ran twice: the cells finished before the kill keep their manifests, and every job
    // of the sweep was started exactly once (the queue's own count).
    for (const [c, createdAt] of before) expect(manifest(dir, c).createdAt).toBe(createdAt);
    const jobs = await jobsOf(path.join(tmp, 'sweep.yaml'), dir);
    expect([...jobs.values()].map((j) => j.attemptsStarted)).toEqual(Array(12).fill(1));
    // The status after: all done.
    const after = await cli(['sweep', 'sweep.yaml', '--out', 'restart', '--queue', redis.url, '--status']);
    expect(after.stdout).toMatch(/q12 \(.*restart\) on redis:\/\/127\.0\.0\.1:\d+: 12 cells: 12 done, 0 running, 0 failed, 0 waiting, 0 not queued; 2 workers connected/);
  });

  test('a failing cell is reported with its error (once, not retried); the others complete', async () => {
    const good = new Float32Array(40000).map((_, i) => Math.sin(i));
    const bad = good.slice();
    bad[5] = NaN;
    fs.writeFileSync(path.join(tmp, 'good.npy'), encodeNpy(good, [20000, 2]));
    fs.writeFileSync(path.join(tmp, 'nan.npy'), encodeNpy(bad, [20000, 2]));
    fs.writeFileSync(path.join(tmp, 'fail.yaml'), `base: base.yaml\naxes:\n  sampling.xT: [good.npy, nan.npy]\n  solver.steps: [4, 6]\n`);
    const r = await cli(['sweep', 'fail.yaml', '--out', 'fail', '--queue', redis.url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/2 run, 0 already done, 2 failed, 0 pending/);
    expect(r.stderr).toMatch(/xT=nan\.npy,steps=4: FAILED: .*sampling\.xT: row 2 holds NaN/);
    const rows = results(path.join(tmp, 'fail')).rows;
    expect(rows.map((row) => row.status)).toEqual(['ok', 'ok', 'failed', 'failed']);
    expect(rows[2].error).toMatch(/sampling\.xT: row 2 holds NaN/);
    const cell = path.join(tmp, 'fail', 'cells', 'xT=nan.npy,steps=4');
    expect(fs.readdirSync(cell)).toEqual(['error.txt']);
    expect(fs.readFileSync(path.join(cell, 'error.txt'), 'utf8')).toMatch(/ConfigError: .*sampling\.xT: row 2 holds NaN/);
    const jobs = await jobsOf(path.join(tmp, 'fail.yaml'), path.join(tmp, 'fail'));
    expect([...jobs.values()].map((j) => j.attemptsStarted)).toEqual([1, 1, 1, 1]);
    const status = await cli(['sweep', 'fail.yaml', '--out', 'fail', '--queue', redis.url, '--status']);
    expect(status.stdout).toMatch(/4 cells: 2 done, 0 running, 2 failed, 0 waiting, 0 not queued/);
    expect(status.stdout).toMatch(/ {2}failed {2}xT=nan\.npy,steps=6: .*row 2 holds NaN/);
  });

  test('job data that leads outside the allowed roots, or is not a cell job, is refused; nothing is written', async () => {
    // A sweep folder made by a coordinator (the control below runs a cell into it).
    const sweepFile = path.join(tmp, 'sweep.yaml');
    const sweep = loadSweep(sweepFile);
    const dir = path.join(tmp, 'escape');
    fs.mkdirSync(path.join(dir, 'cells'), { recursive: true });
    fs.copyFileSync(sweepFile, path.join(outside, 'sweep.yaml'));
    fs.copyFileSync(path.join(tmp, 'base.yaml'), path.join(outside, 'base.yaml'));
    fs.mkdirSync(path.join(outside, 'out', 'cells'), { recursive: true });
    fs.symlinkSync(path.join(outside, 'out'), path.join(tmp, 'link-out'));
    const good = cellJob(sweepFile, dir, sweep.cells[0]);
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['sweep file outside the roots', { ...good, sweepFile: path.join(outside, 'sweep.yaml') }, /the sweep file .*outside the folders this worker may use/],
      ['sweep folder outside the roots', { ...good, dir: path.join(outside, 'out') }, /the sweep folder .*outside the folders this worker may use/],
      ['.. in the sweep folder', { ...good, dir: `${tmp}/../${path.basename(outside)}/out` }, /the sweep folder .*outside the folders this worker may use/],
      ['a link out of the roots', { ...good, dir: path.join(tmp, 'link-out') }, /the sweep folder .*link-out \(.*\/out\) is outside/],
      ['a cell id that climbs', { ...good, cell: '../../../x' }, /has no cell '\.\.\/\.\.\/\.\.\/x'/],
      ['a relative path', { ...good, sweepFile: 'sweep.yaml' }, /sweepFile: must be an absolute path/],
      ['an unknown field', { ...good, processor: path.join(outside, 'evil.js') }, /Unrecognized key.*processor/],
      ['a config changed since queued', { ...good, configHash: '0'.repeat(64) }, /changed since cell .* was queued/],
    ];
    const { QueueEvents } = await import('bullmq');
    const events = new QueueEvents(QUEUE_NAME, { connection: client });
    await events.waitUntilReady();
    try {
      for (const [what, data, reason] of cases) {
        const job = await queue.add('cell', data, { jobId: `escape-${what.replace(/[^a-z]+/g, '-')}`, attempts: 1 });
        await expect(job.waitUntilFinished(events, 30000)).rejects.toThrow(reason);
      }
      // Control: the same job, unaltered, runs.
      const ok = await queue.add('cell', good, { jobId: 'escape-control', attempts: 1 });
      const value = (await ok.waitUntilFinished(events, 60000)) as { manifest: Manifest };
      expect(value.manifest.status).toBe('complete');
      expect(fs.readdirSync(path.join(dir, 'cells'))).toEqual([sweep.cells[0].id]);
    } finally {
      await events.close();
    }
    expect(fs.readdirSync(path.join(outside, 'out', 'cells'))).toEqual([]);
    expect(fs.readdirSync(outside).sort()).toEqual(['base.yaml', 'out', 'sweep.yaml']);
    expect(fs.existsSync(path.join(tmp, 'x'))).toBe(false);
  });
});

describeRedis('how the coordinator reads a job', () => {
  test('a job seen ended is seen with its outcome (state read before the job; the other order is racy)', async () => {
    // 300 jobs completed by a BullMQ worker in this process (its own queue) while every unfinished
    // job is polled; the bug this guards against made the bench report a done cell as failed.
    const { Queue, Worker } = await import('bullmq');
    const race = new Queue('race-test', { connection: client });
    const ids = Array.from({ length: 300 }, (_, i) => `race-${i}`);
    for (const id of ids) await race.add('x', {}, { jobId: id });
    const worker = new Worker('race-test', async () => ({ manifest: { status: 'complete' } }), { connection: client, concurrency: 4 });
    let withoutOutcome = 0;
    let racyOrderMisses = 0; // negative control: the job read first, its state after
    const pending = new Set(ids);
    try {
      while (pending.size) {
        await Promise.all(
          [...pending].map(async (id) => {
            const job = await race.getJob(id);
            if ((await job?.getState()) === 'completed' && !job!.returnvalue) racyOrderMisses++;
            const { outcome } = await jobState(race, id);
            if (outcome && !('manifest' in outcome)) withoutOutcome++;
            if (outcome) pending.delete(id);
          }),
        );
      }
    } finally {
      await worker.close();
      await race.obliterate({ force: true });
      await race.close();
    }
    expect(withoutOutcome).toBe(0);
    expect(racyOrderMisses).toBeGreaterThan(0);
  });
});

describe('queue sweeps: usage and an unreachable Redis', () => {
  test('Redis unreachable: exit 1 naming the URL, within seconds, nothing written; for a worker too', async () => {
    const port = await freePort();
    const url = `redis://:hunter2@127.0.0.1:${port}/3`;
    const t0 = Date.now();
    const [sweep, worker] = await Promise.all([cli(['sweep', 'sweep.yaml', '--out', 'unreachable', '--queue', url]), cli(['worker', '--queue', url, '--root', tmp])]);
    expect(Date.now() - t0).toBeLessThan(20000);
    for (const r of [sweep, worker]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`score-sde: cannot reach Redis at redis://:***@127.0.0.1:${port}/3 (connect ECONNREFUSED 127.0.0.1:${port}`);
      expect(r.stderr).not.toContain('hunter2');
    }
    expect(sweep.stdout).toBe('');
    expect(fs.existsSync(path.join(tmp, 'unreachable'))).toBe(false);
  });

  test('flags that have no meaning with --queue, and bad URLs, are usage errors (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['--workers', '2'], /--workers does not go with --queue/],
      [['--limit', '2'], /--limit does not go with --queue/],
      [['--set', 'sampling.n=10'], /--set does not go with --queue: workers read the sweep file itself/],
    ];
    for (const [extra, message] of cases) {
      const r = await cli(['sweep', 'sweep.yaml', '--queue', 'redis://127.0.0.1:1', ...extra]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect((await cli(['sweep', 'sweep.yaml', '--queue', 'http://127.0.0.1:1'])).stderr).toMatch(/'http:\/\/127\.0\.0\.1:1' is not a redis:\/\/ or rediss:\/\/ URL/);
    expect((await cli(['sweep', 'sweep.yaml', '--status'])).stderr).toMatch(/--status needs --queue/);
    expect((await cli(['worker', '--queue', 'redis://127.0.0.1:1/x'])).stderr).toMatch(/the path must be a database number/);
    expect((await cli(['worker', '--queue', 'redis://127.0.0.1:1', '--concurrency', '0'])).stderr).toMatch(/--concurrency must be an integer >= 1, got 0/);
    expect((await cli(['worker', '--queue', 'redis://127.0.0.1:1', '--root', 'no-such-folder'])).stderr).toMatch(/--root .*no-such-folder is not a folder/);
  });
});
