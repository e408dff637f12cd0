import { ort } from './ort';
import { ModelFileError } from './errors';
import { Device, ENABLE_CUDA_HINT, cudaPrecheck, diagnoseCudaLoad, shortReason } from './execution-provider';

/**
 * Creating an onnxruntime session on the chosen execution provider, shared by the score-model
 * loader (./load.ts) and the feature classifier (metrics/features.ts). Not re-exported from the
 * package: its types are onnxruntime's, which the public declarations keep out (they need DOM types).
 */

/** An onnxruntime session on the chosen execution provider ('auto': CUDA where it loads, else CPU), and why. */
export async function createSession(
  file: string,
  device: Device,
  threads: number | undefined,
): Promise<{ session: ort.InferenceSession; ep: 'cuda' | 'cpu'; reason: string }> {
  const base: ort.InferenceSession.SessionOptions = { logSeverityLevel: 3 };
  if (threads !== undefined) base.intraOpNumThreads = threads;
  const onCpu = async (reason: string) => {
    try {
      return { session: await ort.InferenceSession.create(file, { ...base, executionProviders: ['cpu'] }), ep: 'cpu' as const, reason };
    } catch (e) {
      throw new ModelFileError(file, `onnxruntime cannot load it: ${shortReason(e)}`);
    }
  };
  if (device === 'cpu') return onCpu('requested');
  const pre = cudaPrecheck();
  if (!pre.ok) {
    if (device === 'cuda') throw cudaError(file, pre.reason);
    return onCpu(`cuda unavailable: ${pre.reason}`);
  }
  try {
    const session = await ort.InferenceSession.create(file, { ...base, executionProviders: ['cuda'] });
    return { session, ep: 'cuda', reason: device === 'cuda' ? 'requested' : 'auto: CUDA provider loaded' };
  } catch (e) {
    const reason = diagnoseCudaLoad(shortReason(e));
    if (device === 'cuda') throw cudaError(file, reason);
    return onCpu(`cuda unavailable: ${reason}`);
  }
}

function cudaError(file: string, reason: string): Error {
  const err = new Error(`${file}: device 'cuda' requested but the CUDA execution provider is unavailable (${reason}); ${ENABLE_CUDA_HINT}`);
  err.name = 'CudaUnavailableError';
  return err;
}
