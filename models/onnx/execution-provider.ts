import { existsSync, statSync } from 'fs';
import { dirname, join } from 'path';
import { ort } from './ort';
import { probeModelBytes } from './onnx-file';
import { CUDA_PROVIDER_LIBS, CudaDiagnosis, diagnoseCuda } from './cuda-diagnosis';

export type Device = 'auto' | 'cuda' | 'cpu';

/** How to get the CUDA execution provider, for error messages. */
export const ENABLE_CUDA_HINT =
  'to enable CUDA run `npx score-sde enable-cuda` (places the CUDA provider libraries in onnxruntime-node; ' +
  'cuBLAS, cuRAND and cudart 13 must be on LD_LIBRARY_PATH) and `npx score-sde inspect` to see what is still missing; ' +
  "or load with device 'auto' or 'cpu'";

/** onnxruntime-node's native folder, where the CUDA provider libraries must sit beside libonnxruntime.so.1. */
export function ortNativeDir(): string {
  const main = require.resolve('onnxruntime-node');
  return join(dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

let cached: { key: string; diagnosis: CudaDiagnosis } | undefined;

/**
 * The CUDA diagnosis for the onnxruntime-node this package loads (see cuda-diagnosis.ts), computed
 * once per state of the provider files: it runs ldd and nvidia-smi, so it is not redone per model.
 */
export function cudaDiagnosis(): CudaDiagnosis {
  const dir = ortNativeDir();
  const key = CUDA_PROVIDER_LIBS.map((f) => {
    const file = join(dir, f);
    if (!existsSync(file)) return '-';
    const s = statSync(file);
    return `${s.size}:${s.mtimeMs}`;
  }).join('|');
  if (cached?.key !== key) cached = { key, diagnosis: diagnoseCuda(dir) };
  return cached.diagnosis;
}

/**
 * Whether the CUDA provider can be tried at all, without touching onnxruntime (whose failed
 * attempt prints an error to stderr): linux/x64, the provider libraries installed (not
 * placeholders), every shared library they need found by the loader, and an NVIDIA device.
 */
export function cudaPrecheck(): { ok: boolean; reason: string } {
  const d = cudaDiagnosis();
  if (d.problems.length === 0 && d.librariesReady) return { ok: true, reason: 'CUDA provider libraries and their dependencies found' };
  return { ok: false, reason: d.problems.join('; ') || 'unknown' };
}

/**
 * onnxruntime reports a provider library that fails to load only as "Failed to load shared
 * library"; dlopen says which dependency is missing (libcublasLt.so.13: cannot open ...). Used on
 * the failure path only.
 */
export function diagnoseCudaLoad(fallback: string): string {
  if (!/Failed to load shared library/i.test(fallback)) return fallback;
  for (const lib of [...CUDA_PROVIDER_LIBS].reverse()) {
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

/** Whether a CUDA session really starts: a session on a one-node model, with the reason if not. */
export async function probeCudaSession(): Promise<{ ok: boolean; reason: string }> {
  const pre = cudaPrecheck();
  if (!pre.ok) return pre;
  try {
    const s = await ort.InferenceSession.create(probeModelBytes(), { executionProviders: ['cuda'], logSeverityLevel: 3 });
    await s.release();
    return { ok: true, reason: 'a CUDA session was created' };
  } catch (e) {
    return { ok: false, reason: diagnoseCudaLoad(shortReason(e)) };
  }
}

let cudaProbe: { key: CudaDiagnosis; result: Promise<{ ok: boolean; reason: string }> } | undefined;

/**
 * Which execution providers work here, for an `inspect` command. CUDA is tried for real (a session
 * on a one-node model) once per state of the provider files, and only when nothing is known to be
 * missing; `cudaDiagnosis` says what is.
 */
export async function availableExecutionProviders(): Promise<{ cpu: boolean; cuda: { ok: boolean; reason: string }; cudaDiagnosis: CudaDiagnosis }> {
  const cpu = ort.listSupportedBackends().some((b) => b.name === 'cpu');
  const diagnosis = cudaDiagnosis();
  if (cudaProbe?.key !== diagnosis) cudaProbe = { key: diagnosis, result: probeCudaSession() };
  return { cpu, cuda: await cudaProbe.result, cudaDiagnosis: diagnosis };
}
