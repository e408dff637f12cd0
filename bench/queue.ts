/**
 * `npm run bench:queue`: the overhead of running a sweep's cells through Redis (BullMQ) instead of
 * in local worker threads. The same sweep (cells of about a second or more each) runs
 *   local: `score-sde sweep --workers 2`
 *   queue: `score-sde sweep --queue` with two `score-sde worker` processes already running
 *   queue, cold: the same, with the two workers started together with the coordinator
 * alternately, --reps times each, each into a fresh folder; wall time of the coordinating command
 * (from spawn to exit, node start-up included on both sides). Reports medians, the overhead of
 * each queue variant over local as a percentage and per cell. Needs redis-server (Debian's
 * `redis-server` package); starts its own on a free loopback port.
 *
 *   npm run bench:queue -- [--reps N] [--cells N] [--n SAMPLES] [--out DIR]
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './root';
import { findRedisServer, startRedis } from './redis-server';

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

interface Options {
  reps: number;
  cells: number;
  n: number;
  out: string;
}

export interface QueueBenchResult {
  machine: { cores: number; cpu: string; node: string; load: number[]; date: string };
  sweep: { cells: number; n: number; meanCellSeconds: number };
  seconds: { local: number[]; queue: number[]; queueCold: number[] };
  median: { local: number; queue: number; queueCold: number };
  overheadPercent: { queue: number; queueCold: number };
  overheadPerCellMs: { queue: number; queueCold: number };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

interface Proc {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
}

function node(args: string[], cwd: string): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, output: () => out };
}

/** Seconds from spawn to a successful exit; else an error with its output and the workers'. */
function timed(args: string[], cwd: string, workers: Proc[]): Promise<number> {
  const t0 = performance.now();
  const p = node(args, cwd);
  return new Promise((resolve, reject) =>
    p.child.on('close', (code) => {
      if (code === 0) return resolve((performance.now() - t0) / 1000);
      reject(new Error(`score-sde ${args.join(' ')} exited ${code}:\n${p.output()}\n${workers.map((w, i) => `worker ${i + 1}:\n${w.output()}`).join('\n')}`));
    }),
  );
}

/** Two workers; with `ready`, resolves when both say they are ready. */
async function startWorkers(url: string, cwd: string, ready = true): Promise<Proc[]> {
  const workers = [0, 1].map(() => node(['worker', '--queue', url, '--root', cwd], cwd));
  if (!ready) return workers;
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.child.stderr!.on('data', () => /; ready\n/.test(w.output()) && resolve());
          w.child.on('exit', (code) => reject(new Error(`a worker exited ${code}:\n${w.output()}`)));
        }),
    ),
  );
  return workers;
}

async function stopWorkers(workers: Proc[]): Promise<void> {
  await Promise.all(workers.map(({ child: w }) => new Promise<void>((resolve) => (w.exitCode !== null ? resolve() : (w.once('exit', () => resolve()), w.kill('SIGTERM'))))));
}

function meanCellSeconds(dir: string): number {
  const rows = (JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8')) as { rows: { cell: string }[] }).rows;
  const total = rows.map((r) => JSON.parse(readFileSync(path.join(dir, 'cells', r.cell, 'manifest.json'), 'utf8')).totalTimeMs as number);
  return total.reduce((a, b) => a + b, 0) / total.length / 1000;
}

export async function benchQueue(o: Options): Promise<QueueBenchResult> {
  if (!findRedisServer()) throw new Error('redis-server not found: sudo apt-get install -y redis-server');
  const work = mkdtempSync(path.join(os.tmpdir(), 'score-sde-bench-queue-'));
  const redis = await startRedis();
  const steps = Array.from({ length: o.cells }, (_, i) => 40 + 10 * i);
  writeFileSync(
    path.join(work, 'sweep.yaml'),
    `name: bench-queue
base:
  sde: {kind: vp}
  model: {type: mixture, means: [[-2.0, 0.0], [2.0, 1.0]], stds: [0.4, 0.6]}
  solver: {name: euler_maruyama}
  sampling: {n: ${o.n}, seed: 1}
  reference: {maxSamples: 2000, projections: 64}
  output: {preview: false}
axes:
  solver.steps: [${steps.join(', ')}]
`,
  );
  const seconds = { local: [] as number[], queue: [] as number[], queueCold: [] as number[] };
  let warm: Proc[] = [];
  try {
    warm = await startWorkers(redis.url, work);
    for (let rep = 0; rep < o.reps; rep++) {
      log(`rep ${rep + 1}/${o.reps}: local --workers 2`);
      seconds.local.push(await timed(['sweep', 'sweep.yaml', '--workers', '2', '--out', `local-${rep}`], work, []));
      log(`rep ${rep + 1}/${o.reps}: queue, 2 running workers`);
      seconds.queue.push(await timed(['sweep', 'sweep.yaml', '--queue', redis.url, '--out', `queue-${rep}`], work, warm));
      log(`rep ${rep + 1}/${o.reps}: queue, 2 workers started with the coordinator`);
      await stopWorkers(warm);
      const started = performance.now();
      warm = await startWorkers(redis.url, work, false); // cold: not waited for
      await timed(['sweep', 'sweep.yaml', '--queue', redis.url, '--out', `cold-${rep}`], work, warm);
      seconds.queueCold.push((performance.now() - started) / 1000);
      await stopWorkers(warm);
      warm = await startWorkers(redis.url, work);
    }
    const med = { local: median(seconds.local), queue: median(seconds.queue), queueCold: median(seconds.queueCold) };
    return {
      machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', node: process.version, load: os.loadavg(), date: new Date().toISOString() },
      sweep: { cells: o.cells, n: o.n, meanCellSeconds: meanCellSeconds(path.join(work, 'local-0')) },
      seconds,
      median: med,
      overheadPercent: { queue: (100 * (med.queue - med.local)) / med.local, queueCold: (100 * (med.queueCold - med.local)) / med.local },
      overheadPerCellMs: { queue: (1000 * (med.queue - med.local)) / o.cells, queueCold: (1000 * (med.queueCold - med.local)) / o.cells },
    };
  } finally {
    await stopWorkers(warm);
    await redis.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

export function queueReport(r: QueueBenchResult): string {
  const f = (x: number) => x.toFixed(2);
  return [
    `## Queue overhead (${r.machine.cores} cores, ${r.machine.cpu}, node ${r.machine.node}, load ${r.machine.load.map((l) => l.toFixed(1)).join(' ')})`,
    '',
    `${r.sweep.cells} cells of ${r.sweep.n} samples, mean cell ${f(r.sweep.meanCellSeconds)} s (sampling and metrics); medians of ${r.seconds.local.length} alternating runs.`,
    '',
    '| run | wall time (s) | overhead vs local | per cell |',
    '|---|---|---|---|',
    `| local, --workers 2 | ${f(r.median.local)} | | |`,
    `| queue, 2 running workers | ${f(r.median.queue)} | ${r.overheadPercent.queue.toFixed(1)} % | ${r.overheadPerCellMs.queue.toFixed(0)} ms |`,
    `| queue, 2 workers started with it | ${f(r.median.queueCold)} | ${r.overheadPercent.queueCold.toFixed(1)} % | ${r.overheadPerCellMs.queueCold.toFixed(0)} ms |`,
    '',
  ].join('\n');
}

function log(line: string): void {
  process.stderr.write(`bench:queue: ${line}\n`);
}

function parseArgs(argv: string[]): Options {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    reps: Number(get('reps') ?? 3),
    cells: Number(get('cells') ?? 8),
    n: Number(get('n') ?? 40000),
    out: path.resolve(get('out') ?? path.join(ROOT, 'bench', 'results')),
  };
}

if (require.main === module) {
  const o = parseArgs(process.argv.slice(2));
  benchQueue(o).then(
    (r) => {
      mkdirSync(o.out, { recursive: true });
      writeFileSync(path.join(o.out, 'bench-queue.json'), JSON.stringify(r, null, 2) + '\n');
      const md = queueReport(r);
      writeFileSync(path.join(o.out, 'bench-queue.md'), md);
      process.stdout.write(md);
    },
    (err) => {
      process.stderr.write(`bench:queue failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
