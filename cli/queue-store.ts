import * as fs from 'fs';
import * as path from 'path';
import { SweepCell } from '../configs/sweep';
import { Manifest } from './manifest';
import { CellError, finishedManifest, recordFailure } from './sweep';

/**
 * Where a queue sweep's cells are written and read: the one interface between the queue code and
 * storage. Here a folder every worker reaches at the same path (a shared file system: NFS, a
 * cluster file system, or one machine). An object store (S3 and alike) could implement the same
 * interface later: publish would run the cell into a local scratch folder and upload it whole
 * (manifest last), read would fetch and check the manifest, publishFailure would upload error.txt.
 */
export interface CellStore {
  /** Where the cells go, for messages. */
  readonly location: string;
  /**
   * Runs `write`, which makes a whole run folder at the path it is given, and makes that the cell's
   * content atomically: readers see the old content or the new, never a mix.
   */
  publish<T>(cellId: string, write: (dir: string) => Promise<T>): Promise<T>;
  /** Records a failed cell's error (error.txt, as a local sweep does). */
  publishFailure(cellId: string, err: CellError, log: (line: string) => void): void;
  /** The cell's manifest if it finished from this config and these input files, else undefined. */
  read(cell: SweepCell): Manifest | undefined;
}

/** A job whose paths lead outside what this worker may touch; refused, nothing written. */
export class PathRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PathRefusedError';
  }
}

function inside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * The real path of `p` (links resolved) if it exists and lies under one of `roots` (real paths);
 * else PathRefusedError naming `what`.
 */
export function realPathUnder(p: string, roots: readonly string[], what: string): string {
  let real: string;
  try {
    real = fs.realpathSync(p);
  } catch (err) {
    throw new PathRefusedError(`${what} ${p} does not exist on this machine (${(err as NodeJS.ErrnoException).code}); is it on a file system every machine mounts at the same path?`);
  }
  if (!roots.some((r) => inside(real, r))) {
    throw new PathRefusedError(`${what} ${p}${real !== p ? ` (${real})` : ''} is outside the folders this worker may use (--root ${roots.join(', ')})`);
  }
  return real;
}

/** Cells as run folders `<dir>/cells/<cell-id>/`, published by the atomic rename of run-folder.ts. */
export class SharedFolderStore implements CellStore {
  private readonly cellsDir: string;

  constructor(readonly dir: string) {
    this.cellsDir = path.join(dir, 'cells');
  }

  get location(): string {
    return this.dir;
  }

  /** The cell's folder: a direct child of cells/, and not a link out of it. */
  cellDir(cellId: string): string {
    const dir = path.resolve(this.cellsDir, cellId);
    if (path.dirname(dir) !== this.cellsDir || cellId === '.' || cellId === '..' || cellId !== path.basename(dir)) {
      throw new PathRefusedError(`cell id '${cellId}' does not name a folder directly under ${this.cellsDir}`);
    }
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(dir);
    } catch {
      // not there yet
    }
    if (st?.isSymbolicLink()) throw new PathRefusedError(`the cell folder ${dir} is a symbolic link; a cell folder must be a real folder`);
    return dir;
  }

  publish<T>(cellId: string, write: (dir: string) => Promise<T>): Promise<T> {
    // runExperiment builds the folder in a hidden sibling and renames it into place (run-folder.ts).
    return write(this.cellDir(cellId));
  }

  publishFailure(cellId: string, err: CellError, log: (line: string) => void): void {
    recordFailure(this.cellDir(cellId), err, log);
  }

  read(cell: SweepCell): Manifest | undefined {
    return finishedManifest(this.cellDir(cell.id), cell);
  }
}

/**
 * A worker's store for a job's sweep folder: the folder must exist (the coordinator made it) and
 * lie under one of the worker's roots, its cells/ folder too (links resolved: none leads out).
 */
export function storeUnder(dir: string, roots: readonly string[]): SharedFolderStore {
  const real = realPathUnder(dir, roots, 'the sweep folder');
  realPathUnder(path.join(real, 'cells'), roots, 'the cells folder');
  return new SharedFolderStore(real);
}
