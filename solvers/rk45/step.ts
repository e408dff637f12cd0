import { ActiveRows } from './active-rows';
import { DOPRI5, STAGES } from './tableau';

/**
 * A vector field on rows of a state: out = f(y, t) for m rows of `width` values in y, each row at
 * its own time t[r]. y, t and out are views of exactly m rows; rows[r] is the index (0 … n − 1)
 * of the problem's row that row r holds (rows are compacted as they finish), for fields that
 * carry per-row data (a per-sample noise vector, say).
 */
export type VectorField = (y: Float64Array, t: Float64Array, out: Float64Array, rows: Int32Array) => Promise<void>;

/** Stage buffers for up to n rows: k[0] holds each row's slope at its accepted point (FSAL). */
export class Stages {
  readonly ys: Float64Array;
  readonly ts: Float64Array;
  readonly k: Float64Array[];
  private viewRows = -1;
  private viewYs!: Float64Array;
  private viewTs!: Float64Array;
  private viewK!: Float64Array[];

  constructor(
    n: number,
    readonly width: number,
  ) {
    this.ys = new Float64Array(n * width);
    this.ts = new Float64Array(n);
    this.k = Array.from({ length: STAGES }, () => new Float64Array(n * width));
  }

  /** Views of the first m rows for the batched calls; remade only when m changes. */
  views(m: number): { ys: Float64Array; ts: Float64Array; k: Float64Array[] } {
    if (m !== this.viewRows) {
      this.viewRows = m;
      this.viewYs = this.ys.subarray(0, m * this.width);
      this.viewTs = this.ts.subarray(0, m);
      this.viewK = this.k.map((k) => k.subarray(0, m * this.width));
    }
    return { ys: this.viewYs, ts: this.viewTs, k: this.viewK };
  }
}

/**
 * One attempted Dormand–Prince step of size hs[r] for every active row: stages 2–7 (six field
 * calls, k[0] is known), leaving the 5th-order solution in ys and its slope in k[6].
 */
export async function attemptStep(rows: ActiveRows, y: Float64Array, field: VectorField, st: Stages): Promise<void> {
  const { m, idx, t, hs, tNew } = rows;
  const width = st.width;
  const { ys, ts, k } = st;
  const v = st.views(m);
  for (let s = 1; s < STAGES; s++) {
    const a = DOPRI5.a[s];
    const c = DOPRI5.c[s];
    for (let r = 0; r < m; r++) {
      const h = hs[r];
      // The last stages sit exactly on the step's end, so the FSAL slope is at the accepted point.
      ts[r] = c === 1 ? tNew[r] : t[r] + c * h;
      for (let j = r * width, yj = idx[r] * width, end = j + width; j < end; j++, yj++) {
        let sum = 0;
        for (let q = 0; q < s; q++) sum += a[q] * k[q][j];
        ys[j] = y[yj] + h * sum;
      }
    }
    await field(v.ys, v.ts, v.k[s], idx.subarray(0, m));
  }
}

/**
 * Per-row sums of squared scaled errors: (h·Σ e_j k_j / (atol + rtol·max(|y_old|, |y_new|)))².
 */
export function errorSquares(rows: ActiveRows, y: Float64Array, st: Stages, atol: number, rtol: number, sq: Float64Array): void {
  const { m, idx, hs } = rows;
  const width = st.width;
  const { ys, k } = st;
  const e = DOPRI5.e;
  for (let r = 0; r < m; r++) {
    const h = hs[r];
    let s = 0;
    for (let j = r * width, yj = idx[r] * width, end = j + width; j < end; j++, yj++) {
      let est = 0;
      for (let q = 0; q < STAGES; q++) est += e[q] * k[q][j];
      const sc = atol + rtol * Math.max(Math.abs(y[yj]), Math.abs(ys[j]));
      const ratio = (h * est) / sc;
      s += ratio * ratio;
    }
    sq[r] = s;
  }
}
