import * as path from 'path';
import type { Job } from 'bullmq';
import { LoadedSweep } from '../configs/sweep';
import { QueueConnection, RedisTarget } from './queue-connection';
import { CellJob, QUEUE_NAME, cellJob, cellJobId } from './queue-jobs';
import { SharedFolderStore } from './queue-store';

/**
 * `score-sde sweep <sweep> --status --queue redis://…`: where each cell of a queue sweep stands.
 * done: its folder holds a finished run (the record, as for a local sweep); running: a worker
 * holds its job; failed: its job failed (the reason, also in the cell's error.txt); waiting: its
 * job is queued; not queued: no job (the coordinator has not been started, or was stopped before
 * queueing it). Reads only; takes no lock.
 */

export interface QueueStatus {
  sweep: string;
  dir: string;
  queue: string;
  cells: number;
  done: number;
  running: number;
  failed: number;
  waiting: number;
  notQueued: number;
  workers: number;
  runningCells: { cell: string; worker?: string }[];
  failedCells: { cell: string; error: string }[];
}

export async function queueStatus(sweep: LoadedSweep, target: RedisTarget, dir: string): Promise<QueueStatus> {
  const conn = await QueueConnection.open(target);
  const { Queue } = await import('bullmq');
  const queue = new Queue(QUEUE_NAME, { connection: conn.client });
  queue.on('error', () => undefined); // reconnection noise; conn.lost reports a loss
  try {
    const store = new SharedFolderStore(path.resolve(dir));
    const status: QueueStatus = {
      sweep: sweep.name,
      dir: store.dir,
      queue: target.shown,
      cells: sweep.cells.length,
      done: 0,
      running: 0,
      failed: 0,
      waiting: 0,
      notQueued: 0,
      workers: 0,
      runningCells: [],
      failedCells: [],
    };
    const work = (async () => {
      for (const cell of sweep.cells) {
        if (store.read(cell)) {
          status.done++;
          continue;
        }
        const id = cellJobId(cellJob(sweep.file, store.dir, cell));
        // The state first, then the job (its worker, its reason), as in queue-coordinator.ts.
        const state = await queue.getJobState(id);
        const job = state === 'active' || state === 'failed' ? ((await queue.getJob(id)) as Job<CellJob> | undefined) : undefined;
        if (state === 'active') {
          status.running++;
          status.runningCells.push({ cell: cell.id, worker: job?.processedBy });
        } else if (state === 'failed') {
          status.failed++;
          status.failedCells.push({ cell: cell.id, error: job?.failedReason ?? 'failed' });
        } else if (state === 'unknown' || state === 'completed') status.notQueued++;
        else status.waiting++;
      }
      status.workers = await queue.getWorkersCount();
    })();
    work.catch(() => undefined); // when Redis is lost, conn.lost says so; work then fails too
    await Promise.race([work, conn.lost]);
    return status;
  } finally {
    await queue.close().catch(() => undefined);
    await conn.close();
  }
}

export function formatQueueStatus(s: QueueStatus): string {
  const lines = [
    `${s.sweep} (${s.dir}) on ${s.queue}: ${s.cells} cells: ${s.done} done, ${s.running} running, ${s.failed} failed, ${s.waiting} waiting, ${s.notQueued} not queued; ${s.workers} worker${s.workers === 1 ? '' : 's'} connected`,
  ];
  for (const r of s.runningCells) lines.push(`  running ${r.cell}${r.worker ? ` on ${r.worker}` : ''}`);
  for (const f of s.failedCells) lines.push(`  failed  ${f.cell}: ${f.error}`);
  return `${lines.join('\n')}\n`;
}
