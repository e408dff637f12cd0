import { SolverContext } from './solver';
import { denoiseToZeroSetting, epsSetting, gridSettingsFor, nfeSetting, stepsSetting } from './settings';
import { thresholdingSettings } from './thresholding';
import { Thresholder, ThresholdingOptions } from './thresholding';
import { History, Node, Predictions, combine, denoiseToZero, lowerOrderFinalSetting, nodeAt, psi, stepOrder } from './exponential';

const { expm1, sqrt } = Math;

/** The settings dpmpp_2m, dpmpp_3m and dpmpp_2m_sde share. */
export const dpmppSettings = {
  ...stepsSetting,
  ...nfeSetting,
  ...epsSetting,
  ...gridSettingsFor('logsnr', 'equal steps in λ, as DPM-Solver++ for pixel-space models (it recommends uniform in t for latent and guided ones).'),
  ...lowerOrderFinalSetting,
  ...denoiseToZeroSetting(false, 'the grid ends at eps, as DPM-Solver++.'),
  ...thresholdingSettings,
};

/** What dpmpp_2m, dpmpp_3m and dpmpp_2m_sde run with. */
export interface DpmppOptions extends ThresholdingOptions {
  lowerOrderFinal: boolean;
  denoiseToZero: boolean;
}

/**
 * Multistep DPM-Solver++ (Lu et al. 2022b) on the data prediction x̂_0: each step from s to t
 * (h = λ_t − λ_s) evaluates x̂_0 once, at s, and extrapolates it along λ from the last `order`
 * predictions m₀ (at s), m₁, m₂ with r_k = (λ_{k−1} − λ_k)/h:
 *   order 1: x_t = (σ_t/σ_s)x_s − α_t ψ₁·m₀                          (DDIM)
 *   order 2: … − α_t ψ₁·D/2,  D = (m₀ − m₁)/r₁                       (DPM-Solver++(2M))
 *   order 3: … − α_t(ψ₂·D₁ + 2ψ₃·D₂) with D₁ ≈ h·x̂_0', D₂ ≈ h²·x̂_0''/2 from the three points
 * (ψ_k = ψ_k(−h), see ./exponential.ts). The factor 2 on ψ₃: D₂ is half the second derivative
 * term of the Taylor integral α_t h³ φ₃(−h) x̂_0''. (The reference code's 3M update has ψ₃·D₂,
 * which leaves the method second order; tests/solver-orders.test.ts measures both.)
 * SDE variant (η > 0, the 2M step; Lu et al. 2022b §5, k-diffusion's midpoint form):
 *   x_t = (σ_t/σ_s)e^{−ηh}x_s + α_t(1 − e^{−(1+η)h})(m₀ + D/2) + σ_t√(1 − e^{−2ηh})·z.
 */
export async function runDpmpp(ctx: SolverContext, name: string, order: 2 | 3, st: DpmppOptions, eta = 0, d2Factor = 2): Promise<void> {
  const { x, grid, sde } = ctx;
  const thresholder = Thresholder.for(ctx, st, name);
  const preds = new Predictions(ctx, 'x0', thresholder);
  const history = new History(order, x.length);
  const z = eta > 0 ? new Float64Array(x.length) : undefined;
  const steps = grid.length - 1;
  for (let i = 0; i < steps; i++) {
    const s = nodeAt(sde, grid[i]);
    const t = nodeAt(sde, grid[i + 1]);
    await preds.at(x, s.t, history.slot());
    history.push(s.lambda);
    const p = stepOrder(i, steps, order, st.lowerOrderFinal);
    const { A, c } = dpmppStep(s, t, p, history, eta, d2Factor);
    combine(x, A, x, c, c.map((_, k) => history.m(k)));
    if (z) {
      ctx.noise.increment(i, s.t, t.t, z);
      const C = t.sigma * sqrt(-expm1(-2 * eta * (t.lambda - s.lambda)));
      for (let j = 0; j < x.length; j++) x[j] += C * z[j];
    }
    ctx.stepDone(i, t.t, ...preds.denoised());
  }
  if (st.denoiseToZero) await denoiseToZero(ctx, steps, thresholder);
}

/** x_t = A·x_s + Σ_k c[k]·m_k for a step of order p (see runDpmpp). */
export function dpmppStep(s: Node, t: Node, p: number, history: History, eta: number, d2Factor: number): { A: number; c: number[] } {
  const h = t.lambda - s.lambda;
  if (eta > 0) {
    // The SDE step: first order, plus the midpoint correction for p = 2.
    const A = (t.sigma / s.sigma) * Math.exp(-eta * h);
    const w = -t.alpha * expm1(-(1 + eta) * h);
    if (p === 1) return { A, c: [w] };
    const r1 = (history.lambda(0) - history.lambda(1)) / h;
    return { A, c: [w + (0.5 * w) / r1, (-0.5 * w) / r1] };
  }
  const A = t.sigma / s.sigma;
  const c0 = -t.alpha * psi(1, -h);
  if (p === 1) return { A, c: [c0] };
  const r1 = (history.lambda(0) - history.lambda(1)) / h;
  if (p === 2) {
    const c = (0.5 * c0) / r1;
    return { A, c: [c0 + c, -c] };
  }
  // D1_0 = (m0 − m1)/r1, D1_1 = (m1 − m2)/r2; D₁ = D1_0 + r1/(r1 + r2)·(D1_0 − D1_1),
  // D₂ = (D1_0 − D1_1)/(r1 + r2): as coefficient vectors over (m0, m1, m2).
  const r2 = (history.lambda(1) - history.lambda(2)) / h;
  const d10 = [1 / r1, -1 / r1, 0];
  const d11 = [0, 1 / r2, -1 / r2];
  const diff = d10.map((v, k) => v - d11[k]);
  const D1 = d10.map((v, k) => v + (r1 / (r1 + r2)) * diff[k]);
  const D2 = diff.map((v) => v / (r1 + r2));
  const a2 = -t.alpha * psi(2, -h);
  const a3 = -d2Factor * t.alpha * psi(3, -h);
  return { A, c: [c0 + a2 * D1[0] + a3 * D2[0], a2 * D1[1] + a3 * D2[1], a2 * D1[2] + a3 * D2[2]] };
}
