/**
 * The rows still integrating, compacted to the front: row r of the stage buffers is sample
 * idx[r], so a batched field call holds only unfinished samples (finished ones cost nothing).
 * Per row: its time, proposed step h (signed), the step attempted (hs: h, or clipped to land on
 * the end), attempts so far and whether the last attempt was rejected.
 */
export class ActiveRows {
  m: number;
  readonly idx: Int32Array;
  readonly t: Float64Array;
  readonly h: Float64Array;
  readonly hs: Float64Array;
  readonly tNew: Float64Array;
  readonly attempts: Int32Array;
  readonly rejected: Uint8Array;

  constructor(n: number, t0: number) {
    this.m = n;
    this.idx = new Int32Array(n);
    this.t = new Float64Array(n).fill(t0);
    this.h = new Float64Array(n);
    this.hs = new Float64Array(n);
    this.tNew = new Float64Array(n);
    this.attempts = new Int32Array(n);
    this.rejected = new Uint8Array(n);
    for (let r = 0; r < n; r++) this.idx[r] = r;
  }

  /**
   * Squeezes out the rows that reached tEnd, keeping each survivor's per-row state and its FSAL
   * slope (rows of `width` in `slope`). Returns the time of the laggard (tEnd once all are done).
   */
  compact(tEnd: number, dir: number, slope: Float64Array, width: number): number {
    let w = 0;
    let tLag = tEnd;
    for (let r = 0; r < this.m; r++) {
      if (this.t[r] === tEnd) continue;
      if (dir * (tLag - this.t[r]) > 0) tLag = this.t[r];
      if (w !== r) {
        this.idx[w] = this.idx[r];
        this.t[w] = this.t[r];
        this.h[w] = this.h[r];
        this.attempts[w] = this.attempts[r];
        this.rejected[w] = this.rejected[r];
        slope.copyWithin(w * width, r * width, (r + 1) * width);
      }
      w++;
    }
    this.m = w;
    return tLag;
  }
}
