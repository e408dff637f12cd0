// Module-level aliases: inside vm contexts (jest) every global lookup is ~50x slower.
const { cos, floor, imul, log, sin, sqrt, PI } = Math;

/**
 * Counter-based Gaussian noise (Philox4x32-10, Salmon et al. 2011): the draw for sample i at
 * step k is a pure function of (seed, i, k, stream), so sample i sees the same Brownian path
 * whatever the batch size, chunking or order of evaluation. This is what makes results
 * batch-invariant and lets a sweep give every cell the same noise (common random numbers).
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

const INV_2_16 = 1 / 65536;
const M0_LO = M0 & 0xffff;
const M0_HI = M0 >>> 16;
const M1_LO = M1 & 0xffff;
const M1_HI = M1 >>> 16;

/** Philox4x32-10 on counter (c0..c3) with key (k0, k1); writes four uint32 into out. */
export function philox4x32(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array): void {
  for (let r = 0; r < 10; r++) {
    // High 32 bits of M·c exactly in doubles: M split in 16-bit halves, every partial < 2^53.
    const hi0 = floor((c0 * M0_HI + floor(c0 * M0_LO * INV_2_16)) * INV_2_16) >>> 0;
    const lo0 = imul(M0, c0) >>> 0;
    const hi1 = floor((c2 * M1_HI + floor(c2 * M1_LO * INV_2_16)) * INV_2_16) >>> 0;
    const lo1 = imul(M1, c2) >>> 0;
    const n0 = (hi1 ^ c1 ^ k0) >>> 0;
    const n2 = (hi0 ^ c3 ^ k1) >>> 0;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

const TWO_PI = 2 * PI;
const INV_2_32 = 1 / 4294967296;

/** Named streams, so that draws for different purposes never share counters. */
export const Stream = {
  prior: 0,
  predictor: 1,
  corrector: 2,
  data: 3,
  kernel: 4,
} as const;

/**
 * A seeded source of standard normal noise, addressed by (global sample index, step, stream).
 * `offset` is the global index of row 0 of the buffers passed in, so a chunk of a larger run
 * draws the same numbers as the whole run would.
 */
export class NoiseSource {
  private readonly k0: number;
  private readonly k1: number;
  private readonly block = new Uint32Array(4);

  constructor(
    readonly seed: number,
    readonly offset = 0,
  ) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
    }
    this.k0 = seed >>> 0;
    this.k1 = floor(seed / 4294967296) >>> 0;
  }

  /** The same source for rows starting at global index offset + delta. */
  shifted(delta: number): NoiseSource {
    return new NoiseSource(this.seed, this.offset + delta);
  }

  /**
   * Fills out (n rows of dim) with N(0, 1) draws for rows `first..first+n-1` (local indices),
   * at the given step and stream. The draws form one flat stream per (seed, step, stream):
   * element j of global sample i is entry i·dim + j, and each Philox block yields four
   * consecutive entries through Box–Muller. A row's values depend only on its global index.
   */
  normal(out: Float64Array, dim: number, step: number, stream: number, first = 0): void {
    const b = this.block;
    const begin = (this.offset + first) * dim;
    const end = begin + out.length;
    const k0 = this.k0;
    const k1 = this.k1;
    const c2 = step >>> 0;
    const c3 = stream >>> 0;
    for (let blk = floor(begin / 4), last = floor((end - 1) / 4); blk <= last; blk++) {
      philox4x32(blk >>> 0, floor(blk / 4294967296) >>> 0, c2, c3, k0, k1, b);
      const r1 = sqrt(-2 * log((b[0] + 0.5) * INV_2_32));
      const a1 = TWO_PI * ((b[1] + 0.5) * INV_2_32);
      const r2 = sqrt(-2 * log((b[2] + 0.5) * INV_2_32));
      const a2 = TWO_PI * ((b[3] + 0.5) * INV_2_32);
      const e = blk * 4 - begin;
      if (e >= 0 && e + 3 < out.length) {
        out[e] = r1 * cos(a1);
        out[e + 1] = r1 * sin(a1);
        out[e + 2] = r2 * cos(a2);
        out[e + 3] = r2 * sin(a2);
      } else {
        // A block straddling the range's ends: write only the entries inside it.
        if (e >= 0 && e < out.length) out[e] = r1 * cos(a1);
        if (e + 1 >= 0 && e + 1 < out.length) out[e + 1] = r1 * sin(a1);
        if (e + 2 >= 0 && e + 2 < out.length) out[e + 2] = r2 * cos(a2);
        if (e + 3 >= 0 && e + 3 < out.length) out[e + 3] = r2 * sin(a2);
      }
    }
  }

  /** Uniform [0, 1) draws, one per row, for categorical choices (mixture components). */
  uniform(out: Float64Array, step: number, stream: number): void {
    const b = this.block;
    for (let r = 0; r < out.length; r++) {
      const sample = this.offset + r;
      philox4x32(sample >>> 0, floor(sample / 4294967296) >>> 0, step >>> 0, (stream | 0x8000) >>> 0, this.k0, this.k1, b);
      out[r] = b[0] * INV_2_32;
    }
  }
}
