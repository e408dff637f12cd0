import { ParameterError } from '../core/errors';
import { ConditionalScoreModel, GaussianKernel, Parameterization, SampleRows, ScoreModel } from '../core/score';

/**
 * Classifier-free guidance (Ho & Salimans 2022) as a ScoreModel over a conditional network.
 *
 * Convention: the guidance scale γ (`scale`), as in the seed document,
 *   s_γ(x, y) = γ·s(x, y) + (1 − γ)·s(x)
 * γ = 1 is the plain conditional model, γ = 0 the unconditional one, γ > 1 pushes away from the
 * unconditional score (sharper, less diverse). Ho & Salimans' w is γ − 1: (1 + w)·s(x, y) − w·s(x).
 *
 * The weights sum to 1, so the combination is exact in any parameterization: ε̂ and x̂_0 are
 * affine in the score with the same coefficients for both terms (ε̂ = −σ s, x̂_0 = (x + σ² s)/α).
 * predict() combines the network's native outputs, so ε- and x̂_0-solvers get them unconverted.
 *
 * Cost: one guided evaluation (one NFE) is one network call on 2m rows, the conditional rows
 * (labels y) stacked on the unconditional ones (the null label), so both come from one batched
 * call; at γ = 1 or γ = 0 only the half with weight 1 is evaluated (m rows). `network` counts
 * the calls and rows.
 *
 * Labels are per sample of the run: sample i gets labels[i mod labels.length] (so [0, …, 9] draws
 * the ten classes in turn), which is why the model is `perSample` and reads `rows`.
 */
export interface GuidanceOptions {
  /** γ in γ·s(x, y) + (1 − γ)·s(x). */
  scale: number;
  /** Class index per sample, cycled: sample i gets labels[i mod labels.length]. */
  labels: readonly number[];
}

export class ClassifierFreeGuidance implements ScoreModel {
  readonly perSample = true;
  readonly scale: number;
  readonly labels: Int32Array;
  /** Network calls and rows (samples) the guided evaluations cost so far. */
  readonly network = { calls: 0, rows: 0 };
  readonly predict?: (x: Float64Array, t: Float64Array, out: Float64Array, rows?: SampleRows) => Promise<void>;
  private readonly buffers = new Map<number, { x: Float64Array; t: Float64Array; y: Int32Array; out: Float64Array }>();

  constructor(
    readonly inner: ConditionalScoreModel,
    opts: GuidanceOptions,
  ) {
    if (!Number.isFinite(opts.scale)) throw new ParameterError(`guidance scale must be a finite number, got ${opts.scale}`);
    const { classes, nullLabel } = inner.conditioning;
    if (!opts.labels.length) throw new ParameterError('guidance needs at least one label');
    opts.labels.forEach((label, i) => {
      if (!Number.isInteger(label) || label < 0 || label >= classes.length) {
        throw new ParameterError(`labels[${i}] = ${label} is out of range: the model's classes are 0 … ${classes.length - 1} (${nullLabel} is its null label)`);
      }
    });
    this.scale = opts.scale;
    this.labels = Int32Array.from(opts.labels);
    const native = inner.predictWithLabels;
    if (native && inner.parameterization && inner.predict) {
      this.predict = (x, t, out, rows) => this.guided(x, t, out, rows, (xx, tt, yy, o) => native.call(inner, xx, tt, yy, o));
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

  /** Ho & Salimans' w = γ − 1. */
  get w(): number {
    return this.scale - 1;
  }

  /** The label of global sample i. */
  labelOf(sample: number): number {
    return this.labels[sample % this.labels.length];
  }

  score(x: Float64Array, t: Float64Array, out: Float64Array, rows?: SampleRows): Promise<void> {
    return this.guided(x, t, out, rows, (xx, tt, yy, o) => this.inner.scoreWithLabels(xx, tt, yy, o));
  }

  private async guided(
    x: Float64Array,
    t: Float64Array,
    out: Float64Array,
    rows: SampleRows | undefined,
    evaluate: (x: Float64Array, t: Float64Array, labels: Int32Array, out: Float64Array) => Promise<void>,
  ): Promise<void> {
    const m = t.length;
    const len = x.length;
    const g = this.scale;
    const halves = g === 1 || g === 0 ? 1 : 2;
    const b = this.buffersFor(m, len, halves);
    const nullLabel = this.inner.conditioning.nullLabel;
    if (g === 0) b.y.fill(nullLabel);
    else for (let r = 0; r < m; r++) b.y[r] = this.labelOf(rows ? rows[r] : r);
    this.network.calls++;
    this.network.rows += halves * m;
    if (halves === 1) {
      await evaluate(x, t, b.y, out);
      return;
    }
    b.x.set(x);
    b.x.set(x, len);
    b.t.set(t);
    b.t.set(t, m);
    b.y.fill(nullLabel, m);
    await evaluate(b.x, b.t, b.y, b.out);
    const o = b.out;
    const u = 1 - g;
    for (let j = 0; j < len; j++) out[j] = g * o[j] + u * o[len + j];
  }

  /** Scratch for m rows: one set per halves count, grown to the largest m seen (RK45 calls with every m as rows finish). */
  private buffersFor(m: number, len: number, halves: number) {
    let b = this.buffers.get(halves);
    const big = halves === 2;
    if (!b || b.y.length < halves * m || (big && b.x.length < 2 * len)) {
      b = {
        x: new Float64Array(big ? 2 * len : 0),
        t: new Float64Array(big ? 2 * m : 0),
        y: new Int32Array(halves * m),
        out: new Float64Array(big ? 2 * len : 0),
      };
      this.buffers.set(halves, b);
    }
    return {
      x: b.x.subarray(0, big ? 2 * len : 0),
      t: b.t.subarray(0, big ? 2 * m : 0),
      y: b.y.subarray(0, halves * m),
      out: b.out.subarray(0, big ? 2 * len : 0),
    };
  }

}
