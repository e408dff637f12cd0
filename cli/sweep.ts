import * as path from 'path';
import { ModelCache } from '../configs/model-loader';
import { LoadedSweep, SweepCell } from '../configs/sweep';
import { checkExperiment } from '../configs/resolve';
import { Manifest, runExperiment, safeName } from './experiment';
import { inputFingerprints, sameInputs } from './fingerprint';
import { packageJson } from './fsutil';
import { makeDirs, writeFileAtomic, writeJsonAtomic } from '../core/files';
import { readManifest } from './manifest';
import { OutputFolderError, cleanStaleRuns, publishError } from './run-folder';
import { acquireSweepLock } from './sweep-lock';
import { ResultFiles, ResultRow, resultTable, writeResults } from './sweep-results';
import { CellThread } from './cell-thread';

/**
 * Running a sweep: each cell in its own run folder `cells/<cell-id>/` under the sweep folder;
 * a cell whose manifest says complete, from the same config and the same input files (content
 * hashes, see fingerprint.ts), is skipped, so running the same sweep again resumes it. A cell run
 * again replaces its folder only when the new one is whole (run-folder.ts): nothing finished is
 * deleted up front. One sweep at a time per folder (sweep-lock.ts). Then results.json /
 * results.csv (one row per cell, in cell order), quality-vs-nfe and quality-vs-time plots (.svg
 * and .png), and a summary table; where those cannot be written (a full disk), the rows are still
 * returned and printed.
 *
 * With workers > 1 the cells run in worker threads, each with its own models (ONNX sessions).
 * Results do not depend on the number of workers or on interruptions: a cell's samples depend
 * only on its config (seeded, counter-based noise).
 */

export interface SweepOptions {
  /** Sweep folder; default sweep.output.dir, else runs/sweeps/<name>. */
  outDir?: string;
  /** Parallel workers (worker threads); default the sweep's `workers`. */
  workers?: number;
  /** Run at most this many cells now (the rest stay pending; run again to resume). */
  limit?: number;
  log?: (line: string) => void;
}

export interface SweepResult {
  dir: string;
  rows: ResultRow[];
  columns: string[];
  metricNames: string[];
  ran: number;
  skipped: number;
  failed: number;
  pending: number;
  files: ResultFiles;
  /** Why results.json / .csv / plots could not be written (the rows are still returned). */
  resultsError?: string;
}

export function defaultSweepDir(s: LoadedSweep, cwd = process.cwd()): string {
  return path.resolve(cwd, 'runs', 'sweeps', safeName(s.name));
}

/**
 * A finished cell's manifest: status complete, made from this config, and from the same input
 * files (model, card, x_T, reference: content hashes) as the cell would read now.
 */
export function finishedManifest(cellDir: string, cell: SweepCell): Manifest | undefined {
  const m = readManifest(path.join(cellDir, 'manifest.json'));
  if (!m || m.status !== 'complete' || JSON.stringify(m.config) !== JSON.stringify(cell.config)) return undefined;
  try {
    const checked = checkExperiment(cell.config);
    // Where the card is inside the ONNX file (known only once loaded), the reference file it names
    // is the one recorded: the model's hash already says whether that card changed.
    const referenceFile = checked.reference ? (checked.reference.source === 'npy' ? checked.reference.path : undefined) : m.inputs?.reference?.path;
    return sameInputs(m.inputs, inputFingerprints(cell.config, checked, referenceFile)) ? m : undefined;
  } catch {
    return undefined; // an input is gone or unreadable: the run reports it
  }
}

/** JSON stores NaN metrics as null: read back as NaN, so a finished sweep's table prints them. */
function metricsOf(m: Manifest): Record<string, number> {
  return Object.fromEntries(Object.entries(m.metrics ?? {}).map(([k, v]) => [k, typeof v === 'number' ? v : NaN]));
}

/** What a failed cell reports. */
export interface CellError {
  name?: string;
  message: string;
  stack?: string;
}

/** A failed cell's error.txt: beside its samples if the metrics failed, else as the cell's folder. */
export function recordFailure(cellDir: string, err: CellError, log: (line: string) => void): void {
  const text = `${err.stack ?? `${err.name ?? 'Error'}: ${err.message}`}\n`;
  try {
    if (err.name === 'MetricsFailedError') writeFileAtomic(path.join(cellDir, 'error.txt'), text);
    else publishError(cellDir, text);
  } catch (e) {
    log(`cannot write ${path.join(cellDir, 'error.txt')}: ${(e as Error).message}`);
  }
}

export async function runSweep(sweep: LoadedSweep, opts: SweepOptions = {}): Promise<SweepResult> {
  const log = opts.log ?? (() => undefined);
  const dir = path.resolve(opts.outDir ?? sweep.sweep.output.dir ?? defaultSweepDir(sweep));
  return withSweepFolder(dir, () => runLocked(sweep, dir, opts, log));
}

/**
 * Creates the sweep folder and runs `body` holding its lock (sweep-lock.ts): the process that plans
 * the cells and writes the results holds it (a local sweep, or a queue coordinator); those that
 * only write cell folders (worker threads, queue workers) run under it.
 */
export async function withSweepFolder<T>(dir: string, body: () => Promise<T>): Promise<T> {
  try {
    makeDirs(path.join(dir, 'cells'));
  } catch (err) {
    throw new OutputFolderError(`cannot create the sweep folder ${dir}: ${(err as Error).message}`);
  }
  const release = acquireSweepLock(dir);
  try {
    return await body();
  } finally {
    release();
  }
}

export interface SweepPlan {
  /** Finished cells (by id), from their folders. */
  manifests: Map<string, Manifest>;
  /** Cells still to run, in cell order. */
  todo: SweepCell[];
}

/**
 * The plan of a locked sweep folder: clears what a killed run left half-built, writes sweep.json,
 * and tells the finished cells (finishedManifest) from those still to run.
 */
export function planSweep(sweep: LoadedSweep, dir: string, finished = (cell: SweepCell) => finishedManifest(path.join(dir, 'cells', cell.id), cell)): SweepPlan {
  cleanStaleRuns(path.join(dir, 'cells')); // what a killed sweep left half-built
  writeJsonAtomic(path.join(dir, 'sweep.json'), {
    format: 'score-sde-sweep-plan/1',
    name: sweep.name,
    file: sweep.file,
    base: sweep.baseFile,
    axes: Object.fromEntries(sweep.axes),
    cells: sweep.cells.map((c) => ({ id: c.id, values: c.values })),
    package: packageJson().version,
  });
  const manifests = new Map<string, Manifest>();
  const todo: SweepCell[] = [];
  for (const cell of sweep.cells) {
    const done = finished(cell);
    if (done) manifests.set(cell.id, done);
    else todo.push(cell);
  }
  return { manifests, todo };
}

/** One progress line per finished cell: its evaluations, the plotted metric (else FD, else sliced W) and time. */
export function describeCell(m: Manifest, plotted?: string): string {
  const key = plotted ?? (typeof m.metrics.fd === 'number' ? 'fd' : 'sw');
  const value = m.metrics[key];
  const metric = typeof value === 'number' ? ` ${key} ${value.toPrecision(4)}` : '';
  return `nfe ${round(m.nfe)}${metric} (${(m.wallTimeMs / 1000).toFixed(2)} s)`;
}

async function runLocked(sweep: LoadedSweep, dir: string, opts: SweepOptions, log: (line: string) => void): Promise<SweepResult> {
  const cellsDir = path.join(dir, 'cells');
  const { manifests, todo } = planSweep(sweep, dir);
  const errors = new Map<string, string>();
  const skipped = manifests.size;
  const queue = opts.limit !== undefined ? todo.slice(0, Math.max(0, opts.limit)) : todo;
  if (skipped) log(`${skipped} of ${sweep.cells.length} cells already done in ${dir}`);
  const total = queue.length;
  let finished = 0;
  const onDone = (cell: SweepCell, m?: Manifest, error?: CellError) => {
    finished++;
    if (m) {
      manifests.set(cell.id, m);
      log(`[${finished}/${total}] ${cell.id}: ${describeCell(m, sweep.sweep.plot.metric)}`);
    } else {
      const e = error ?? { message: 'failed' };
      errors.set(cell.id, e.message);
      log(`[${finished}/${total}] ${cell.id}: FAILED: ${e.message}`);
      // An older result of this cell stays until this record replaces it (never deleted up front).
      recordFailure(path.join(cellsDir, cell.id), e, log);
    }
  };
  const workers = Math.max(1, Math.min(opts.workers ?? sweep.sweep.workers, queue.length || 1));
  if (workers > 1) await runInWorkers(queue, cellsDir, workers, sweep.file, onDone);
  else await runInProcess(queue, cellsDir, sweep.file, onDone);
  return finishSweep(sweep, dir, manifests, errors, { ran: finished - errors.size, skipped }, log);
}

/**
 * The rows of every cell (ok from its manifest, failed with its error, else pending), written as
 * results.json / .csv and plots; where those cannot be written (a full disk) the rows are still
 * returned, with resultsError saying why.
 */
export function finishSweep(
  sweep: LoadedSweep,
  dir: string,
  manifests: ReadonlyMap<string, Manifest>,
  errors: ReadonlyMap<string, string>,
  counts: { ran: number; skipped: number },
  log: (line: string) => void,
): SweepResult {
  const rows: ResultRow[] = sweep.cells.map((cell) => {
    const m = manifests.get(cell.id);
    if (!m) return { cell: cell.id, values: cell.values, status: errors.has(cell.id) ? 'failed' : 'pending', metrics: {}, error: errors.get(cell.id) };
    return {
      cell: cell.id,
      values: cell.values,
      status: 'ok',
      solver: m.solver.name,
      steps: m.solver.steps,
      nfe: m.nfe,
      calls: m.calls,
      wallTimeMs: m.wallTimeMs,
      metrics: metricsOf(m),
    };
  });
  // Results that cannot be written (a full disk) are still returned, and printed by the CLI.
  let out: Pick<SweepResult, 'columns' | 'metricNames' | 'files'>;
  let resultsError: string | undefined;
  try {
    const { plotError, ...written } = writeResults(sweep, dir, rows);
    out = written;
    if (plotError) {
      resultsError = `no plots: ${plotError}`;
      log(resultsError);
    }
  } catch (err) {
    resultsError = `cannot write the results into ${dir}: ${(err as Error).message}`;
    log(resultsError);
    const { columns, metricNames } = resultTable(sweep, rows);
    out = { columns, metricNames, files: { json: '', csv: '', plots: [] } };
  }
  const failed = rows.filter((r) => r.status === 'failed').length;
  return { dir, rows, ...out, resultsError, ...counts, failed, pending: rows.filter((r) => r.status === 'pending').length };
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

type OnDone = (c: SweepCell, m?: Manifest, e?: CellError) => void;

async function runInProcess(cells: SweepCell[], cellsDir: string, configFile: string, onDone: OnDone): Promise<void> {
  const cache = new ModelCache();
  try {
    for (const cell of cells) {
      try {
        const { manifest } = await runExperiment(cell.config, { outDir: path.join(cellsDir, cell.id), outLabel: `cell ${cell.id}`, configFile, cache });
        onDone(cell, manifest);
      } catch (err) {
        const e = err as Error;
        onDone(cell, undefined, { name: e?.name, message: e?.message ?? String(err), stack: e?.stack });
      }
    }
  } finally {
    await cache.dispose();
  }
}

async function runInWorkers(cells: SweepCell[], cellsDir: string, count: number, configFile: string, onDone: OnDone): Promise<void> {
  let next = 0;
  const loop = async () => {
    const thread = new CellThread();
    try {
      while (next < cells.length) {
        const cell = cells[next++];
        const reply = await thread.run({ id: cell.id, config: cell.config, dir: path.join(cellsDir, cell.id), configFile });
        if (reply.type === 'done') onDone(cell, reply.manifest);
        else onDone(cell, undefined, reply);
      }
    } finally {
      await thread.close();
    }
  };
  await Promise.all(Array.from({ length: count }, loop));
}
