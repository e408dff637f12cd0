import { z } from 'zod';
import { defineSolver } from './solver';
import { denoiseToZeroSetting, epsSetting, gridSettingsFor, nfeSetting, solverSettings, stepsSetting } from './settings';
import { combine, denoiseToZero, evaluationsWith, expStep, nodeAt, nodeAtLambda, Predictions, psi } from './exponential';

const settings = solverSettings({
  ...stepsSetting,
  ...nfeSetting,
  ...epsSetting,
  ...gridSettingsFor('logsnr', 'equal steps in λ, as DPM-Solver for pixel-space models.'),
  order: z
    .union([z.literal(2), z.literal(3)])
    .default(3)
    .describe('Order of each step: 2 (DPM-Solver-2, midpoint r₁ = 1/2, 2 evaluations per step) or 3 (DPM-Solver-3, r₁ = 1/3, r₂ = 2/3, 3 evaluations per step). Default 3, the paper\'s choice for unconditional sampling.'),
  ...denoiseToZeroSetting(false, 'the grid ends at eps, as DPM-Solver.'),
});

/**
 * Singlestep DPM-Solver (Lu et al. 2022, Algorithms 1 and 2) on the noise prediction ε̂: each step
 * from s to t (h = λ_t − λ_s) evaluates ε̂ at s and at intermediate points s_k with
 * λ(s_k) = λ_s + r_k·h (times from the SDE's closed-form t(λ)), writing u(s→r) for the step
 * x_r = (α_r/α_s)x_s − σ_r(e^{r h} − 1)ε̂_s (DDIM):
 *   order 2: u₁ = u(s→s₁);  x_t = u(s→t) − σ_t(e^h − 1)/(2r₁)·(ε̂(u₁, s₁) − ε̂_s)
 *   order 3: u₁ = u(s→s₁);  u₂ = u(s→s₂) − σ_{s₂}(r₂/r₁)ψ₂(r₂h)·(ε̂(u₁, s₁) − ε̂_s);
 *            x_t = u(s→t) − (σ_t/r₂)ψ₂(h)·(ε̂(u₂, s₂) − ε̂_s),  ψ₂(z) = (e^z − 1)/z − 1.
 * `steps` counts outer steps: order × steps evaluations.
 */
export const dpmSolver = defineSolver({
  name: 'dpm_solver',
  family: 'ode',
  summary: 'Singlestep DPM-Solver-2/3 on the noise prediction (order 2 or 3; 2 or 3 evaluations per step)',
  adaptive: false,
  budget: ['steps', 'nfe'],
  settings,
  evaluations: (steps, st) => evaluationsWith(st.order, steps, st),
  async run(ctx, st) {
    const { x, grid, sde } = ctx;
    const preds = new Predictions(ctx, 'eps');
    const e0 = new Float64Array(x.length);
    const e1 = new Float64Array(x.length);
    const e2 = new Float64Array(x.length);
    const u = new Float64Array(x.length);
    const [r1, r2] = st.order === 2 ? [0.5, 1] : [1 / 3, 2 / 3];
    const steps = grid.length - 1;
    for (let i = 0; i < steps; i++) {
      const s = nodeAt(sde, grid[i]);
      const t = nodeAt(sde, grid[i + 1]);
      const h = t.lambda - s.lambda;
      await preds.at(x, s.t, e0);
      // u₁ = DDIM from s to s₁.
      const s1 = nodeAtLambda(sde, s.lambda + r1 * h);
      const step1 = expStep('eps', s, s1);
      combine(u, step1.A, x, [-step1.scale * psi(1, step1.hh)], [e0]);
      await preds.at(u, s1.t, e1, false);
      const full = expStep('eps', s, t);
      const c0 = -full.scale * psi(1, h);
      if (st.order === 2) {
        // ε̂ difference D = e1 − e0: x_t = A x + c0·e0 − σ_t ψ₁(h)/(2r₁)·(e1 − e0).
        const c = c0 / (2 * r1);
        combine(x, full.A, x, [c0 - c, c], [e0, e1]);
      } else {
        const s2 = nodeAtLambda(sde, s.lambda + r2 * h);
        const step2 = expStep('eps', s, s2);
        const d = -step2.scale * (r2 / r1) * psi(2, r2 * h);
        combine(u, step2.A, x, [-step2.scale * psi(1, r2 * h) - d, d], [e0, e1]);
        await preds.at(u, s2.t, e2, false);
        const c = (-full.scale * psi(2, h)) / r2;
        combine(x, full.A, x, [c0 - c, c], [e0, e2]);
      }
      ctx.stepDone(i, t.t, ...preds.denoised());
    }
    if (st.denoiseToZero) await denoiseToZero(ctx, steps);
  },
});
