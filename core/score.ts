/**
 * What a network predicts natively (see sdes/parameterization.ts for the conversions):
 * the score ∇ log p_t(x), the noise ε, or the clean data x̂_0.
 */
export type Parameterization = 'score' | 'eps' | 'x0';
export const PARAMETERIZATIONS: readonly Parameterization[] = ['score', 'eps', 'x0'];

/** The kernel x_t = α(t) x_0 + σ(t) ε a model's native output refers to (every sdes/ SDE is one). */
export interface GaussianKernel {
  readonly kind: string;
  /** The VP family's β schedule, where the kind has variants. */
  readonly schedule?: string;
  readonly T: number;
  /** α(t). */
  meanCoef(t: number): number;
  /** σ(t). */
  std(t: number): number;
}

/**
 * What every solver calls: ∇_x log p_t(x) for a batch.
 *
 * x holds n samples row-major (n × prod(sampleShape)), t holds each sample's own time (length n),
 * and the score is written into out (same length as x). Writing into a caller's buffer keeps the
 * solvers' hot loops free of allocation. Float64 throughout; an ONNX model converts at its edge.
 *
 * A model may also answer in its native parameterization (an ε- or x̂_0-network), so that a solver
 * that wants ε or x̂_0 gets it without a round trip through the score: call sdes/predict.ts's
 * `predict(model, sde, want, …)` rather than these members directly. Wrappers (counters, guards)
 * must forward `parameterization`, `predict` and `sde` to keep that path (and `scoreDivergence`,
 * where they wrap a model that has it), and pass `rows` on with `perSample`.
 */
export interface ScoreModel {
  /** Shape of one sample, e.g. [2] or [1, 28, 28]. */
  readonly sampleShape: readonly number[];
  /** `rows`: which samples of the run the rows are (see SampleRows); read only by `perSample` models. */
  score(x: Float64Array, t: Float64Array, out: Float64Array, rows?: SampleRows): Promise<void>;
  /** What `predict` returns. Present exactly when `predict` is. */
  readonly parameterization?: Parameterization;
  /**
   * The model's raw output in its native `parameterization`, unconverted, same layout as score().
   * Costs one evaluation, like score().
   */
  predict?(x: Float64Array, t: Float64Array, out: Float64Array, rows?: SampleRows): Promise<void>;
  /**
   * The output depends on which sample a row is, not only on x and t (classifier-free guidance
   * with a class label per sample, models/guidance.ts): callers must say `rows`. sample() does on
   * every call, and refuses a solver that evaluates a subset of a chunk's rows without naming them.
   */
  readonly perSample?: boolean;
  /** The kernel the model's output refers to, where the model has one (ONNX, exact mixtures). */
  readonly sde?: GaussianKernel;
  /**
   * The score (into out, exactly as score() writes it) and its divergence ∇·s(x, t) = tr ∂s/∂x,
   * the Laplacian of log p_t, per sample (into div, length n): one evaluation. Only models that
   * have the divergence in closed form (Gaussian mixtures) have it; likelihood/ estimates it
   * otherwise (Jacobian trace or Hutchinson through finite differences of score()).
   */
  scoreDivergence?(x: Float64Array, t: Float64Array, out: Float64Array, div: Float64Array): Promise<void>;
  /** Releases native resources (ONNX sessions); a no-op for in-process models. */
  dispose?(): Promise<void>;
}

/**
 * Which samples of a run a model call's rows are: rows[r] is the global sample index of row r
 * (sample()'s `firstSample` plus the row's place in the run). Absent: row r is sample r.
 */
export type SampleRows = ArrayLike<number>;

/**
 * A network that also takes a class label per row (one network, both scores: labels were dropped
 * to `nullLabel` in training, so the null label gives the unconditional score). Its plain score()
 * and predict() are the unconditional ones (every row the null label).
 */
export interface ConditionalScoreModel extends ScoreModel {
  readonly conditioning: ClassConditioning;
  /** The score with row r conditioned on labels[r] (a class index, or nullLabel): one evaluation. */
  scoreWithLabels(x: Float64Array, t: Float64Array, labels: Int32Array, out: Float64Array): Promise<void>;
  /** The native output (`parameterization`) with labels; present exactly when `predict` is. */
  predictWithLabels?(x: Float64Array, t: Float64Array, labels: Int32Array, out: Float64Array): Promise<void>;
}

/** The classes a conditional network knows (label i is classes[i]) and its unconditional label. */
export interface ClassConditioning {
  readonly classes: readonly string[];
  readonly nullLabel: number;
}

export function isConditional(model: ScoreModel): model is ConditionalScoreModel {
  const m = model as Partial<ConditionalScoreModel>;
  return m.conditioning !== undefined && typeof m.scoreWithLabels === 'function';
}

export function sampleSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Counts what a solver really spends: `calls` batched evaluations and `evaluations`
 * per-sample evaluations (their sum of batch sizes), through score(), predict() and
 * scoreDivergence() alike.
 * NFE per sample = evaluations / n.
 */
export class CountingScoreModel implements ScoreModel {
  calls = 0;
  evaluations = 0;
  readonly predict?: (x: Float64Array, t: Float64Array, out: Float64Array, rows?: SampleRows) => Promise<void>;
  readonly scoreDivergence?: (x: Float64Array, t: Float64Array, out: Float64Array, div: Float64Array) => Promise<void>;

  constructor(readonly inner: ScoreModel) {
    const native = inner.predict;
    if (native && inner.parameterization) {
      this.predict = (x, t, out, rows) => {
        this.count(t.length);
        return native.call(inner, x, t, out, rows);
      };
    }
    const withDivergence = inner.scoreDivergence;
    if (withDivergence) {
      this.scoreDivergence = (x, t, out, div) => {
        this.count(t.length);
        return withDivergence.call(inner, x, t, out, div);
      };
    }
  }

  get sampleShape(): readonly number[] {
    return this.inner.sampleShape;
  }

  get parameterization(): Parameterization | undefined {
    return this.predict ? this.inner.parameterization : undefined;
  }

  get sde(): GaussianKernel | undefined {
    return this.inner.sde;
  }

  get perSample(): boolean | undefined {
    return this.inner.perSample;
  }

  score(x: Float64Array, t: Float64Array, out: Float64Array, rows?: SampleRows): Promise<void> {
    this.count(t.length);
    return this.inner.score(x, t, out, rows);
  }

  private count(n: number): void {
    this.calls++;
    this.evaluations += n;
  }
}
