/**
 * Every random number is Philox4x32-10(key = seed, counter). This file is the one place where
 * counters are allocated, so that draws made for different purposes can never share one.
 *
 *   key     k0 = seed bits 0–31, k1 = seed bits 32–52 (seeds are safe integers); bits 56–63 of k1
 *           hold the ziggurat's fallback round (0 for the main draws, see ./normal.ts)
 *   c0      element block, bits 0–31          element = global sample index · dim + coordinate;
 *   c1      bits 0–15: element block, bits 32–47       a block is 4 consecutive elements
 *           bits 16–23: aux (e.g. the corrector step k at one time)
 *           bits 24–30: stream (the table below)
 *           bit 31: 1 for per-row uniform draws (c0/c1 then count rows, not element blocks)
 *   c2, c3  address within the stream: a step index (c3 = 0), a Brownian tree node (c3 = 0),
 *           or the IEEE-754 bits of a time t (low word, high word)
 *
 * So a draw depends only on (seed, stream, address, aux, global element): the same whatever the
 * batch size, chunking or order of evaluation (bitwise batch invariance).
 */
export const Stream = {
  /** x_T ~ prior, address 0. */
  prior: 0,
  /** Per-step increments ('step' noise mode), address = grid step index. */
  predictor: 1,
  /** Langevin corrector noise, address = the time t, aux = corrector step k. */
  corrector: 2,
  /** Data draws (Gaussian-mixture samples), address 0. */
  data: 3,
  /** Forward-kernel perturbations (training-style draws), address 0. */
  kernel: 4,
  /** Brownian tree: W(T) at node 0, the midpoint of heap node i at address i ('path' mode). */
  brownianTree: 5,
  /** Brownian bridge inside a tree leaf, address = the queried time t. */
  brownianLeaf: 6,
  /** Other noise at a fixed time that is not a Brownian increment (e.g. EDM churn), address = t, aux = index. */
  atTime: 7,
  /**
   * Hutchinson probes of the likelihood's divergence estimate (likelihood/probes.ts), address =
   * probe index: one fixed probe per (sample, probe index) for the whole ODE solve.
   */
  hutchinson: 8,
  /** Uniform dequantization noise of the likelihood's image data (likelihood/dequantize.ts), address = repeat index. */
  dequantization: 9,
  /**
   * Draws of re-run steps (RePaint-style resampling, solvers/resample.ts) and of its jumps back,
   * address = the draw's index in call order.
   */
  resample: 10,
  /** Shuffles of the data splits that give the image metrics' floors at n (cli/metrics-reference.ts), address = n. */
  metricFloors: 0x46,
  /** Random projection directions of the sliced Wasserstein metric (metrics/wasserstein.ts). */
  projections: 0x51,
  /** KID (metrics/kid.ts): the subsets of each side, address = subset index + 1. */
  kidSubsetA: 0x60,
  kidSubsetB: 0x61,
  /** KID: the rows kept from each side when a set exceeds maxSamples, address 0. */
  kidRowsA: 0x62,
  kidRowsB: 0x63,
} as const;

export type StreamId = (typeof Stream)[keyof typeof Stream];

/** Highest stream id and aux value the counter layout has room for. */
export const MAX_STREAM = 0x7f;
export const MAX_AUX = 0xff;

/** Largest element index (sample · dim + coordinate) the layout can address: 2^50 − 1. */
export const MAX_ELEMENT = 2 ** 50 - 1;

const bits = new DataView(new ArrayBuffer(8));

/** The counter address of a time: its float64 bits as [low word, high word]. */
export function timeAddress(t: number): [number, number] {
  bits.setFloat64(0, t, true);
  return [bits.getUint32(0, true), bits.getUint32(4, true)];
}
