import type { SampleRows, ScoreModel } from '../core/score';
import type { SDE } from '../sdes/sde';

/** Floor of the σ the step scales with: float32 inputs of size ~1 resolve 6e-8, so h ≥ 1e-3·step. */
export const MIN_STD = 1e-3;

/** Directions w per sample, along which the score's Jacobian is probed. */
export interface Directions {
  /** Directions per sample. */
  readonly count: number;
  /** Direction q of problem row `sample` into out[offset, offset + dim). */
  write(q: number, sample: number, out: Float64Array, offset: number): void;
}

/**
 * The score and the quadratic forms wᵀ J w of its Jacobian J = ∂s/∂x along a few directions w per
 * sample, by central differences through score() alone (any network, no JVP graph):
 *
 *   wᵀ J w ≈ wᵀ (s(x + h w) − s(x − h w)) / (2h),   h = step · max(σ(t), MIN_STD)
 *
 * Why h ∝ σ(t): p_t is p_0 smoothed at scale σ(t), and a trained network's score bends on that
 * scale (the truncation error goes as (h/σ)²); measured on the shipped U-Nets against float64
 * autograd, h = step·√(α² + σ²) (the scale of x_t) was 5–10% off at t ≤ 1e-3 with step 1e-2,
 * h = 1e-2·σ(t) within 7e-5 at every t. Why the floor: float32 resolves x ~ 1 to 6e-8, so h must
 * stay well above that (sub-VP has σ(1e-5) = 1e-6). step = 1e-2 balances the truncation against
 * the float32 rounding of the output, amplified by 1/h (for float16 graphs take ~0.1). Measured
 * errors: tests/likelihood-onnx.test.ts and the report.
 *
 * One model call per evaluation: the rows x, x + h w_q, x − h w_q (q < count) as one batch of
 * (1 + 2·count)·m rows, so the network sees large batches.
 */
export class ScoreDifferences {
  /** Model evaluations per sample per call. */
  readonly evaluationsPerRow: number;
  private xs = new Float64Array(0);
  private ts = new Float64Array(0);
  private ss = new Float64Array(0);
  private ws = new Float64Array(0);
  private rowsBuf = new Float64Array(0);

  constructor(
    private readonly model: ScoreModel,
    private readonly sde: SDE,
    private readonly dim: number,
    private readonly directions: Directions,
    /** h = step · max(σ(t), MIN_STD). */
    readonly step: number,
  ) {
    this.evaluationsPerRow = 1 + 2 * directions.count;
  }

  /**
   * For the m rows of x at times t (rows[r] = the sample row r is): the score at x into score
   * (m × dim) and wᵀ J w for each direction into forms (m × count, row-major).
   */
  async evaluate(x: Float64Array, t: Float64Array, rows: Int32Array, score: Float64Array, forms: Float64Array, sampleRows?: SampleRows): Promise<void> {
    const { dim, directions } = this;
    const Q = directions.count;
    const m = t.length;
    const block = m * dim;
    this.reserve(m);
    const xs = this.xs.subarray(0, (1 + 2 * Q) * block);
    const ts = this.ts.subarray(0, (1 + 2 * Q) * m);
    const ss = this.ss.subarray(0, xs.length);
    const ws = this.ws;
    xs.set(x, 0);
    for (let b = 0; b <= 2 * Q; b++) ts.set(t, b * m);
    for (let q = 0; q < Q; q++) {
      const plus = (1 + 2 * q) * block;
      const minus = plus + block;
      for (let r = 0; r < m; r++) {
        const w0 = q * block + r * dim;
        directions.write(q, rows[r], ws, w0);
        const h = this.stepAt(t[r]);
        for (let j = 0, o = r * dim; j < dim; j++, o++) {
          const d = h * ws[w0 + j];
          xs[plus + o] = x[o] + d;
          xs[minus + o] = x[o] - d;
        }
      }
    }
    // A perSample model (per-row labels) reads which sample each stacked row is: each block repeats the m rows.
    await this.model.score(xs, ts, ss, this.model.perSample && sampleRows ? this.stackedRows(sampleRows, m) : undefined);
    score.set(ss.subarray(0, block));
    for (let r = 0; r < m; r++) {
      const inv2h = 1 / (2 * this.stepAt(t[r]));
      for (let q = 0; q < Q; q++) {
        const plus = (1 + 2 * q) * block + r * dim;
        const minus = plus + block;
        const w0 = q * block + r * dim;
        let sum = 0;
        for (let j = 0; j < dim; j++) sum += ws[w0 + j] * (ss[plus + j] - ss[minus + j]);
        forms[r * Q + q] = sum * inv2h;
      }
    }
  }

  private stackedRows(sampleRows: SampleRows, m: number): Float64Array {
    const blocks = 1 + 2 * this.directions.count;
    if (this.rowsBuf.length < blocks * m) this.rowsBuf = new Float64Array(blocks * m);
    for (let b = 0; b < blocks; b++) for (let r = 0; r < m; r++) this.rowsBuf[b * m + r] = sampleRows[r];
    return this.rowsBuf.subarray(0, blocks * m);
  }

  /** h(t) = step·max(σ(t), MIN_STD). */
  stepAt(t: number): number {
    const s = this.sde.std(t);
    return this.step * (s > MIN_STD ? s : MIN_STD);
  }

  /** Buffers for m rows (the first call has the most: rows only ever finish). */
  private reserve(m: number): void {
    const rows = (1 + 2 * this.directions.count) * m;
    if (this.ts.length >= rows) return;
    this.xs = new Float64Array(rows * this.dim);
    this.ts = new Float64Array(rows);
    this.ss = new Float64Array(rows * this.dim);
    this.ws = new Float64Array(this.directions.count * m * this.dim);
  }
}
