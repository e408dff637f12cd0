import { ParameterError } from '../core/errors';
import { NoiseSource, Stream } from '../core/noise';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { abs, log, round, LN2 } = Math;

/**
 * Image data as stored: `levels` equally spaced values k = 0 … levels−1 spanning the card's
 * dataRange [lo, hi], x = lo + (hi − lo)·k/(levels − 1) (e.g. 8-bit pixels scaled to [-1, 1]).
 */
export interface Quantization {
  range: readonly [number, number];
  levels: number;
}

/**
 * The bits/dim convention (one for every model here):
 *
 *   dequantized data  y = lo + (hi − lo)·(k + u)/levels,  u ~ U(0, 1)^D      (bins of width Δ = (hi − lo)/levels)
 *   bits/dim          bpd = −(log p(y)/D + log Δ)/ln 2 = −log p(y)/(D ln 2) + log2(levels) − log2(hi − lo)
 *
 * log p(y) is the model's continuous density in data units (what the ODE integrates); +log Δ per
 * dimension is the Jacobian of the map from y to the unit-width bins of the integers k, so that
 * E_u[−log p(y)] − D log Δ bounds −log P(k) (Jensen) and bpd is a bound on the discrete model's
 * code length, comparable across data ranges. For levels = 256 and [-1, 1] the offset is 7 bits,
 * for [0, 1] 8 bits: score_sde's likelihood.py adds exactly 7 − inverse_scaler(−1) (7 for centered
 * data, 8 for [0, 1]) to the same −log p/(D ln 2) of data dequantized as (255·x + u)/256 in [0, 1]
 * and then scaled, which is this map for [lo, hi] = [0, 1] or [-1, 1]. So the figures compare
 * directly with theirs (theirs also average 5 dequantization draws per test image; here one draw,
 * address `repeat` of Stream.dequantization).
 */
export function bitsPerDimOffset(q: Quantization): number {
  const [lo, hi] = q.range;
  return log(q.levels) / LN2 - log(hi - lo) / LN2;
}

/** bpd per sample from log p(y) in nats of dequantized data (see bitsPerDimOffset). */
export function bitsPerDim(logp: Float64Array, dim: number, q: Quantization): Float64Array {
  const offset = bitsPerDimOffset(q);
  return logp.map((l) => -l / (dim * LN2) + offset);
}

/**
 * Uniform dequantization of n rows of dim values on the grid of q: each value's level k (which
 * must lie within 1e-3 of a level: else a ParameterError names the row and value) plus a uniform
 * draw from Stream.dequantization at address `repeat`, mapped back to the data range.
 */
export function dequantize(data: Float64Array, dim: number, q: Quantization, noise: NoiseSource, repeat = 0): Float64Array {
  const [lo, hi] = q.range;
  if (!(hi > lo)) throw new ParameterError(`dequantization range must have hi > lo, got [${lo}, ${hi}]`);
  if (!(Number.isInteger(q.levels) && q.levels >= 2)) throw new ParameterError(`dequantization levels must be an integer >= 2, got ${q.levels}`);
  const scale = (q.levels - 1) / (hi - lo);
  const bin = (hi - lo) / q.levels;
  const u = new Float64Array(data.length);
  noise.uniformElements(u, dim, repeat, Stream.dequantization);
  const out = new Float64Array(data.length);
  for (let j = 0; j < data.length; j++) {
    const level = (data[j] - lo) * scale;
    const k = round(level);
    if (!(abs(level - k) <= 1e-3 && k >= 0 && k < q.levels)) {
      throw new ParameterError(
        `data row ${Math.floor(j / dim)} value ${data[j]} is not one of the ${q.levels} levels of [${lo}, ${hi}] ` +
          `(lo + (hi − lo)·k/${q.levels - 1}); the data must be quantized in the card's dataRange to dequantize it (or turn dequantization off)`,
      );
    }
    out[j] = lo + (k + u[j]) * bin;
  }
  return out;
}
