import * as fs from 'fs';
import * as path from 'path';
import { LoadedSweep } from '../configs/sweep';
import { EXIT_OK, UsageError } from './exit-codes';
import { RedisTarget, parseRedisUrl } from './queue-connection';

/**
 * The command-line side of queue sweeps (main.ts keeps only the flags): `sweep --queue` checks,
 * `sweep --status`, and `worker` with its signals.
 */

interface CmdIo {
  cwd: string;
  stdout(s: string): void;
  stderr(s: string): void;
}

/** The --queue URL, checked; and the flags that shape a local run, refused (no meaning there). */
export function queueSweepTarget(args: Record<string, unknown>): RedisTarget {
  const target = parseRedisUrl(String(args.queue));
  if (args.status) return target;
  for (const flag of ['workers', 'limit'] as const) {
    if (args[flag] !== undefined) throw new UsageError(`--${flag} does not go with --queue: the workers' --concurrency and their number set the parallelism`);
  }
  // Workers load the sweep file themselves (they never take a config from the queue): an override
  // given here would not reach them.
  if (args.set !== undefined) throw new UsageError('--set does not go with --queue: workers read the sweep file itself; put the change in the sweep file');
  return target;
}

export async function cmdQueueStatus(args: Record<string, unknown>, sweep: LoadedSweep, dir: string, io: CmdIo): Promise<number> {
  if (args.queue === undefined) throw new UsageError('--status needs --queue redis://host:port[/db] (a local sweep\'s state is in its folder: results.json)');
  const { formatQueueStatus, queueStatus } = await import('./queue-status');
  const status = await queueStatus(sweep, parseRedisUrl(String(args.queue)), dir);
  io.stdout(args.json ? `${JSON.stringify(status, null, 2)}\n` : formatQueueStatus(status));
  return EXIT_OK;
}

/** `score-sde worker`: runs until SIGINT/SIGTERM (the running cells finish) or a second one (now). */
export async function cmdWorker(args: Record<string, unknown>, io: CmdIo): Promise<number> {
  const target = parseRedisUrl(String(args.queue));
  const concurrency = args.concurrency ?? 1;
  if (!(Number.isInteger(concurrency) && (concurrency as number) >= 1)) throw new UsageError(`--concurrency must be an integer >= 1, got ${String(concurrency)}`);
  const lockSeconds = args['lock-timeout'];
  if (lockSeconds !== undefined && !(typeof lockSeconds === 'number' && lockSeconds >= 1)) throw new UsageError(`--lock-timeout must be a number of seconds >= 1, got ${String(lockSeconds)}`);
  const roots = (args.root === undefined ? [io.cwd] : Array.isArray(args.root) ? args.root : [args.root]).map((r) => path.resolve(io.cwd, String(r)));
  for (const r of roots) if (!fs.statSync(r, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--root ${r} is not a folder`);
  const { runQueueWorker } = await import('./queue-worker');
  const log = args.quiet ? () => undefined : (line: string) => io.stderr(`${line}\n`);
  let signals = 0;
  let finish!: () => void;
  let now!: () => void;
  const stop = { finish: new Promise<void>((r) => (finish = r)), now: new Promise<void>((r) => (now = r)) };
  const onSignal = () => (++signals === 1 ? finish() : now());
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await runQueueWorker(target, { concurrency: concurrency as number, roots, lockSeconds: lockSeconds as number | undefined, log }, stop);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return EXIT_OK;
}
