import { ActiveRows } from './active-rows';
import { ControllerSettings, initialSteps, nextStep, rmsNorms } from './controller';
import { Stages, VectorField, attemptStep, errorSquares } from './step';

export type { VectorField } from './step';
export type { ControllerSettings } from './controller';

export interface Rk45Problem {
  /** n rows of `width` values: the state at t0 on entry, the solution at t1 on return. */
  y: Float64Array;
  n: number;
  width: number;
  t0: number;
  t1: number;
  /** dy/dt for the active rows (a compacted view of them, each row at its own time). */
  field: VectorField;
}

export interface Rk45Options extends ControllerSettings {
  /** Attempted steps per row before giving up. */
  maxSteps: number;
  /** First step size |h|; default: Hairer's rule (one extra field call). */
  h0?: number;
  /** Smallest step size |h| before giving up; default 1e-10·|t0|. */
  hMin?: number;
  /** Name used in errors (e.g. the solver's). */
  label?: string;
  /** After each iteration (one attempt per active row): the time every row has reached. */
  onIteration?(iteration: number, tReached: number): void;
}

export interface Rk45Stats {
  iterations: number;
  /** Field calls and per-row evaluations (sum of the calls' row counts). */
  calls: number;
  evaluations: number;
}

/**
 * Adaptive Dormand–Prince 5(4) from t0 to t1 (either direction) with a step size per row: each
 * row has its own t and h, so with norm 'sample' a row's path never depends on the others; the
 * still-active rows advance one attempt per iteration in one batched call holding only them.
 * 6 field calls per iteration (FSAL), plus 1 at the start and 1 for Hairer's initial step.
 */
export async function integrateRk45(p: Rk45Problem, o: Rk45Options): Promise<Rk45Stats> {
  const { y, n, width, t0, t1 } = p;
  const label = o.label ?? 'rk45';
  const span = Math.abs(t1 - t0);
  const dir = t1 < t0 ? -1 : 1;
  const hMin = o.hMin ?? 1e-10 * Math.abs(t0);
  const stats: Rk45Stats = { iterations: 0, calls: 0, evaluations: 0 };
  const field: VectorField = (ys, ts, out, ids) => {
    stats.calls++;
    stats.evaluations += ts.length;
    return p.field(ys, ts, out, ids);
  };
  // Accepted states live in y (row idx[r]); stage buffers hold the compacted active rows.
  const rows = new ActiveRows(n, t0);
  const st = new Stages(n, width);
  const sq = new Float64Array(n);
  await field(y, rows.t, st.k[0], rows.idx);
  if (o.h0 !== undefined) rows.h.fill(dir * Math.min(o.h0, span));
  else await initialSteps(rows, y, field, st, t0, dir, span, o);

  while (rows.m > 0) {
    proposeAttempts(rows, t1, hMin, o.maxSteps, label);
    await attemptStep(rows, y, field, st);
    errorSquares(rows, y, st, o.atol, o.rtol, sq);
    rmsNorms(sq, rows.m, width, o.norm);
    acceptOrReject(rows, y, st, sq, o);
    const tReached = rows.compact(t1, dir, st.k[0], width);
    o.onIteration?.(stats.iterations, tReached);
    stats.iterations++;
  }
  return stats;
}

/** Sets each row's attempted step hs (landing exactly on t1 when close) after the give-up checks. */
function proposeAttempts(rows: ActiveRows, t1: number, hMin: number, maxSteps: number, label: string): void {
  const { m, idx, t, h, hs, tNew, attempts } = rows;
  for (let r = 0; r < m; r++) {
    const hr = h[r];
    if (Math.abs(hr) < hMin) {
      throw new Error(`solver '${label}': step size ${Math.abs(hr)} fell below hMin=${hMin} at t=${t[r]} (sample ${idx[r]}); loosen rtol/atol or lower hMin`);
    }
    if (++attempts[r] > maxSteps) {
      throw new Error(
        `solver '${label}': sample ${idx[r]} took more than maxSteps=${maxSteps} steps and stopped at t=${t[r]} before ${t1}; loosen rtol/atol or raise maxSteps`,
      );
    }
    // Land exactly on t1, and don't leave a sliver of less than 1% of a step before it.
    const rest = t1 - t[r];
    const last = 1.01 * Math.abs(hr) >= Math.abs(rest);
    hs[r] = last ? rest : hr;
    tNew[r] = last ? t1 : t[r] + hr;
  }
}

/** Accepted rows take the 5th-order solution and its slope (FSAL); every row gets its next h. */
function acceptOrReject(rows: ActiveRows, y: Float64Array, st: Stages, err: Float64Array, c: ControllerSettings): void {
  const { m, idx, t, h, hs, tNew, rejected } = rows;
  const width = st.width;
  const { ys } = st;
  const k1 = st.k[0];
  const k7 = st.k[st.k.length - 1];
  for (let r = 0; r < m; r++) {
    const e = err[r];
    h[r] = nextStep(hs[r], e, rejected[r] === 1, c);
    if (e <= 1) {
      for (let j = r * width, yj = idx[r] * width, end = j + width; j < end; j++, yj++) {
        y[yj] = ys[j];
        k1[j] = k7[j];
      }
      t[r] = tNew[r];
      rejected[r] = 0;
    } else {
      rejected[r] = 1;
    }
  }
}
