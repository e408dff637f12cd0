import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { processAlive } from './run-folder';

/**
 * One sweep at a time per sweep folder: `<folder>/.lock`, created with O_EXCL, holding the pid,
 * host and start time of the sweep that owns the folder. A second sweep into the same folder
 * exits 2 naming the holder. A lock whose process is gone (same host, pid not running, e.g. after
 * a SIGKILL) is stale and taken over; a lock from another host is never presumed stale (its pid
 * cannot be checked from here), and the message says which file to delete if that sweep is gone.
 */

export const LOCK_FILE = '.lock';

export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  /** Tells this lock apart from a later one of the same pid. */
  token: string;
}

export class SweepLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holder: LockInfo | undefined,
  ) {
    const lock = path.join(dir, LOCK_FILE);
    const who = holder ? `pid ${holder.pid} on host ${holder.host}, since ${holder.startedAt}` : 'a process whose lock file is unreadable';
    super(`the sweep folder ${dir} is in use by another sweep (${who}); wait for it to finish, or delete ${lock} if that process is gone`);
    this.name = 'SweepLockedError';
  }
}

function readLock(file: string): LockInfo | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
    return typeof info.pid === 'number' && typeof info.host === 'string' ? info : undefined;
  } catch {
    return undefined;
  }
}

/** A lock file nobody is writing any more: its process is gone, or it stayed unreadable for 10 s. */
function isStale(file: string, info: LockInfo | undefined): boolean {
  if (info) return info.host === os.hostname() && !processAlive(info.pid);
  try {
    return Date.now() - fs.statSync(file).mtimeMs > 10_000;
  } catch {
    return true;
  }
}

/** Takes the folder's lock (SweepLockedError if another live sweep holds it); returns the release. */
export function acquireSweepLock(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), token: Math.random().toString(36).slice(2, 12) };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      try {
        fs.writeSync(fd, JSON.stringify(mine));
      } finally {
        fs.closeSync(fd);
      }
      return () => {
        if (readLock(file)?.token === mine.token) fs.rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readLock(file);
    if (attempt >= 3 || !isStale(file, holder)) throw new SweepLockedError(dir, holder);
    // Stale: remove it if it is still the same lock (another sweep may have taken it over just now).
    if (readLock(file)?.token === holder?.token) fs.rmSync(file, { force: true });
  }
}
