import { fillNormal } from './normal';
import { philox4x32 } from './philox';
import { MAX_AUX, MAX_ELEMENT, MAX_STREAM, timeAddress } from './streams';
import { BrownianPath } from './brownian';

export { philox4x32 } from './philox';
export { Stream, timeAddress } from './streams';
export type { StreamId } from './streams';

const INV_2_32 = 1 / 4294967296;

/**
 * A seeded source of counter-based noise (Philox4x32-10, see ./streams.ts for the counter
 * layout): every draw is a pure function of (seed, stream, address, global sample index), so
 * sample i sees the same noise whatever the batch size, chunking or order of evaluation. That
 * makes results batch-invariant and lets a sweep give every cell the same noise.
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
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new RangeError(`the first sample index must be a non-negative safe integer, got ${offset}`);
    }
    this.k0 = seed >>> 0;
    this.k1 = Math.floor(seed / 4294967296) >>> 0;
  }

  /** The same source for rows starting at global index offset + delta. */
  shifted(delta: number): NoiseSource {
    return new NoiseSource(this.seed, this.offset + delta);
  }

  /**
   * Fills out (rows of dim) with N(0, 1) draws for local rows first, first + 1, … at address
   * `step` of `stream`. The draws form one flat sequence per (seed, stream, step): coordinate j
   * of global sample i is element i·dim + j.
   */
  normal(out: Float64Array, dim: number, step: number, stream: number, first = 0): void {
    checkAddress(step, stream, 0);
    fillNormal(out, this.firstElement(first, dim, out.length), this.k0, this.k1, stream, 0, step >>> 0, 0);
  }

  /**
   * N(0, 1) draws addressed by a time instead of a step (and an aux index < 256, e.g. the
   * corrector step at that time): the same t gives the same draws whatever grid reached it.
   */
  normalAt(out: Float64Array, dim: number, t: number, stream: number, aux = 0, first = 0): void {
    checkAddress(0, stream, aux);
    if (!Number.isFinite(t)) throw new RangeError(`noise time must be finite, got ${t}`);
    const [a0, a1] = timeAddress(t);
    fillNormal(out, this.firstElement(first, dim, out.length), this.k0, this.k1, stream, aux, a0, a1);
  }

  /**
   * Uniform draws in (0, 1), one per element (rows of dim, like normal()): (word + ½)·2^-32 of
   * element e's Philox word, at address `step` of `stream` (e.g. dequantization noise).
   */
  uniformElements(out: Float64Array, dim: number, step: number, stream: number, first = 0): void {
    checkAddress(step, stream, 0);
    const begin = this.firstElement(first, dim, out.length);
    const b = this.block;
    const tag = stream << 24;
    const end = begin + out.length;
    for (let blk = Math.floor(begin / 4), last = Math.floor((end - 1) / 4); blk <= last; blk++) {
      philox4x32(blk >>> 0, (Math.floor(blk / 4294967296) & 0xffff) | tag, step >>> 0, 0, this.k0, this.k1, b);
      const e0 = blk * 4;
      for (let w = e0 < begin ? begin - e0 : 0, to = e0 + 4 > end ? end - e0 : 4; w < to; w++) out[e0 + w - begin] = (b[w] + 0.5) * INV_2_32;
    }
  }

  /** Uniform [0, 1) draws, one per row, for categorical choices (mixture components). */
  uniform(out: Float64Array, step: number, stream: number): void {
    checkAddress(step, stream, 0);
    const b = this.block;
    const tag = (stream << 24) | 0x80000000;
    for (let r = 0; r < out.length; r++) {
      const sample = this.offset + r;
      philox4x32(sample >>> 0, (Math.floor(sample / 4294967296) & 0xffff) | tag, step >>> 0, 0, this.k0, this.k1, b);
      out[r] = b[0] * INV_2_32;
    }
  }

  /**
   * A Brownian path per coordinate of `rows` samples (from local row 0) on [0, T], queried by
   * time (see ./brownian.ts). depth sets the tree's resolution T/2^depth.
   */
  brownian(rows: number, dim: number, T: number, depth?: number): BrownianPath {
    return new BrownianPath({ k0: this.k0, k1: this.k1, firstElement: this.firstElement(0, dim, rows * dim), length: rows * dim, T, depth });
  }

  private firstElement(first: number, dim: number, length: number): number {
    const begin = (this.offset + first) * dim;
    if (begin + length - 1 > MAX_ELEMENT) throw new RangeError(`noise element index ${begin + length - 1} exceeds 2^50 − 1`);
    return begin;
  }
}

function checkAddress(step: number, stream: number, aux: number): void {
  if (!Number.isInteger(step) || step < 0 || step > 0xffffffff) throw new RangeError(`noise step must be an integer in [0, 2^32), got ${step}`);
  if (!Number.isInteger(stream) || stream < 0 || stream > MAX_STREAM) throw new RangeError(`noise stream must be an integer in [0, ${MAX_STREAM}], got ${stream}`);
  if (!Number.isInteger(aux) || aux < 0 || aux > MAX_AUX) throw new RangeError(`noise aux index must be an integer in [0, ${MAX_AUX}], got ${aux}`);
}
