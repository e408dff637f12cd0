import { existsSync } from 'fs';
import { dirname, join, relative } from 'path';
import { ort } from './ort';
import { probeModelBytes } from './onnx-file';

export type Device = 'auto' | 'cuda' | 'cpu';

/** How to get the CUDA execution provider, for error messages. */
export const ENABLE_CUDA_HINT =
  'to enable CUDA run `bash models/onnx/enable-cuda.sh` (copies the CUDA provider libraries into ' +
  'node_modules/onnxruntime-node; cuBLAS, cuRAND and cudart must be on LD_LIBRARY_PATH), see the README section ' +
  '"GPU (CUDA)"; or load with device \'auto\' or \'cpu\'';

const PROVIDER_LIBS = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];

/** onnxruntime-node's native folder, where the CUDA provider libraries must sit beside libonnxruntime.so.1. */
export function ortNativeDir(): string {
  const main = require.resolve('onnxruntime-node');
  return join(dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

/**
 * Whether the CUDA provider can be tried at all, without touching onnxruntime (whose failed
 * attempt prints an error to stderr): linux/x64, and the provider libraries installed.
 */
export function cudaPrecheck(): { ok: boolean; reason: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { ok: false, reason: `onnxruntime-node has CUDA only on linux/x64, this is ${process.platform}/${process.arch}` };
  }
  const dir = ortNativeDir();
  const missing = PROVIDER_LIBS.filter((f) => !existsSync(join(dir, f)));
  if (missing.length) {
    const rel = relative(process.cwd(), dir) || dir;
    return { ok: false, reason: `CUDA provider not installed (${missing.join(', ')} not in ${rel}; see models/onnx/enable-cuda.sh)` };
  }
  return { ok: true, reason: 'CUDA provider libraries installed' };
}

/**
 * onnxruntime reports a provider library that fails to load only as "Failed to load shared
 * library"; dlopen says which dependency is missing (libcublasLt.so.13: cannot open ...). Used on
 * the failure path only.
 */
export function diagnoseCudaLoad(fallback: string): string {
  if (!/Failed to load shared library/i.test(fallback)) return fallback;
  for (const lib of [...PROVIDER_LIBS].reverse()) {
    try {
      process.dlopen({ exports: {} } as NodeJS.Module, join(ortNativeDir(), lib));
    } catch (e) {
      const msg = (e as Error).message;
      if (!/self-register|Module did not/i.test(msg)) {
        return `${lib}: ${shortReason(msg.replace(/^Error:\s*/, '').split(`${ortNativeDir()}/`).join(''))}`;
      }
    }
  }
  return fallback;
}

/** First line of an onnxruntime error, without its boilerplate, at most ~200 characters. */
export function shortReason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  let line = msg.split('\n').find((l) => l.trim().length > 0)?.trim() ?? 'unknown error';
  line = line.replace(/^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*/, '');
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

let cudaProbe: Promise<{ ok: boolean; reason: string }> | undefined;

/**
 * Which execution providers work here, for an `inspect` command. CUDA is tried for real (a session
 * on a one-node model) once per process.
 */
export async function availableExecutionProviders(): Promise<{ cpu: boolean; cuda: { ok: boolean; reason: string } }> {
  const cpu = ort.listSupportedBackends().some((b) => b.name === 'cpu');
  cudaProbe ??= (async () => {
    const pre = cudaPrecheck();
    if (!pre.ok) return pre;
    try {
      const s = await ort.InferenceSession.create(probeModelBytes(), { executionProviders: ['cuda'], logSeverityLevel: 3 });
      await s.release();
      return { ok: true, reason: 'a CUDA session was created' };
    } catch (e) {
      return { ok: false, reason: diagnoseCudaLoad(shortReason(e)) };
    }
  })();
  return { cpu, cuda: await cudaProbe };
}
