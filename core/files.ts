import * as fs from 'fs';
import * as path from 'path';
import { checkWriteFault } from './test-faults';

/**
 * File-system helpers every writer and reader of user files goes through: folders created one
 * level at a time, atomic writes (which honour the test-only full-disk hook of ./test-faults.ts),
 * input files that must be regular files of bounded size.
 */

/** A user-named input file that cannot be used (missing, a device or folder, too large, a link loop). */
export class InputFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'InputFileError';
  }
}

/**
 * mkdir -p that creates one level at a time from the nearest existing ancestor. (Node's recursive
 * mkdir loops forever on some pseudo file systems: `mkdirSync('/proc/x', {recursive: true})`.)
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  let cur = path.resolve(dir);
  for (;;) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(cur);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (st) {
      if (!st.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}' (${cur} is a file)`), { code: 'ENOTDIR' });
      break;
    }
    missing.push(cur);
    const parent = path.dirname(cur);
    if (parent === cur) break;
    cur = parent;
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/**
 * Writes a file so that readers see either the old content or the whole new one: a temporary file
 * beside it, then rename (atomic within a file system). Creates the parent folder.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  makeDirs(path.dirname(file));
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  try {
    checkWriteFault(file);
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // nothing to clean up
    }
    throw err;
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** Stats of an input file that must be a regular file of at most maxBytes (InputFileError otherwise). */
export function statInputFile(file: string, maxBytes: number): fs.Stats {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputFileError(file, 'file not found');
    if (code === 'ELOOP') throw new InputFileError(file, 'symbolic link loop (the link points back at itself)');
    throw new InputFileError(file, `cannot read: ${(err as Error).message}`);
  }
  if (st.isDirectory()) throw new InputFileError(file, 'is a folder, not a file');
  if (!st.isFile()) throw new InputFileError(file, 'not a regular file (a device, pipe or socket cannot be read as input)');
  if (st.size > maxBytes) throw new InputFileError(file, `is ${formatBytes(st.size)}, over the limit of ${formatBytes(maxBytes)} for this input`);
  return st;
}

/** Reads an input file that must be a regular file of at most maxBytes. */
export function readInputFile(file: string, maxBytes: number): Buffer {
  statInputFile(file, maxBytes);
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new InputFileError(file, `cannot read: ${(err as Error).message}`);
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toPrecision(3)} ${units[u]}`;
}
