import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
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
import type { WorkerReply, WorkerRequest } from './worker';

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

/** A failed cell's error.txt: beside its samples if the metrics failed, else as the cell's folder. */
function recordFailure(cellDir: string, err: { name?: string; message: string; stack?: string }, log: (line: string) => void): void {
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
  const cellsDir = path.join(dir, 'cells');
  try {
    makeDirs(cellsDir);
  } catch (err) {
    throw new OutputFolderError(`cannot create the sweep folder ${dir}: ${(err as Error).message}`);
  }
  const release = acquireSweepLock(dir);
  try {
    return await runLocked(sweep, dir, cellsDir, opts, log);
  } finally {
    release();
  }
}

async function runLocked(sweep: LoadedSweep, dir: string, cellsDir: string, opts: SweepOptions, log: (line: string) => void): Promise<SweepResult> {
  cleanStaleRuns(cellsDir); // what a killed sweep left half-built
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
  const errors = new Map<string, string>();
  const todo: SweepCell[] = [];
  for (const cell of sweep.cells) {
    const done = finishedManifest(path.join(cellsDir, cell.id), cell);
    if (done) manifests.set(cell.id, done);
    else todo.push(cell);
  }
  const skipped = manifests.size;
  const queue = opts.limit !== undefined ? todo.slice(0, Math.max(0, opts.limit)) : todo;
  if (skipped) log(`${skipped} of ${sweep.cells.length} cells already done in ${dir}`);
  const total = queue.length;
  let finished = 0;
  const onDone = (cell: SweepCell, m?: Manifest, error?: { name?: string; message: string; stack?: string }) => {
    finished++;
    if (m) {
      manifests.set(cell.id, m);
      const key = sweep.sweep.plot.metric ?? (typeof m.metrics.fd === 'number' ? 'fd' : 'sw');
      const value = m.metrics[key];
      const metric = typeof value === 'number' ? ` ${key} ${value.toPrecision(4)}` : '';
      log(`[${finished}/${total}] ${cell.id}: nfe ${round(m.nfe)}${metric} (${(m.wallTimeMs / 1000).toFixed(2)} s)`);
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
    out = writeResults(sweep, dir, rows);
  } catch (err) {
    resultsError = `cannot write the results into ${dir}: ${(err as Error).message}`;
    log(resultsError);
    const { columns, metricNames } = resultTable(sweep, rows);
    out = { columns, metricNames, files: { json: '', csv: '', plots: [] } };
  }
  return { dir, rows, ...out, resultsError, ran: finished - errors.size, skipped, failed: errors.size, pending: rows.filter((r) => r.status === 'pending').length };
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

type OnDone = (c: SweepCell, m?: Manifest, e?: { name?: string; message: string; stack?: string }) => void;

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

/**
 * How to start a worker: dist/cli/worker.js when running compiled; from TypeScript sources (tests,
 * ts-node style use) a small bootstrap that transpiles .ts with TypeScript (a dev dependency).
 */
function spawnWorker(): Worker {
  const js = path.join(__dirname, 'worker.js');
  if (fs.existsSync(js) && !__filename.endsWith('.ts')) return new Worker(js);
  const entry = path.join(__dirname, 'worker.ts');
  const bootstrap = `
    const fs = require('fs');
    const ts = require(${JSON.stringify(require.resolve('typescript'))});
    require.extensions['.ts'] = function (module, filename) {
      const src = fs.readFileSync(filename, 'utf8');
      const out = ts.transpileModule(src, { fileName: filename, compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true } });
      module._compile(out.outputText, filename);
    };
    require(${JSON.stringify(entry)});
  `;
  return new Worker(bootstrap, { eval: true });
}

function call(worker: Worker, msg: WorkerRequest): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: WorkerReply) => {
      cleanup();
      resolve(reply);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`worker exited with code ${code} during the cell`));
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage(msg);
  });
}

async function runInWorkers(
  cells: SweepCell[],
  cellsDir: string,
  count: number,
  configFile: string,
  onDone: OnDone,
): Promise<void> {
  let next = 0;
  const loop = async () => {
    let worker = spawnWorker();
    try {
      while (next < cells.length) {
        const cell = cells[next++];
        const dir = path.join(cellsDir, cell.id);
        try {
          const reply = await call(worker, { type: 'run', id: cell.id, config: cell.config, dir, configFile });
          if (reply.type === 'done') onDone(cell, reply.manifest);
          else onDone(cell, undefined, reply);
        } catch (err) {
          // The worker died: note the cell, start a fresh worker for the rest.
          const e = err as Error;
          onDone(cell, undefined, { name: e.name, message: e.message, stack: e.stack });
          await worker.terminate();
          worker = spawnWorker();
        }
      }
    } finally {
      await closeWorker(worker);
    }
  };
  await Promise.all(Array.from({ length: count }, loop));
}

async function closeWorker(worker: Worker): Promise<void> {
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.postMessage({ type: 'close' } satisfies WorkerRequest);
  const timer = setTimeout(() => void worker.terminate(), 10000);
  await exited;
  clearTimeout(timer);
}
