import { SampleProgress, SampleRequest, SampleResult, sample } from '../solvers/sample';

/**
 * Sampling n in blocks of batchSize so that memory holds one block, not n: each block is one
 * `sample()` call with `firstSample` at the block's global index, so it draws exactly the noise
 * the same rows would get in one call with that batchSize (bitwise the same samples). Each block
 * goes to `sink` as soon as it is done (the run writes it to samples.npy).
 */

export interface StreamRequest extends Omit<SampleRequest, 'n' | 'batchSize' | 'xT' | 'firstSample' | 'onProgress'> {
  n: number;
  batchSize: number;
  /** x_T rows start..start+count-1, when the run starts from given x_T. */
  xT?: (start: number, count: number) => Float64Array;
  /** Gets each finished block: rows start.. of the whole run. */
  sink: (rows: Float64Array, start: number) => void;
  onProgress?: (p: SampleProgress) => void;
}

/** What sample() reports, without the samples (they went to the sink block by block). */
export type StreamResult = Omit<SampleResult, 'samples'>;

export async function streamSamples(req: StreamRequest): Promise<StreamResult> {
  const { n, batchSize, sink, xT, onProgress, ...common } = req;
  let calls = 0;
  let evaluations = 0;
  let wallTimeMs = 0;
  const warnings = new Set<string>();
  let last: Awaited<ReturnType<typeof sample>> | undefined;
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const before = evaluations;
    last = await sample({
      ...common,
      n: count,
      batchSize: count,
      firstSample: start,
      xT: xT?.(start, count),
      onProgress: onProgress
        ? (p) => onProgress({ fraction: (start + p.fraction * count) / n, samplesDone: start + p.samplesDone, n, step: p.step, nfe: (before + p.nfe * count) / n })
        : undefined,
    });
    calls += last.calls;
    evaluations += last.evaluations;
    wallTimeMs += last.wallTimeMs;
    for (const w of last.warnings) warnings.add(w);
    sink(last.samples.data, start);
  }
  return { solver: last!.solver, settings: last!.settings, steps: last!.steps, nfe: evaluations / n, calls, evaluations, wallTimeMs, warnings: [...warnings] };
}
