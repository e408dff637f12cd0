import * as crypto from 'crypto';
import * as path from 'path';
import { z } from 'zod';
import { SweepCell } from '../configs/sweep';

/**
 * What a sweep cell is as a BullMQ job, and why:
 *
 * A job carries only where the sweep is and which cell: the sweep file (absolute path), the sweep
 * folder (absolute path), the cell id, and a hash of the cell's resolved config. It carries no
 * config and no code. A worker loads and validates the sweep file itself (configs/sweep.ts, as a
 * local sweep does), takes the cell of that id from it, and runs it only if the config hashes
 * alike (else the file changed since the cell was queued). So a worker runs only cells of sweep
 * files it can read under its allowed roots (`worker --root`), and nothing in Redis can make it
 * read a config, a model or a path that such a sweep file does not name. The data is checked by a
 * strict schema (unknown fields refused); paths are checked by the store (queue-store.ts).
 *
 * Job ids are deterministic, from the sweep folder, the cell id and the config hash: queueing a
 * cell twice adds nothing (BullMQ keeps the first job of an id), and a changed cell is a new job.
 */

/** One BullMQ queue for every sweep (jobs name their sweep); a Redis database number separates setups. */
export const QUEUE_NAME = 'score-sde-cells';
export const JOB_NAME = 'cell';
export const CELL_JOB_FORMAT = 'score-sde-cell-job/1';

export const cellJobSchema = z
  .object({
    format: z.literal(CELL_JOB_FORMAT),
    sweepFile: z.string().min(1).max(4096).refine((p) => path.isAbsolute(p), 'must be an absolute path'),
    dir: z.string().min(1).max(4096).refine((p) => path.isAbsolute(p), 'must be an absolute path'),
    cell: z.string().min(1).max(256),
    configHash: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();

export type CellJob = z.output<typeof cellJobSchema>;

/** What a worker returns for a finished cell (the job's returnvalue). */
export interface CellJobResult {
  manifest: import('./manifest').Manifest;
}

export function configHash(cell: SweepCell): string {
  return crypto.createHash('sha256').update(JSON.stringify(cell.config)).digest('hex');
}

export function cellJob(sweepFile: string, dir: string, cell: SweepCell): CellJob {
  return { format: CELL_JOB_FORMAT, sweepFile, dir, cell: cell.id, configHash: configHash(cell) };
}

/** BullMQ job ids may not contain ':' (its key separator): a hash, prefixed for readability. */
export function cellJobId(job: CellJob): string {
  return `cell-${crypto.createHash('sha256').update(`${job.dir}\0${job.cell}\0${job.configHash}`).digest('hex').slice(0, 40)}`;
}

/**
 * How long a worker's hold on a cell lasts without renewal (BullMQ lockDuration) and how often
 * workers look for cells whose holder died (stalledInterval), by default. Cells run in worker
 * threads, so a worker's main thread renews its locks every lockDuration/2 however long a cell
 * takes (seconds or hours); these only bound how soon a killed worker's cell goes to another
 * worker: within about lockDuration + 2 × stalledInterval (1.5 min by default).
 */
export const DEFAULT_LOCK_SECONDS = 30;
/** A cell whose worker died this many times (it may be what kills them) is failed, not retried again. */
export const MAX_STALLED = 2;
/** Finished jobs are dropped from Redis after a week (the cell folders are the record). */
export const KEEP_JOBS_SECONDS = 7 * 24 * 3600;
