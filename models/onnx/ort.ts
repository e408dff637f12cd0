/**
 * onnxruntime-node, loaded so that it survives being loaded more than once per process.
 *
 * Its native addon is loaded once per process (Node caches .node files), but its JavaScript
 * initializes the addon from a module-level flag; a second copy of that JavaScript (every test
 * file under jest gets a fresh module registry, but shares the worker process) initializes
 * again and the process aborts in napi_add_env_cleanup_hook. The addon's exports object is the
 * one thing all copies share, so the first initialization is marked on it, and later copies'
 * initOrt becomes a no-op. Import onnxruntime through this module, before any session is made.
 */
import * as ort from 'onnxruntime-node';

const INITIALIZED = Symbol.for('score-sde.onnxruntime-node.initialized');

interface BindingModule {
  binding: Record<symbol, unknown>;
  initOrt: () => void;
}

function guardInit(): void {
  let mod: BindingModule;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require('onnxruntime-node/dist/binding') as BindingModule;
  } catch {
    return; // a layout this guard does not know: leave onnxruntime alone
  }
  if (!mod || typeof mod.initOrt !== 'function' || !mod.binding) return;
  const native = mod.binding;
  if (native[INITIALIZED]) {
    mod.initOrt = () => {};
    return;
  }
  const init = mod.initOrt;
  mod.initOrt = () => {
    if (native[INITIALIZED]) return;
    init();
    native[INITIALIZED] = true;
  };
}

guardInit();

export { ort };
