/**
 * What every solver calls: ∇_x log p_t(x) for a batch.
 *
 * x holds n samples row-major (n × prod(sampleShape)), t holds each sample's own time (length n),
 * and the score is written into out (same length as x). Writing into a caller's buffer keeps the
 * solvers' hot loops free of allocation. Float64 throughout; an ONNX model converts at its edge.
 */
export interface ScoreModel {
  /** Shape of one sample, e.g. [2] or [1, 28, 28]. */
  readonly sampleShape: readonly number[];
  score(x: Float64Array, t: Float64Array, out: Float64Array): Promise<void>;
  /** Releases native resources (ONNX sessions); a no-op for in-process models. */
  dispose?(): Promise<void>;
}

export function sampleSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Counts what a solver really spends: `calls` batched evaluations and `evaluations`
 * per-sample evaluations (their sum of batch sizes). NFE per sample = evaluations / n.
 */
export class CountingScoreModel implements ScoreModel {
  calls = 0;
  evaluations = 0;

  constructor(readonly inner: ScoreModel) {}

  get sampleShape(): readonly number[] {
    return this.inner.sampleShape;
  }

  score(x: Float64Array, t: Float64Array, out: Float64Array): Promise<void> {
    this.calls++;
    this.evaluations += t.length;
    return this.inner.score(x, t, out);
  }
}
