import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { WorkerReply, WorkerRequest } from './worker';

/**
 * One worker thread (cli/worker.ts) that runs sweep cells one at a time, with its own models (its
 * own ONNX sessions). Used by the local sweep (`--workers N`) and by the queue worker: onnxruntime's
 * run() blocks the event loop of its thread, so cells never run on the main thread of a process
 * that must keep answering (a queue worker renews its job locks there).
 */

export type CellRequest = Omit<Extract<WorkerRequest, { type: 'run' }>, 'type'>;

/**
 * How to start a worker: dist/cli/worker.js when running compiled; from TypeScript sources (tests,
 * ts-node style use) a small bootstrap that transpiles .ts with TypeScript (a dev dependency),
 * unless the thread already has a .ts loader (a `node -r` hook, which threads inherit).
 */
function spawnWorker(): Worker {
  const js = path.join(__dirname, 'worker.js');
  if (fs.existsSync(js) && !__filename.endsWith('.ts')) return new Worker(js);
  const entry = path.join(__dirname, 'worker.ts');
  const bootstrap = `
    if (!require.extensions['.ts']) {
      const fs = require('fs');
      const ts = require(${JSON.stringify(require.resolve('typescript'))});
      require.extensions['.ts'] = function (module, filename) {
        const src = fs.readFileSync(filename, 'utf8');
        const out = ts.transpileModule(src, { fileName: filename, compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true } });
        module._compile(out.outputText, filename);
      };
    }
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

export class CellThread {
  private worker = spawnWorker();
  private terminated = false;

  /** Runs one cell; a thread that dies is reported as the cell's error and replaced by a fresh one. */
  async run(cell: CellRequest): Promise<WorkerReply> {
    try {
      return await call(this.worker, { type: 'run', ...cell });
    } catch (err) {
      const e = err as Error;
      await this.worker.terminate();
      if (!this.terminated) this.worker = spawnWorker();
      return { type: 'error', id: cell.id, name: e.name, message: e.message, stack: e.stack };
    }
  }

  /** Stops the thread at once, a running cell with it (its half-built folder is left for cleanup). */
  async terminate(): Promise<void> {
    this.terminated = true;
    await this.worker.terminate();
  }

  /** Lets the thread dispose of its models and exit (terminated after 10 s). */
  async close(): Promise<void> {
    if (this.terminated) return;
    const worker = this.worker;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies WorkerRequest);
    const timer = setTimeout(() => void worker.terminate(), 10000);
    await exited;
    clearTimeout(timer);
  }
}
