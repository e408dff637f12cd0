import { SDE } from '../../sdes/sde';
import { ParameterError } from '../../core/errors';
import { TIME_CONVENTIONS, TimeConvention } from '../card';
import { float16Bits } from './float16';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { log, round } = Math;
const toBigInt = BigInt;
/** int64 time inputs are written as two int32 words (no BigInt per element) on little-endian hosts. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Where a network's time input goes: onnxruntime's typed array for the input's element type. */
export type TimeBuffer = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint16Array;
/** Element type of a time input; 'float16' is written as bit patterns into a Uint16Array. */
export type TimeInputType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32';

/**
 * The network's time input for continuous t under each convention (see TIME_CONVENTIONS in
 * ../card.ts for the definitions):
 *   t            t
 *   t999         999·t
 *   sigma        sde.std(t)
 *   timestep     round(t/T·(timesteps − 1)), clamped to [0, timesteps − 1]
 *   edm_c_noise  ¼·ln(std(t)/meanCoef(t))
 */
export function timeInputValue(convention: TimeConvention, sde: SDE, t: number, timesteps?: number): number {
  switch (convention) {
    case 't':
      return t;
    case 't999':
      return 999 * t;
    case 'sigma':
      return sde.std(t);
    case 'timestep': {
      const last = requireTimesteps(timesteps) - 1;
      const k = round(t * (last / sde.T));
      return k < 0 ? 0 : k > last ? last : k;
    }
    case 'edm_c_noise':
      return 0.25 * log(sde.std(t) / sde.meanCoef(t));
    default:
      throw new ParameterError(
        `unknown time convention '${String(convention)}': expected one of ${TIME_CONVENTIONS.join(', ')}`,
      );
  }
}

function requireTimesteps(timesteps: number | undefined): number {
  if (timesteps === undefined || !(Number.isInteger(timesteps) && timesteps >= 2)) {
    throw new ParameterError(`time convention 'timestep' needs timesteps (an integer >= 2), got ${timesteps}`);
  }
  return timesteps;
}

/**
 * Writes the time inputs of t[start .. start+count) into dst[0 .. count), converted to dst's
 * element type (integers for int64/int32, half bit patterns for float16). One branch per call,
 * one loop per element.
 */
export function fillTimeInput(
  convention: TimeConvention,
  sde: SDE,
  t: Float64Array,
  start: number,
  count: number,
  dst: TimeBuffer,
  type: TimeInputType,
  timesteps?: number,
): void {
  const last = convention === 'timestep' ? requireTimesteps(timesteps) - 1 : 0;
  const scale = last / sde.T;
  if (!TIME_CONVENTIONS.includes(convention)) timeInputValue(convention, sde, 0, timesteps); // throws
  const words = type === 'int64' && LITTLE_ENDIAN ? new Int32Array(dst.buffer, dst.byteOffset, 2 * count) : undefined;
  for (let i = 0; i < count; i++) {
    const ti = t[start + i];
    let v: number;
    if (convention === 't') v = ti;
    else if (convention === 't999') v = 999 * ti;
    else if (convention === 'sigma') v = sde.std(ti);
    else if (convention === 'edm_c_noise') v = 0.25 * log(sde.std(ti) / sde.meanCoef(ti));
    else {
      v = round(ti * scale);
      if (v < 0) v = 0;
      else if (v > last) v = last;
    }
    if (type === 'float32' || type === 'float64' || type === 'int32') (dst as Float32Array)[i] = v;
    else if (words !== undefined && v >= -2147483648 && v <= 2147483647) {
      words[2 * i] = v;
      words[2 * i + 1] = v < 0 ? -1 : 0;
    } else if (type === 'int64') (dst as BigInt64Array)[i] = toBigInt(round(v));
    else (dst as Uint16Array)[i] = float16Bits(v);
  }
}

/** Whether the convention yields integers (an int64/int32 time input only makes sense for these). */
export function isIntegerConvention(convention: TimeConvention): boolean {
  return convention === 'timestep';
}
