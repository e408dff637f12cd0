import { z } from 'zod';
import { probabilityFlowODE } from '../sdes/reverse';
import { SolverDefinition, commonSettingsSchema, normSchema } from './solver';

// Module-level aliases: inside vm contexts (jest) every global lookup is ~50x slower.
const { abs, max, min, pow, sqrt } = Math;
const INF = Infinity;

const settings = commonSettingsSchema
  .extend({
    /** Relative and absolute tolerance of the local error, per coordinate. */
    rtol: z.number().positive().default(1e-5),
    atol: z.number().positive().default(1e-5),
    /** Step size per sample (batch-invariant) or one for the batch (RMS error over all samples). */
    norm: normSchema,
    /** Step-size control: h ← h·min(facMax, max(facMin, safety·err^(−1/5))). */
    safety: z.number().positive().max(1).default(0.9),
    facMin: z.number().positive().max(1).default(0.2),
    facMax: z.number().min(1).default(10),
    /** Attempted steps per sample before giving up. */
    maxSteps: z.number().int().positive().default(100000),
    /** First step size |h|; default: Hairer's rule (one extra evaluation). */
    h0: z.number().positive().optional(),
    /** Smallest step size |h| before giving up; default 1e-10·T. */
    hMin: z.number().positive().optional(),
  })
  .strict();

// Dormand–Prince 5(4) (Dormand & Prince 1980). Row 7 equals the 5th-order weights, so the 7th stage
// is the slope at the new point: the first stage of the next step (FSAL).
const C2 = 1 / 5, C3 = 3 / 10, C4 = 4 / 5, C5 = 8 / 9;
const A21 = 1 / 5;
const A31 = 3 / 40, A32 = 9 / 40;
const A41 = 44 / 45, A42 = -56 / 15, A43 = 32 / 9;
const A51 = 19372 / 6561, A52 = -25360 / 2187, A53 = 64448 / 6561, A54 = -212 / 729;
const A61 = 9017 / 3168, A62 = -355 / 33, A63 = 46732 / 5247, A64 = 49 / 176, A65 = -5103 / 18656;
const B1 = 35 / 384, B3 = 500 / 1113, B4 = 125 / 192, B5 = -2187 / 6784, B6 = 11 / 84;
/** 5th- minus embedded 4th-order weights: the local error estimate is h·Σ E_j k_j. */
const E1 = 71 / 57600, E3 = -71 / 16695, E4 = 71 / 1920, E5 = -17253 / 339200, E6 = 22 / 525, E7 = -1 / 40;

/**
 * Adaptive Dormand–Prince 5(4) on the probability-flow ODE, from T down to eps (the grid's ends;
 * its interior is ignored). With the per-sample norm every sample has its own t and h, so a
 * sample's path never depends on its batch-mates; still-active samples advance one attempt per
 * iteration in one batched call holding only them (finished samples cost nothing). 6 evaluations
 * per attempted step (FSAL), plus 1 at the start and 1 for the initial-step probe.
 */
export const odeRk45: SolverDefinition<z.infer<typeof settings>> = {
  name: 'ode_rk45',
  family: 'ode',
  summary: 'Adaptive Dormand–Prince 5(4) on the probability-flow ODE (rtol/atol)',
  settings,
  async run(ctx, st) {
    const { x, n, dim, grid } = ctx;
    const flow = probabilityFlowODE(ctx.sde, ctx.model);
    const { rtol, atol, safety, facMin, facMax, maxSteps } = st;
    const t0 = grid[0];
    const tEnd = grid[grid.length - 1];
    const span = abs(tEnd - t0);
    const dir = tEnd < t0 ? -1 : 1;
    const hMin = st.hMin ?? 1e-10 * abs(t0);
    const perSample = st.norm === 'sample';
    const len = n * dim;

    // Rows are compact: row r is sample idx[r]; finished samples are squeezed out. Its accepted
    // state lives in x (so stepDone sees it); k1 holds its slope there (FSAL).
    const idx = new Int32Array(n);
    const t = new Float64Array(n);
    const h = new Float64Array(n); // proposed step, signed
    const hs = new Float64Array(n); // step attempted: h, or clipped to land exactly on eps
    const tNew = new Float64Array(n);
    const ts = new Float64Array(n); // stage times
    const sq = new Float64Array(n); // per-row sums of squares for the norms
    const sq2 = new Float64Array(n);
    const attempts = new Int32Array(n);
    const rejected = new Uint8Array(n);
    const ys = new Float64Array(len); // stage input; the 5th-order solution at stage 7
    const k1 = new Float64Array(len);
    const k2 = new Float64Array(len);
    const k3 = new Float64Array(len);
    const k4 = new Float64Array(len);
    const k5 = new Float64Array(len);
    const k6 = new Float64Array(len);
    const k7 = new Float64Array(len);
    for (let r = 0; r < n; r++) {
      idx[r] = r;
      t[r] = t0;
    }
    await flow.drift(x, t, k1);

    // Hairer's initial step (Hairer, Nørsett & Wanner, Solving ODEs I, II.4): an explicit Euler
    // probe estimates the second derivative so the first step is neither wasted nor rejected.
    if (st.h0 !== undefined) {
      h.fill(dir * min(st.h0, span));
    } else {
      for (let r = 0; r < n; r++) {
        let s0 = 0;
        let s1 = 0;
        for (let j = r * dim, end = j + dim; j < end; j++) {
          const sc = atol + rtol * abs(x[j]);
          s0 += (x[j] / sc) ** 2;
          s1 += (k1[j] / sc) ** 2;
        }
        sq[r] = s0;
        sq2[r] = s1;
      }
      const div0 = perSample ? dim : len;
      if (!perSample) {
        allSum(sq, n);
        allSum(sq2, n);
      }
      for (let r = 0; r < n; r++) {
        const d0 = sqrt(sq[r] / div0);
        const d1 = sqrt(sq2[r] / div0);
        const hp = min(d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1, span);
        hs[r] = hp;
        sq2[r] = d1;
        ts[r] = t0 + dir * hp;
        for (let j = r * dim, end = j + dim; j < end; j++) ys[j] = x[j] + dir * hp * k1[j];
      }
      await flow.drift(ys, ts, k2);
      for (let r = 0; r < n; r++) {
        let s2 = 0;
        for (let j = r * dim, end = j + dim; j < end; j++) {
          const sc = atol + rtol * abs(x[j]);
          s2 += ((k2[j] - k1[j]) / sc) ** 2;
        }
        sq[r] = s2;
      }
      if (!perSample) allSum(sq, n);
      for (let r = 0; r < n; r++) {
        const hp = hs[r];
        const d2 = sqrt(sq[r] / div0) / hp;
        const dm = max(sq2[r], d2);
        const h1 = dm <= 1e-15 ? max(1e-6, hp * 1e-3) : pow(0.01 / dm, 0.2);
        h[r] = dir * min(100 * hp, h1, span);
      }
    }

    let m = n;
    let v = views(m);
    for (let iter = 0; m > 0; iter++) {
      for (let r = 0; r < m; r++) {
        const hr = h[r];
        if (abs(hr) < hMin) {
          throw new Error(
            `solver 'ode_rk45': step size ${abs(hr)} fell below hMin=${hMin} at t=${t[r]} (sample ${idx[r]}); ` +
              'loosen rtol/atol or lower hMin',
          );
        }
        if (++attempts[r] > maxSteps) {
          throw new Error(
            `solver 'ode_rk45': sample ${idx[r]} took more than maxSteps=${maxSteps} steps and stopped at ` +
              `t=${t[r]} before eps=${tEnd}; loosen rtol/atol or raise maxSteps`,
          );
        }
        // Land exactly on eps, and don't leave a sliver of less than 1% of a step before it.
        const rest = tEnd - t[r];
        const last = 1.01 * abs(hr) >= abs(rest);
        hs[r] = last ? rest : hr;
        tNew[r] = last ? tEnd : t[r] + hr;
      }

      for (let r = 0; r < m; r++) {
        const hr = hs[r];
        ts[r] = t[r] + C2 * hr;
        for (let j = r * dim, y = idx[r] * dim, end = j + dim; j < end; j++, y++) {
          ys[j] = x[y] + hr * (A21 * k1[j]);
        }
      }
      await flow.drift(v.ys, v.ts, v.k2);
      for (let r = 0; r < m; r++) {
        const hr = hs[r];
        ts[r] = t[r] + C3 * hr;
        for (let j = r * dim, y = idx[r] * dim, end = j + dim; j < end; j++, y++) {
          ys[j] = x[y] + hr * (A31 * k1[j] + A32 * k2[j]);
        }
      }
      await flow.drift(v.ys, v.ts, v.k3);
      for (let r = 0; r < m; r++) {
        const hr = hs[r];
        ts[r] = t[r] + C4 * hr;
        for (let j = r * dim, y = idx[r] * dim, end = j + dim; j < end; j++, y++) {
          ys[j] = x[y] + hr * (A41 * k1[j] + A42 * k2[j] + A43 * k3[j]);
        }
      }
      await flow.drift(v.ys, v.ts, v.k4);
      for (let r = 0; r < m; r++) {
        const hr = hs[r];
        ts[r] = t[r] + C5 * hr;
        for (let j = r * dim, y = idx[r] * dim, end = j + dim; j < end; j++, y++) {
          ys[j] = x[y] + hr * (A51 * k1[j] + A52 * k2[j] + A53 * k3[j] + A54 * k4[j]);
        }
      }
      await flow.drift(v.ys, v.ts, v.k5);
      for (let r = 0; r < m; r++) {
        const hr = hs[r];
        ts[r] = tNew[r];
        for (let j = r * dim, y = idx[r] * dim, end = j + dim; j < end; j++, y++) {
          ys[j] = x[y] + hr * (A61 * k1[j] + A62 * k2[j] + A63 * k3[j] + A64 * k4[j] + A65 * k5[j]);
        }
      }
      await flow.drift(v.ys, v.ts, v.k6);
      for (let r = 0; r < m; r++) {
        const hr = hs[r];
        for (let j = r * dim, y = idx[r] * dim, end = j + dim; j < end; j++, y++) {
          ys[j] = x[y] + hr * (B1 * k1[j] + B3 * k3[j] + B4 * k4[j] + B5 * k5[j] + B6 * k6[j]);
        }
      }
      await flow.drift(v.ys, v.ts, v.k7);

      // Error: RMS of h·Σ E_j k_j scaled by atol + rtol·max(|y_old|, |y_new|).
      for (let r = 0; r < m; r++) {
        const hr = hs[r];
        let s = 0;
        for (let j = r * dim, y = idx[r] * dim, end = j + dim; j < end; j++, y++) {
          const e = hr * (E1 * k1[j] + E3 * k3[j] + E4 * k4[j] + E5 * k5[j] + E6 * k6[j] + E7 * k7[j]);
          const sc = atol + rtol * max(abs(x[y]), abs(ys[j]));
          s += (e / sc) ** 2;
        }
        sq[r] = s;
      }
      if (!perSample) allSum(sq, m);
      const div = perSample ? dim : m * dim;

      let w = 0;
      let tLag = tEnd;
      for (let r = 0; r < m; r++) {
        const err = sqrt(sq[r] / div);
        if (err <= 1) {
          for (let j = r * dim, y = idx[r] * dim, end = j + dim; j < end; j++, y++) {
            x[y] = ys[j];
            k1[j] = k7[j];
          }
          t[r] = tNew[r];
          // err = 0 gives an infinite factor, capped by facMax; no growth right after a rejection.
          h[r] = hs[r] * min(rejected[r] ? 1 : facMax, max(facMin, safety * pow(err, -0.2)));
          rejected[r] = 0;
        } else {
          // A non-finite error (overflow) shrinks by facMin; hMin ends it if it persists.
          h[r] = hs[r] * (err < INF ? max(facMin, safety * pow(err, -0.2)) : facMin);
          rejected[r] = 1;
        }
        if (t[r] === tEnd) continue;
        if (dir * (tLag - t[r]) > 0) tLag = t[r];
        if (w !== r) {
          idx[w] = idx[r];
          t[w] = t[r];
          h[w] = h[r];
          attempts[w] = attempts[r];
          rejected[w] = rejected[r];
          k1.copyWithin(w * dim, r * dim, (r + 1) * dim);
        }
        w++;
      }
      if (w !== m) {
        m = w;
        v = views(m);
      }
      // The time every sample has reached: the laggard's (eps once all are done).
      ctx.stepDone(iter, tLag);
    }

    /** Views of the first m rows for the batched calls; remade only when samples finish. */
    function views(m: number) {
      return {
        ys: ys.subarray(0, m * dim),
        ts: ts.subarray(0, m),
        k2: k2.subarray(0, m * dim),
        k3: k3.subarray(0, m * dim),
        k4: k4.subarray(0, m * dim),
        k5: k5.subarray(0, m * dim),
        k6: k6.subarray(0, m * dim),
        k7: k7.subarray(0, m * dim),
      };
    }
  },
};

/** Replaces a[0..m) by its sum in every entry: the batch norm gives every row the same step. */
function allSum(a: Float64Array, m: number): void {
  let s = 0;
  for (let r = 0; r < m; r++) s += a[r];
  for (let r = 0; r < m; r++) a[r] = s;
}
