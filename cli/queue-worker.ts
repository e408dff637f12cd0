import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Job, Worker } from 'bullmq';
import { ConfigError, formatIssue } from '../configs/errors';
import { LoadedSweep, SweepCell, loadSweep } from '../configs/sweep';
import { CellThread } from './cell-thread';
import { QueueConnection, RedisTarget } from './queue-connection';
import { CELL_JOB_FORMAT, CellJob, CellJobResult, DEFAULT_LOCK_SECONDS, MAX_STALLED, QUEUE_NAME, cellJobSchema, configHash } from './queue-jobs';
import { PathRefusedError, SharedFolderStore, realPathUnder, storeUnder } from './queue-store';

/**
 * `score-sde worker --queue redis://… [--concurrency N] [--root DIR …]`: takes sweep cells from
 * the queue (queue-jobs.ts says what a job holds) and runs them, `concurrency` at a time, each in a
 * worker thread of its own (CellThread: its own ONNX sessions, on this machine's device per the
 * config's `device`, CUDA where `auto` finds it). A cell's run folder is written straight into the
 * sweep's store (queue-store.ts) with the atomic publish of a local sweep, and its manifest is the
 * job's return value. A cell that fails is failed for good, with error.txt in its folder: a cell's
 * failure is deterministic (same config, same seed, same result), so retrying it would fail again.
 * A worker that dies mid-cell (killed, machine lost) stops renewing its job's lock; BullMQ's
 * stalled-job check on the other workers puts the job back, and it runs again elsewhere with the
 * same samples (counter-based noise: common random numbers), replacing any half-built folder.
 *
 * Refused without running anything: job data that does not match the schema, a sweep file or
 * sweep folder outside the roots (real paths, so links do not lead out), a cell id the sweep file
 * does not have, a cell whose config changed since it was queued.
 */

export interface QueueWorkerOptions {
  concurrency: number;
  /** Folders sweep files and sweep folders must lie in (real paths). */
  roots: string[];
  /** Lock duration and stalled-check interval, seconds (queue-jobs.ts). */
  lockSeconds?: number;
  log: (line: string) => void;
}

/** Sweep files loaded once per content (path, size, mtime), validated like a local sweep's. */
class SweepFiles {
  private readonly cache = new Map<string, { key: string; sweep: LoadedSweep }>();

  load(file: string): LoadedSweep {
    const st = fs.statSync(file);
    const key = `${st.size}\0${st.mtimeMs}\0${st.ino}`;
    const hit = this.cache.get(file);
    if (hit?.key === key) return hit.sweep;
    const sweep = loadSweep(file);
    this.cache.set(file, { key, sweep });
    return sweep;
  }
}

/** A refused or failed job: an Error BullMQ does not retry (UnrecoverableError). */
async function unrecoverable(message: string): Promise<Error> {
  const { UnrecoverableError } = await import('bullmq');
  return new UnrecoverableError(message);
}

/**
 * The cell a job names, from the sweep file the worker loads itself, and the store it goes to;
 * PathRefusedError (or the sweep file's ConfigError) when the job is not one to run.
 */
function checkJob(jobData: unknown, roots: readonly string[], sweeps: SweepFiles): { sweep: LoadedSweep; cell: SweepCell; store: SharedFolderStore } {
  const parsed = cellJobSchema.safeParse(jobData);
  if (!parsed.success) throw new PathRefusedError(`job data does not match ${CELL_JOB_FORMAT}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(data)'}: ${i.message}`).join('; ')}`);
  const data: CellJob = parsed.data;
  const sweepFile = realPathUnder(data.sweepFile, roots, 'the sweep file');
  const store = storeUnder(data.dir, roots);
  const sweep = sweeps.load(sweepFile);
  const cell = sweep.cells.find((c) => c.id === data.cell);
  if (!cell) throw new PathRefusedError(`the sweep ${sweepFile} has no cell '${data.cell}'`);
  store.cellDir(cell.id); // refuses a path that leaves the cells folder
  if (configHash(cell) !== data.configHash) {
    throw new PathRefusedError(`the sweep file ${sweepFile} changed since cell ${cell.id} was queued (its config differs); start the coordinator again to queue the new cells`);
  }
  return { sweep, cell, store };
}

/** The processor: checks the job, runs its cell in a free thread, returns the manifest. */
function processor(opts: QueueWorkerOptions & { name: string }, threads: CellThread[], state: { dropping: boolean }) {
  const sweeps = new SweepFiles();
  const { log } = opts;
  return async (job: Job<unknown, CellJobResult>): Promise<CellJobResult> => {
    let checked;
    try {
      checked = checkJob(job.data, opts.roots, sweeps);
    } catch (err) {
      const message = err instanceof ConfigError ? `invalid sweep file:\n${err.issues.map((i) => `  ${formatIssue(i)}`).join('\n')}` : (err as Error).message;
      log(`job ${job.id}: refused: ${message}`);
      throw await unrecoverable(`refused by worker ${opts.name}: ${message}`);
    }
    const { sweep, cell, store } = checked;
    const thread = threads.pop()!;
    let reply;
    try {
      log(`${cell.id} (${sweep.name}): started`);
      reply = await store.publish(cell.id, (dir) => thread.run({ id: cell.id, config: cell.config, dir, configFile: sweep.file }));
    } finally {
      threads.push(thread);
    }
    if (reply.type === 'done') {
      log(`${cell.id} (${sweep.name}): done, nfe ${reply.manifest.nfe} in ${(reply.manifest.wallTimeMs / 1000).toFixed(2)} s on ${reply.manifest.model.executionProvider}`);
      return { manifest: reply.manifest };
    }
    if (state.dropping) throw new Error(`${cell.id}: dropped by a worker that stopped`); // not the cell's failure
    // The same cell published meanwhile by another worker (this one was presumed dead and its job
    // given away): that result stands, an error record must not replace it.
    const elsewhere = store.read(cell);
    if (elsewhere) {
      log(`${cell.id} (${sweep.name}): finished by another worker meanwhile; this run's error is dropped: ${reply.message}`);
      return { manifest: elsewhere };
    }
    log(`${cell.id} (${sweep.name}): FAILED: ${reply.message}`);
    store.publishFailure(cell.id, reply, log);
    throw await unrecoverable(reply.message);
  };
}

export interface WorkerStop {
  /** Resolves to stop taking cells; the running ones finish first. */
  finish: Promise<void>;
  /** Resolves to stop now: running cells are dropped and go to other workers (stalled jobs). */
  now: Promise<void>;
}

/**
 * Runs a worker until it is stopped (WorkerStop) or Redis is lost (QueueUnreachableError, after
 * about a minute of reconnecting; running cells are then dropped, as on a forced stop).
 */
export async function runQueueWorker(target: RedisTarget, opts: QueueWorkerOptions, stop: WorkerStop): Promise<void> {
  const roots = opts.roots.map((r) => fs.realpathSync(path.resolve(r)));
  const conn = await QueueConnection.open(target);
  const { Worker } = await import('bullmq');
  const threads = Array.from({ length: opts.concurrency }, () => new CellThread());
  const state = { dropping: false };
  const name = `${os.hostname()}:${process.pid}`;
  const lockMs = (opts.lockSeconds ?? DEFAULT_LOCK_SECONDS) * 1000;
  let worker: Worker | undefined;
  const dropRunning = async () => {
    state.dropping = true;
    await Promise.all(threads.map((t) => t.terminate()));
    await worker?.close(true);
  };
  try {
    worker = new Worker(QUEUE_NAME, processor({ ...opts, roots, name }, threads, state), {
      connection: conn.client,
      name,
      concurrency: opts.concurrency,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      maxStalledCount: MAX_STALLED,
    });
    let reported = false;
    worker.on('error', (err) => {
      // Connection errors repeat while ioredis reconnects: say it once (the loss is bounded).
      if (reported) return;
      reported = true;
      opts.log(`worker error: ${err.message}`);
    });
    await Promise.race([worker.waitUntilReady(), conn.lost]);
    opts.log(`worker ${name} on ${target.shown}: ${opts.concurrency} cell${opts.concurrency === 1 ? '' : 's'} at a time, sweeps under ${roots.join(', ')}; ready`);
    await Promise.race([stop.finish, stop.now, conn.lost]);
    opts.log('stopping: running cells finish first (stop again to leave them to other workers)');
    const finished = worker.close().then(() => 'finished' as const);
    if ((await Promise.race([finished, stop.now, conn.lost])) !== 'finished') {
      opts.log('stopping now: running cells are left to other workers');
      await dropRunning();
    }
  } catch (err) {
    await dropRunning().catch(() => undefined);
    throw err;
  } finally {
    await Promise.all(threads.map((t) => t.close()));
    await conn.close();
  }
}
