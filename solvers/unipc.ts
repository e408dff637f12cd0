import { z } from 'zod';
import { defineSolver } from './solver';
import { denoiseToZeroSetting, epsSetting, gridSettingsFor, nfeSetting, solverSettings, stepsSetting } from './settings';
import { Thresholder, thresholdingSettings } from './thresholding';
import { combine, denoiseToZero, evaluationsWith, expStep, ExpStep, History, lowerOrderFinalSetting, nodeAt, Predictions, psi, stepOrder } from './exponential';

const settings = solverSettings({
  ...stepsSetting,
  ...nfeSetting,
  ...epsSetting,
  ...gridSettingsFor('logsnr', "equal steps in λ, UniPC's choice for score_sde's CIFAR-10 models (its paper uses uniform in t for latent ones)."),
  order: z
    .union([z.literal(1), z.literal(2), z.literal(3)])
    .default(3)
    .describe('Order of the predictor UniP (its corrector UniC adds one). Default 3, UniPC\'s choice for unconditional sampling (2 for guided).'),
  variant: z
    .enum(['bh1', 'bh2'])
    .default('bh1')
    .describe("B(h) of the update: 'bh1' B(h) = h (UniPC's choice for unconditional sampling), 'bh2' B(h) = e^h − 1 (for guided sampling; order 2 then equals DPM-Solver++(2M))."),
  corrector: z
    .boolean()
    .default(true)
    .describe('UniC: correct each step with the evaluation at its end, which the next step needs anyway (no extra evaluation; none after the last step).'),
  prediction: z
    .enum(['x0', 'eps'])
    .default('x0')
    .describe("What the updates extrapolate: 'x0' the data prediction (default, as UniPC for pixel models; thresholding needs it) or 'eps' the noise prediction."),
  ...lowerOrderFinalSetting,
  ...denoiseToZeroSetting(false, 'the grid ends at eps, as UniPC.'),
  ...thresholdingSettings,
}).superRefine((v, ctx) => {
  if (v.thresholding && v.prediction !== 'x0') ctx.addIssue({ code: 'custom', path: ['thresholding'], message: "thresholding clips x̂_0: it needs prediction: 'x0'" });
});

/**
 * UniPC (Zhao et al. 2023): a multistep predictor UniP of order p from the last p predictions
 * m₀ (at s), m_k (at λ_k, r_k = (λ_k − λ_s)/h < 0) and a corrector UniC that reuses the next
 * step's evaluation m_t at the predicted x_t to raise the order by one, for free. With
 * D_k = (m_k − m₀)/r_k and the exact part x̃ = A x_s − scale·ψ₁(hh)·m₀ (./exponential.ts):
 *   UniP: x_t = x̃ − scale·B(h)·Σ_{k<p} ρ_k D_k,   ρ from R_{p−1} ρ = b (ρ = ½ for p = 2)
 *   UniC: x_t = x̃ − scale·B(h)·(Σ_{k<p} ρᶜ_k D_k + ρᶜ_p (m_t − m₀)),  Rᶜ ρᶜ = b (ρᶜ = ½ for p = 1)
 * with R_{ij} = r_j^{i−1} (r_p = 1), b_i = i!·ψ_{i+1}(hh)/B(h) and B(h) = hh ('bh1') or e^{hh} − 1
 * ('bh2'). One evaluation per step (the first at T, then one at each predicted x_t but the last).
 */
export const unipc = defineSolver({
  name: 'unipc',
  family: 'ode',
  summary: 'UniPC: multistep predictor UniP with the free corrector UniC (orders 1–3, B(h) bh1/bh2; 1 evaluation per step)',
  adaptive: false,
  budget: ['steps', 'nfe'],
  settings,
  evaluations: (steps, st) => evaluationsWith(1, steps, st),
  async run(ctx, st) {
    const { x, grid, sde } = ctx;
    const thresholder = Thresholder.for(ctx, st, 'unipc');
    const preds = new Predictions(ctx, st.prediction, thresholder);
    const history = new History(st.order + 1, x.length);
    const predicted = new Float64Array(x.length);
    const steps = grid.length - 1;
    await preds.at(x, grid[0], history.slot());
    history.push(sde.lambda(grid[0]));
    for (let i = 0; i < steps; i++) {
      const s = nodeAt(sde, grid[i]);
      const t = nodeAt(sde, grid[i + 1]);
      const p = stepOrder(i, steps, st.order, st.lowerOrderFinal);
      const step = expStep(st.prediction, s, t);
      const B = st.variant === 'bh1' ? step.hh : psi(1, step.hh);
      const r = Array.from({ length: p - 1 }, (_, k) => (history.lambda(k + 1) - s.lambda) / step.h);
      const b = Array.from({ length: p }, (_, k) => (FACTORIALS[k + 1] * psi(k + 2, step.hh)) / B);
      const ms = Array.from({ length: p }, (_, k) => history.m(k));
      // Predictor: ρ over the p − 1 differences.
      const rho = p === 1 ? [] : p === 2 ? [0.5] : solve(powers(r, p - 1), b.slice(0, p - 1));
      combine(predicted, step.A, x, update(step, B, r, rho), ms);
      if (i + 1 === steps) {
        x.set(predicted);
      } else {
        await preds.at(predicted, t.t, history.slot());
        if (st.corrector) {
          const rhoC = p === 1 ? [0.5] : solve(powers([...r, 1], p), b);
          combine(x, step.A, x, update(step, B, [...r, 1], rhoC), [...ms, history.slot()]);
        } else {
          x.set(predicted);
        }
        history.push(t.lambda);
      }
      ctx.stepDone(i, t.t, ...preds.denoised());
    }
    if (st.denoiseToZero) await denoiseToZero(ctx, steps, thresholder);
  },
});

const FACTORIALS = [1, 1, 2, 6, 24];

/**
 * Coefficients over (m₀, m_1 … m_k) of x̃ − scale·B·Σ_k ρ_k (m_k − m₀)/r_k (without A·x), where
 * the k-th difference's point is the k-th entry after m₀ (the last one m_t for the corrector).
 */
function update(step: ExpStep, B: number, r: readonly number[], rho: readonly number[]): number[] {
  const w = -step.scale * B;
  const c = [-step.scale * psi(1, step.hh)];
  for (let k = 0; k < rho.length; k++) {
    const ck = (w * rho[k]) / r[k];
    c[0] -= ck;
    c.push(ck);
  }
  return c;
}

/** The Vandermonde-type matrix R_{ij} = r_j^i, i, j < size. */
function powers(r: readonly number[], size: number): number[][] {
  return Array.from({ length: size }, (_, i) => r.slice(0, size).map((v) => v ** i));
}

/** Solves a small dense system by Gaussian elimination with partial pivoting (size ≤ 3). */
function solve(a: number[][], b: readonly number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++) if (Math.abs(m[row][col]) > Math.abs(m[pivot][col])) pivot = row;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let row = col + 1; row < n; row++) {
      const f = m[row][col] / m[col][col];
      for (let k = col; k <= n; k++) m[row][k] -= f * m[col][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let row = n - 1; row >= 0; row--) {
    let sum = m[row][n];
    for (let k = row + 1; k < n; k++) sum -= m[row][k] * x[k];
    x[row] = sum / m[row][row];
  }
  return x;
}
