import { philox4x32 } from './philox';

/**
 * Standard normal draws from Philox output by the ziggurat method (Marsaglia & Tsang 2000, with
 * Doornik's 2005 remark applied: the layer index, the sign and the position come from disjoint
 * bits). One uint32 per draw: bits 0–7 pick one of 256 layers of equal area, bit 8 the sign,
 * bits 9–31 a 23-bit uniform position. About 99.3% of draws are accepted on that word alone
 * with one multiply; the rest (wedges, the tail beyond R) take fresh words from a fallback
 * Philox stream keyed by the draw's own element index (key bits 56–63 = fallback round), so
 * every draw still depends only on its own address: batch invariance is kept.
 * It replaced Box–Muller (two logs, two roots and four trig calls per four draws), which was
 * most of the stochastic samplers' overhead.
 */

const LAYERS = 256;
/** Where the base layer's rectangle ends and the tail begins, and the area of each layer. */
export const ZIGGURAT_R = 3.6541528853610088;
export const ZIGGURAT_V = 0.00492867323399;

const density = (x: number) => Math.exp(-0.5 * x * x);

/**
 * X[k]: right edge of layer k (X[0] = V/f(R) is the base layer's width with the tail folded in,
 * X[1] = R, X[256] = 0); F[k] = f(X[k]). Layer k ≥ 1 is [0, X[k]] × [F[k], F[k+1]].
 */
export const ZIGGURAT_X = new Float64Array(LAYERS + 1);
export const ZIGGURAT_F = new Float64Array(LAYERS + 1);
ZIGGURAT_X[0] = ZIGGURAT_V / density(ZIGGURAT_R);
ZIGGURAT_X[1] = ZIGGURAT_R;
for (let k = 1; k < LAYERS - 1; k++) {
  ZIGGURAT_X[k + 1] = Math.sqrt(-2 * Math.log(density(ZIGGURAT_X[k]) + ZIGGURAT_V / ZIGGURAT_X[k]));
}
ZIGGURAT_X[LAYERS] = 0;
for (let k = 0; k <= LAYERS; k++) ZIGGURAT_F[k] = density(ZIGGURAT_X[k]);

const POSITION_SCALE = 2 ** -23;
/** A position word below ACCEPT[k] lies in layer k's core, under the curve: accept at once. */
const ACCEPT = new Uint32Array(LAYERS);
/** X[k]·2^-23: the position word times this is the draw's magnitude. */
const WIDTH = new Float64Array(LAYERS);
for (let k = 0; k < LAYERS; k++) {
  ACCEPT[k] = Math.ceil((ZIGGURAT_X[k + 1] / ZIGGURAT_X[k]) * 2 ** 23);
  WIDTH[k] = ZIGGURAT_X[k] * POSITION_SCALE;
}

const INV_2_32 = 1 / 4294967296;
const block = new Uint32Array(4);
const spare = new Uint32Array(4);

/**
 * Fills out with N(0, 1) draws for the global elements begin … begin + out.length − 1 at
 * (stream, aux, address a0/a1) under key (k0, k1): element e takes word e mod 4 of the Philox
 * block counter (⌊e/4⌋, stream/aux, a0, a1) — see ./streams.ts.
 */
export function fillNormal(out: Float64Array, begin: number, k0: number, k1: number, stream: number, aux: number, a0: number, a1: number): void {
  const tag = (aux << 16) | (stream << 24);
  const end = begin + out.length;
  for (let blk = Math.floor(begin / 4), last = Math.floor((end - 1) / 4); blk <= last; blk++) {
    philox4x32(blk >>> 0, (Math.floor(blk / 4294967296) & 0xffff) | tag, a0, a1, k0, k1, block);
    const e0 = blk * 4;
    const from = e0 < begin ? begin - e0 : 0;
    const to = e0 + 4 > end ? end - e0 : 4;
    for (let w = from; w < to; w++) {
      const u = block[w];
      const k = u & 0xff;
      const pos = u >>> 9;
      let z: number;
      if (pos < ACCEPT[k]) z = pos * WIDTH[k];
      else z = slowDraw(u, e0 + w, k0, k1, tag, a0, a1);
      out[e0 + w - begin] = u & 0x100 ? -z : z;
    }
  }
}

/**
 * The rare draws outside a layer's core: the wedge test (k ≥ 1), the tail beyond R (k = 0), and
 * fresh attempts after a rejection, all from fallback words of this element alone. Returns |z|.
 */
function slowDraw(u: number, element: number, k0: number, k1: number, tag: number, a0: number, a1: number): number {
  let round = 0;
  let next = 4;
  const word = (): number => {
    if (next === 4) {
      round++;
      philox4x32(element >>> 0, (Math.floor(element / 4294967296) & 0xffff) | tag, a0, a1, k0, (k1 | (round << 24)) >>> 0, spare);
      next = 0;
    }
    return spare[next++];
  };
  for (;;) {
    const k = u & 0xff;
    const pos = u >>> 9;
    if (pos < ACCEPT[k]) return pos * WIDTH[k];
    if (k === 0) {
      // Marsaglia's tail: x = −ln(U1)/R, y = −ln(U2), accepted when 2y > x²; U in (0, 1].
      for (;;) {
        const x = -Math.log((word() + 0.5) * INV_2_32) / ZIGGURAT_R;
        const y = -Math.log((word() + 0.5) * INV_2_32);
        if (2 * y > x * x) return ZIGGURAT_R + x;
      }
    }
    const x = pos * WIDTH[k];
    const y = ZIGGURAT_F[k] + word() * INV_2_32 * (ZIGGURAT_F[k + 1] - ZIGGURAT_F[k]);
    if (y < density(x)) return x;
    u = word(); // rejected: a fresh layer and position (the sign bit of the first word stays)
  }
}
