import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { ModelCache } from '../configs/model-loader';
import { LoadedSweep, SweepCell } from '../configs/sweep';
import { MANIFEST_FORMAT, Manifest, runExperiment, safeName } from './experiment';
import { packageJson } from './fsutil';
import { writeFileAtomic, writeJsonAtomic } from '../core/files';
import { ResultFiles, ResultRow, writeResults } from './sweep-results';
import type { WorkerReply, WorkerRequest } from './worker';

/**
 * Running a sweep: each cell in its own run folder `cells/<cell-id>/` under the sweep folder;
 * cells whose manifest.json exists (and was made from the same config) are skipped, so running
 * the same sweep again resumes it. Then results.json / results.csv (one row per cell, in cell
 * order), quality-vs-nfe and quality-vs-time plots (.svg and .png), and a summary table.
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
}

export function defaultSweepDir(s: LoadedSweep, cwd = process.cwd()): string {
  return path.resolve(cwd, 'runs', 'sweeps', safeName(s.name));
}

/** A finished cell's manifest, if its folder holds one made from this config. */
export function finishedManifest(cellDir: string, cell: SweepCell): Manifest | undefined {
  const file = path.join(cellDir, 'manifest.json');
  if (!fs.existsSync(file)) return undefined;
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
    if (m.format !== MANIFEST_FORMAT) return undefined;
    if (JSON.stringify(m.config) !== JSON.stringify(cell.config)) return undefined;
    return m;
  } catch {
    return undefined;
  }
}

export async function runSweep(sweep: LoadedSweep, opts: SweepOptions = {}): Promise<SweepResult> {
  const log = opts.log ?? (() => undefined);
  const dir = path.resolve(opts.outDir ?? sweep.sweep.output.dir ?? defaultSweepDir(sweep));
  const cellsDir = path.join(dir, 'cells');
  fs.mkdirSync(cellsDir, { recursive: true });
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
    const cellDir = path.join(cellsDir, cell.id);
    const done = finishedManifest(cellDir, cell);
    if (done) manifests.set(cell.id, done);
    else todo.push(cell);
  }
  const skipped = manifests.size;
  const queue = opts.limit !== undefined ? todo.slice(0, Math.max(0, opts.limit)) : todo;
  if (skipped) log(`${skipped} of ${sweep.cells.length} cells already done in ${dir}`);
  const total = queue.length;
  let finished = 0;
  const onDone = (cell: SweepCell, m?: Manifest, error?: string) => {
    finished++;
    if (m) {
      manifests.set(cell.id, m);
      const key = sweep.sweep.plot.metric ?? (m.metrics.fd !== undefined ? 'fd' : 'sw');
      const metric = m.metrics[key] !== undefined ? ` ${key} ${m.metrics[key].toPrecision(4)}` : '';
      log(`[${finished}/${total}] ${cell.id}: nfe ${round(m.nfe)}${metric} (${(m.wallTimeMs / 1000).toFixed(2)} s)`);
    } else {
      errors.set(cell.id, error ?? 'failed');
      log(`[${finished}/${total}] ${cell.id}: FAILED: ${error}`);
    }
  };
  for (const cell of queue) {
    // A folder without a manifest is a cell that was interrupted: start it afresh.
    fs.rmSync(path.join(cellsDir, cell.id), { recursive: true, force: true });
  }
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
      metrics: m.metrics,
    };
  });
  const out = writeResults(sweep, dir, rows);
  return { dir, rows, ...out, ran: finished - errors.size, skipped, failed: errors.size, pending: rows.filter((r) => r.status === 'pending').length };
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

async function runInProcess(cells: SweepCell[], cellsDir: string, configFile: string, onDone: (c: SweepCell, m?: Manifest, e?: string) => void): Promise<void> {
  const cache = new ModelCache();
  try {
    for (const cell of cells) {
      try {
        const { manifest } = await runExperiment(cell.config, { outDir: path.join(cellsDir, cell.id), configFile, cache });
        onDone(cell, manifest);
      } catch (err) {
        writeFileAtomic(path.join(cellsDir, cell.id, 'error.txt'), `${(err as Error).stack ?? String(err)}\n`);
        onDone(cell, undefined, (err as Error).message ?? String(err));
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
  onDone: (c: SweepCell, m?: Manifest, e?: string) => void,
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
          else {
            writeFileAtomic(path.join(dir, 'error.txt'), `${reply.stack ?? reply.message}\n`);
            onDone(cell, undefined, reply.message);
          }
        } catch (err) {
          // The worker died: note the cell, start a fresh worker for the rest.
          writeFileAtomic(path.join(dir, 'error.txt'), `${(err as Error).stack ?? String(err)}\n`);
          onDone(cell, undefined, (err as Error).message);
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
