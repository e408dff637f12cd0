/**
 * IEEE 754 half precision ↔ float32/float64 for float16 ONNX models, whose tensors onnxruntime
 * takes and gives as raw bit patterns in a Uint16Array. Float→half rounds to nearest, ties to
 * even, overflows to ±Infinity and keeps NaN; half→float is exact (a 64 K-entry table).
 */

// One shared scratch word: a float32's bits without allocation.
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** The half-precision bit pattern nearest to v (which is first rounded to float32). */
export function float16Bits(v: number): number {
  F32[0] = v;
  const x = U32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // Inf, NaN
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    // Subnormal half (or zero): value = m · 2^-24 with m = (1.mant) >> (14 − e).
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) !== 0)) h++;
    return sign | h;
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to Infinity).
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++;
  return h;
}

let table: Float32Array | undefined;

/** Half bit pattern → value, through a table built on first use (256 KiB). */
export function float16Table(): Float32Array {
  if (table) return table;
  const tab = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) !== 0 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) tab[h] = sign * m * 5.960464477539063e-8; // 2^-24
    else if (e === 0x1f) tab[h] = m !== 0 ? NaN : sign * Infinity;
    else tab[h] = sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  table = tab;
  return tab;
}

export function float16Value(bits: number): number {
  return float16Table()[bits & 0xffff];
}

/** dst[j] = half(src[offset + j]) for j < count. */
export function toFloat16(src: ArrayLike<number>, offset: number, count: number, dst: Uint16Array): void {
  for (let j = 0; j < count; j++) dst[j] = float16Bits(src[offset + j]);
}

/** dst[j] = value of src[j] for j < count. */
export function fromFloat16(src: Uint16Array, count: number, dst: Float32Array | Float64Array): void {
  const tab = float16Table();
  for (let j = 0; j < count; j++) dst[j] = tab[src[j]];
}
