import { ActiveRows } from './active-rows';
import { DOPRI5 } from './tableau';
import { Stages, VectorField } from './step';

export interface ControllerSettings {
  rtol: number;
  atol: number;
  /** Error norm per row (each sample its own step size) or one RMS over the whole batch. */
  norm: 'sample' | 'batch';
  /** h ← h·min(facMax, max(facMin, safety·err^(−1/5))). */
  safety: number;
  facMin: number;
  facMax: number;
}

/** Turns per-row sums of squares into RMS norms: per row, or the batch's RMS in every row. */
export function rmsNorms(sq: Float64Array, m: number, width: number, norm: 'sample' | 'batch'): void {
  if (norm === 'batch') {
    let total = 0;
    for (let r = 0; r < m; r++) total += sq[r];
    const rms = Math.sqrt(total / (m * width));
    for (let r = 0; r < m; r++) sq[r] = rms;
  } else {
    for (let r = 0; r < m; r++) sq[r] = Math.sqrt(sq[r] / width);
  }
}

/** The next proposed step after an attempt with scaled error err (≤ 1: accepted). */
export function nextStep(h: number, err: number, rejectedBefore: boolean, c: ControllerSettings): number {
  const grow = c.safety * Math.pow(err, -DOPRI5.errorExponent);
  // err = 0 gives an infinite factor, capped by facMax; no growth right after a rejection.
  if (err <= 1) return h * Math.min(rejectedBefore ? 1 : c.facMax, Math.max(c.facMin, grow));
  // A non-finite error (overflow) shrinks by facMin; hMin ends it if it persists.
  return h * (err < Infinity ? Math.max(c.facMin, grow) : c.facMin);
}

/**
 * Hairer's initial step (Hairer, Nørsett & Wanner, Solving ODEs I, II.4), per row: an explicit
 * Euler probe estimates the second derivative so the first step is neither wasted nor rejected.
 * Needs every row active (the start), k[0] = f(y, t0); costs one field call. Writes rows.h.
 */
export async function initialSteps(
  rows: ActiveRows,
  y: Float64Array,
  field: VectorField,
  st: Stages,
  t0: number,
  dir: number,
  span: number,
  c: ControllerSettings,
): Promise<void> {
  const { m, h } = rows;
  const width = st.width;
  const k1 = st.k[0];
  const { ys, ts } = st;
  const scale = (j: number) => c.atol + c.rtol * Math.abs(y[j]);
  const d0 = new Float64Array(m);
  const d1 = new Float64Array(m);
  const d2 = new Float64Array(m);
  const probe = new Float64Array(m);
  for (let r = 0; r < m; r++) {
    let s0 = 0;
    let s1 = 0;
    for (let j = r * width, end = j + width; j < end; j++) {
      s0 += (y[j] / scale(j)) ** 2;
      s1 += (k1[j] / scale(j)) ** 2;
    }
    d0[r] = s0;
    d1[r] = s1;
  }
  rmsNorms(d0, m, width, c.norm);
  rmsNorms(d1, m, width, c.norm);
  for (let r = 0; r < m; r++) {
    const hp = Math.min(d0[r] < 1e-5 || d1[r] < 1e-5 ? 1e-6 : (0.01 * d0[r]) / d1[r], span);
    probe[r] = hp;
    ts[r] = t0 + dir * hp;
    for (let j = r * width, end = j + width; j < end; j++) ys[j] = y[j] + dir * hp * k1[j];
  }
  const v = st.views(m);
  await field(v.ys, v.ts, v.k[1], rows.idx);
  const k2 = st.k[1];
  for (let r = 0; r < m; r++) {
    let s2 = 0;
    for (let j = r * width, end = j + width; j < end; j++) s2 += ((k2[j] - k1[j]) / scale(j)) ** 2;
    d2[r] = s2;
  }
  rmsNorms(d2, m, width, c.norm);
  for (let r = 0; r < m; r++) {
    const hp = probe[r];
    const dm = Math.max(d1[r], d2[r] / hp);
    const h1 = dm <= 1e-15 ? Math.max(1e-6, hp * 1e-3) : Math.pow(0.01 / dm, 0.2);
    h[r] = dir * Math.min(100 * hp, h1, span);
  }
}
