import { parentPort } from 'worker_threads';
import { ModelCache } from '../configs/model-loader';
import { ExperimentConfig } from '../configs/schema';
import { Manifest, runExperiment } from './experiment';

/**
 * A sweep worker thread: runs the cells it is sent, one at a time, with its own model cache (its
 * own ONNX sessions), and replies with each cell's manifest or error.
 */

export type WorkerRequest =
  | { type: 'run'; id: string; config: ExperimentConfig; dir: string; configFile?: string }
  | { type: 'close' };

export type WorkerReply =
  | { type: 'done'; id: string; manifest: Manifest }
  | { type: 'error'; id: string; name: string; message: string; stack?: string };

if (parentPort) {
  const port = parentPort;
  const cache = new ModelCache();
  port.on('message', (msg: WorkerRequest) => {
    if (msg.type === 'close') {
      void cache.dispose().finally(() => port.close());
      return;
    }
    runExperiment(msg.config, { outDir: msg.dir, outLabel: `cell ${msg.id}`, configFile: msg.configFile, cache }).then(
      ({ manifest }) => port.postMessage({ type: 'done', id: msg.id, manifest } satisfies WorkerReply),
      (err: Error) => port.postMessage({ type: 'error', id: msg.id, name: err?.name ?? 'Error', message: err?.message ?? String(err), stack: err?.stack } satisfies WorkerReply),
    );
  });
}
