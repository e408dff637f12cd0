import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { formatBytes, makeDirs, writeFileAtomic } from '../core/files';

/**
 * Run folders that never mix two runs:
 *  - A default folder (runs/<name>-<timestamp>) is claimed with a non-recursive mkdir, which fails
 *    if it exists: a second run in the same second takes <name>-<timestamp>-2, then -3, …
 *  - A run is built in a hidden sibling `.<folder>.partial-<host>-<pid>-<random>` and renamed into
 *    place when its samples and manifest are written, so a run that fails or is killed leaves the
 *    previous content of its folder whole (or no folder), never an old manifest beside new samples.
 *  - A named folder (--out, output.dir) that exists is replaced whole; it must be empty or hold
 *    only what a run writes, so a run never deletes files it did not make.
 * Leftovers of killed runs (their pid gone, same host) are removed by later runs in the same parent.
 */

/** Raised when the output folder cannot be used; the CLI exits 2 (nothing was run). */
export class OutputFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputFolderError';
  }
}

/** What a run folder may hold (and so what replacing it may delete). */
/** What `run` and `likelihood` write into their folders: such a folder may be replaced whole. */
const RUN_FILES = new Set([
  'samples.npy',
  'manifest.json',
  'preview.png',
  'error.txt',
  'likelihood.json',
  'logp.npy',
  'bpd.npy',
  'logp-stderr.npy',
  'true-logp.npy',
  'latents.npy',
]);
const isRunEntry = (name: string) => RUN_FILES.has(name) || /\.tmp-\d+-[a-z0-9]+$/.test(name);

const HOST = os.hostname().replace(/[^A-Za-z0-9]+/g, '_').slice(0, 40) || 'host';
const SIDE = /^\.(.+)\.(partial|old)-([A-Za-z0-9_]+)-(\d+)-[a-z0-9]+$/;

function rand(): string {
  return Math.random().toString(36).slice(2, 10);
}

/** Whether a process with this pid is alive on this machine. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The nearest ancestor of `p` that exists (p itself if it does). */
function nearestExisting(p: string): string {
  let cur = path.resolve(p);
  while (!fs.existsSync(cur) && path.dirname(cur) !== cur) cur = path.dirname(cur);
  return cur;
}

/**
 * Checks, before anything is computed, that a run can write `dir` (`label` names the setting):
 * not a file, an empty folder or one holding only run files, under a writable folder (unless
 * `writable: false`), and room for `bytes` on its disk.
 */
export function checkOutputDir(dir: string, label: string, bytes = 0, opts: { writable?: boolean } = {}): void {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw new OutputFolderError(`${label}: cannot use ${dir}: ${(err as Error).message}`);
  }
  if (st && !st.isDirectory()) throw new OutputFolderError(`${label}: ${dir} is a file, not a folder; a run writes a folder (samples.npy, manifest.json, …)`);
  if (st) {
    const foreign = fs.readdirSync(dir).filter((e) => !isRunEntry(e) && !SIDE.test(e));
    if (foreign.length) {
      const shown = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? `, … (${foreign.length} entries)` : '');
      throw new OutputFolderError(`${label}: ${dir} exists and is not a run folder (it holds ${shown}); a run replaces its folder whole, so choose a new or empty folder`);
    }
  }
  const parent = nearestExisting(path.dirname(path.resolve(dir)));
  if (!fs.statSync(parent).isDirectory()) throw new OutputFolderError(`${label}: cannot create ${dir}: ${parent} is a file`);
  try {
    if (opts.writable !== false) fs.accessSync(parent, fs.constants.W_OK);
  } catch {
    throw new OutputFolderError(`${label}: cannot create ${dir}: ${parent} is not writable`);
  }
  if (bytes > 0) {
    const free = freeBytes(parent);
    if (free === 0) throw new OutputFolderError(`${label}: cannot write ${dir}: the file system of ${parent} has no room for files (a pseudo file system such as /proc, or a full disk)`);
    if (free !== undefined && bytes > free) {
      throw new OutputFolderError(`${label}: samples.npy needs ${formatBytes(bytes)}, but the disk of ${parent} has ${formatBytes(free)} free (lower sampling.n, or write elsewhere)`);
    }
  }
}

function freeBytes(dir: string): number | undefined {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/**
 * Claims a fresh folder `base`, else `base-2`, `base-3`, … (mkdir is atomic: two runs never get the
 * same one). Returns the folder, which exists and is empty.
 */
export function claimRunDir(base: string): string {
  const parent = path.dirname(base);
  try {
    makeDirs(parent);
  } catch (err) {
    throw new OutputFolderError(`cannot create the run folder under ${parent}: ${(err as Error).message}`);
  }
  for (let i = 1; ; i++) {
    const dir = i === 1 ? base : `${base}-${i}`;
    try {
      fs.mkdirSync(dir);
      return dir;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new OutputFolderError(`cannot create the run folder ${dir}: ${(err as Error).message}`);
      if (i >= 10000) throw new OutputFolderError(`cannot find a free run folder name after ${base}-${i}`);
    }
  }
}

/** Removes what killed runs left in `parent` (same host, pid gone); puts back a folder a kill left aside. */
export function cleanStaleRuns(parent: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(parent);
  } catch {
    return;
  }
  for (const e of entries) {
    const m = SIDE.exec(e);
    if (!m || m[3] !== HOST || processAlive(Number(m[4]))) continue;
    const side = path.join(parent, e);
    const original = path.join(parent, m[1]);
    try {
      // Killed between moving the old folder aside and moving the new one in: restore the old one.
      if (m[2] === 'old' && !fs.existsSync(original)) fs.renameSync(side, original);
      else fs.rmSync(side, { recursive: true, force: true });
    } catch {
      // another run is cleaning the same entry
    }
  }
}

/**
 * A run folder under construction: files go into `staging`; `publish()` moves it to `target`
 * (replacing what is there), `discard()` drops it.
 */
export class RunFolder {
  readonly staging: string;
  private published = false;

  constructor(
    readonly target: string,
    /** The target was claimed empty by this run (claimRunDir): discard() removes it too. */
    private readonly claimed = false,
  ) {
    cleanStaleRuns(path.dirname(target));
    this.staging = path.join(path.dirname(target), `.${path.basename(target)}.partial-${HOST}-${process.pid}-${rand()}`);
    try {
      makeDirs(path.dirname(target));
      fs.mkdirSync(this.staging);
    } catch (err) {
      throw new OutputFolderError(`cannot create the run folder ${target}: ${(err as Error).message}`);
    }
  }

  file(name: string): string {
    return path.join(this.published ? this.target : this.staging, name);
  }

  /** Moves the staged folder into place: one rename (two if the target holds an older run). */
  publish(): void {
    try {
      fs.renameSync(this.staging, this.target); // onto a missing or empty folder
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      const aside = path.join(path.dirname(this.target), `.${path.basename(this.target)}.old-${HOST}-${process.pid}-${rand()}`);
      fs.renameSync(this.target, aside);
      fs.renameSync(this.staging, this.target);
      fs.rmSync(aside, { recursive: true, force: true });
    }
    this.published = true;
  }

  /** After a failure: removes the staging folder (and the claimed empty target). */
  discard(): void {
    if (this.published) return;
    fs.rmSync(this.staging, { recursive: true, force: true });
    if (this.claimed) {
      try {
        fs.rmdirSync(this.target);
      } catch {
        // not empty or gone: leave it
      }
    }
  }
}

/** Replaces `dir` with a folder holding only error.txt (a failed sweep cell's record). */
export function publishError(dir: string, text: string): void {
  checkOutputDir(dir, 'error.txt'); // never replaces a folder holding files a run did not write
  const folder = new RunFolder(dir);
  try {
    writeFileAtomic(folder.file('error.txt'), text);
    folder.publish();
  } catch (err) {
    folder.discard();
    throw err;
  }
}
