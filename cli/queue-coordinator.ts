import * as path from 'path';
import type { Job, Queue, QueueEvents } from 'bullmq';
import { LoadedSweep, SweepCell } from '../configs/sweep';
import { Manifest } from './manifest';
import { QueueConnection, RedisTarget } from './queue-connection';
import { CellJob, CellJobResult, JOB_NAME, KEEP_JOBS_SECONDS, QUEUE_NAME, cellJob, cellJobId } from './queue-jobs';
import { SharedFolderStore } from './queue-store';
import { SweepResult, describeCell, finishSweep, planSweep, withSweepFolder } from './sweep';

/**
 * `score-sde sweep <sweep> --queue redis://…`: the coordinator of a sweep whose cells run on
 * `score-sde worker` processes anywhere (queue-worker.ts). It holds the sweep folder's lock (as a
 * local sweep does: it plans the cells and writes the results; workers only write cell folders),
 * plans the cells with the local sweep's planSweep (a finished cell is one whose folder says so),
 * queues every unfinished cell as a job with a deterministic id (queue-jobs.ts), follows the jobs
 * (QueueEvents, and a check of every outstanding job every few seconds for anything missed),
 * and when the last cell is done or failed writes the results with finishSweep, as a local sweep.
 *
 * Stopped at any time (Ctrl-C, kill, a lost machine), it loses nothing: the jobs stay in Redis and
 * the workers go on; started again, it finds the cells finished meanwhile in their folders, leaves
 * queued and running jobs alone, and queues again only cells whose job is gone or ended without a
 * finished folder (a failed cell runs again, as on a local resume).
 */

export interface QueueSweepOptions {
  outDir: string;
  log?: (line: string) => void;
  /** How often every outstanding job is checked (events make it prompt meanwhile). Default 2000 ms. */
  checkMs?: number;
}

type Outcome = { manifest: Manifest } | { error: string };

/**
 * A job's state, with its outcome once it has ended ('unknown': no such job). The state is read
 * first and the job after it: an ended job's return value or reason is written with its state, so
 * a job read after it was seen ended has them (read the other way round, a job that ends between
 * the two reads would look ended without them).
 */
export async function jobState(queue: Queue, id: string): Promise<{ state: string; outcome?: Outcome }> {
  const state = await queue.getJobState(id);
  if (state !== 'completed' && state !== 'failed') return { state };
  const job = (await queue.getJob(id)) as Job<CellJob, CellJobResult> | undefined;
  if (!job) return { state: 'unknown' }; // removed just now
  if (state === 'failed') return { state, outcome: { error: job.failedReason || 'failed' } };
  return { state, outcome: job.returnvalue?.manifest ? { manifest: job.returnvalue.manifest } : { error: 'the worker returned no manifest' } };
}

/** `fn` on every item, a hundred at a time (ioredis pipelines them on one connection). */
async function inChunks<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += 100) await Promise.all(items.slice(i, i + 100).map(fn));
}

export async function runQueueSweep(sweep: LoadedSweep, target: RedisTarget, opts: QueueSweepOptions): Promise<SweepResult> {
  const log = opts.log ?? (() => undefined);
  const dir = path.resolve(opts.outDir);
  // Redis first: when it cannot be reached nothing is written, not even the plan.
  const conn = await QueueConnection.open(target);
  const { Queue, QueueEvents } = await import('bullmq');
  let queue: Queue | undefined;
  let events: QueueEvents | undefined;
  try {
    return await withSweepFolder(dir, async () => {
      const store = new SharedFolderStore(dir);
      const { manifests, todo } = planSweep(sweep, dir, (cell) => store.read(cell));
      const skipped = manifests.size;
      if (skipped) log(`${skipped} of ${sweep.cells.length} cells already done in ${dir}`);
      queue = new Queue(QUEUE_NAME, { connection: conn.client });
      // Subscribed before the jobs are checked, so that no job ends unseen between the two
      // (BullMQ gives it a blocking duplicate of the connection, which it owns and closes).
      events = new QueueEvents(QUEUE_NAME, { connection: conn.client });
      // Connection errors repeat while ioredis reconnects; conn.lost reports a loss once, for good.
      queue.on('error', () => undefined);
      events.on('error', () => undefined);
      await Promise.race([events.waitUntilReady(), conn.lost]);
      const byJob = new Map<string, SweepCell>();
      for (const cell of todo) byJob.set(cellJobId(cellJob(sweep.file, dir, cell)), cell);
      const run = follow(queue, events, sweep, dir, store, byJob, manifests, log, opts.checkMs ?? 2000);
      run.catch(() => undefined); // when Redis is lost, conn.lost says so; run then fails too
      const { errors, ran } = await Promise.race([run, conn.lost]);
      return finishSweep(sweep, dir, manifests, errors, { ran, skipped }, log);
    });
  } finally {
    await events?.close().catch(() => undefined);
    await queue?.close().catch(() => undefined);
    await conn.close();
  }
}

/** Queues what is not queued, then waits until every cell of `byJob` is done or failed. */
async function follow(
  queue: Queue,
  events: QueueEvents,
  sweep: LoadedSweep,
  dir: string,
  store: SharedFolderStore,
  byJob: Map<string, SweepCell>,
  manifests: Map<string, Manifest>,
  log: (line: string) => void,
  checkMs: number,
): Promise<{ errors: Map<string, string>; ran: number }> {
  const errors = new Map<string, string>();
  const total = byJob.size;
  let ended = 0;
  let ran = 0;
  let wake: () => void = () => undefined;
  const settle = (id: string, outcome: Outcome) => {
    const cell = byJob.get(id);
    if (!cell) return;
    byJob.delete(id);
    ended++;
    if ('manifest' in outcome) {
      ran++;
      manifests.set(cell.id, outcome.manifest);
      log(`[${ended}/${total}] ${cell.id}: ${describeCell(outcome.manifest, sweep.sweep.plot.metric)} on ${outcome.manifest.environment.hostname}`);
    } else {
      errors.set(cell.id, outcome.error);
      log(`[${ended}/${total}] ${cell.id}: FAILED: ${outcome.error}`);
    }
    if (!byJob.size) wake();
  };
  const onEnded = (id: string) => void jobState(queue, id).then(({ outcome }) => outcome && settle(id, outcome));
  events.on('completed', ({ jobId }) => onEnded(jobId));
  events.on('failed', ({ jobId }) => onEnded(jobId));

  // Queue every cell; a job left by an earlier coordinator is kept while queued or running.
  const add = (id: string, cell: SweepCell) =>
    queue.add(JOB_NAME, cellJob(sweep.file, dir, cell), { jobId: id, attempts: 1, removeOnComplete: { age: KEEP_JOBS_SECONDS }, removeOnFail: { age: KEEP_JOBS_SECONDS } });
  let requeued = 0;
  await inChunks([...byJob], async ([id, cell]) => {
    const { state, outcome } = await jobState(queue, id);
    if (state === 'unknown') await add(id, cell);
    else if (outcome) {
      // Ended before this coordinator: finished if its folder says so (it may have finished just
      // now), else run again (a failed cell, or a folder removed since).
      const done = store.read(cell);
      if (done) settle(id, { manifest: done });
      else {
        await (await queue.getJob(id))?.remove();
        await add(id, cell);
        requeued++;
      }
    }
  });
  if (total) log(`${total} cells queued on ${QUEUE_NAME}${requeued ? ` (${requeued} that ended earlier without a finished folder queued again)` : ''}`);

  // Until every job has ended: a check of each outstanding job every checkMs (events may be missed
  // while Redis reconnects), with a progress line when the counts change.
  let lastProgress = '';
  let warnedNoWorker = false;
  while (byJob.size) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, checkMs);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    let running = 0;
    await inChunks([...byJob], async ([id, cell]) => {
      const { state, outcome } = await jobState(queue, id);
      if (state === 'active') running++;
      if (outcome) settle(id, outcome);
      else if (state === 'unknown' && byJob.has(id)) await add(id, cell); // removed by hand: queue it again
    });
    if (!byJob.size) break;
    const workers = await queue.getWorkersCount();
    const progress = `queue: ${ended}/${total} ended (${errors.size} failed), ${running} running, ${byJob.size - running} waiting; ${workers} worker${workers === 1 ? '' : 's'} connected`;
    if (progress !== lastProgress) log(progress);
    lastProgress = progress;
    if (!workers && !warnedNoWorker) {
      log(`no worker is connected: start one with  score-sde worker --queue <this URL> --root <a folder holding ${sweep.file} and ${dir}>`);
      warnedNoWorker = true;
    }
  }
  return { errors, ran };
}
