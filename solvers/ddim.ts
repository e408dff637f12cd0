import { z } from 'zod';
import { defineSolver } from './solver';
import { denoiseToZeroSetting, epsSetting, gridSettingsFor, nfeSetting, noiseSetting, solverSettings, stepsSetting } from './settings';
import { thresholdingSettings, Thresholder } from './thresholding';
import { denoiseToZero, evaluationsWith, nodeAt, Predictions } from './exponential';

const { exp, expm1, log1p, sqrt } = Math;

const settings = solverSettings({
  ...stepsSetting,
  ...nfeSetting,
  ...epsSetting,
  ...gridSettingsFor('logsnr', 'equal steps in λ, the variable DDIM is the first-order exponential integrator in (DDIM itself used quadratic in t on CIFAR-10, uniform elsewhere).'),
  eta: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe('η: 0 the deterministic DDIM (first-order exponential integrator of the probability-flow ODE); 1 ancestral sampling (DDPM posterior); between, DDIM\'s σ_η = η·σ̃.'),
  ...noiseSetting,
  ...denoiseToZeroSetting(false, 'the grid ends at eps, as DDIM.'),
  ...thresholdingSettings,
});

/**
 * DDIM (Song, Meng & Ermon 2021) for any kernel x_t = α x_0 + σ ε, from s to t with h = λ_t − λ_s:
 *   x_t = α_t x̂_0 + √(σ_t² − c²)·ε̂ + c·z,  ε̂ = (x_s − α_s x̂_0)/σ_s,  c = η σ_t √(1 − e^{−2h})
 * where σ_t²(1 − e^{−2h}) is the variance of q(x_t | x_s, x_0) (η = 1: ancestral sampling). In
 * terms of x_s and x̂_0, with κ = √(1 − η²(1 − e^{−2h})):
 *   x_t = κ(σ_t/σ_s)·x_s + α_t(1 − κe^{−h})·x̂_0 + c·z
 * η = 0 is x_t = (σ_t/σ_s)x_s − α_t(e^{−h} − 1)x̂_0, DPM-Solver-1. One evaluation per step; the
 * noise is the step's standardized Brownian increment (ctx.noise).
 */
export const ddim = defineSolver({
  name: 'ddim',
  family: 'ode',
  summary: 'DDIM: first-order exponential integrator (η = 0), stochastic for η > 0 (1 evaluation per step)',
  adaptive: false,
  budget: ['steps', 'nfe'],
  settings,
  evaluations: (steps, st) => evaluationsWith(1, steps, st),
  async run(ctx, st) {
    const { x, grid, sde } = ctx;
    const thresholder = Thresholder.for(ctx, st, 'ddim');
    const preds = new Predictions(ctx, 'x0', thresholder);
    const x0 = new Float64Array(x.length);
    const z = st.eta > 0 ? new Float64Array(x.length) : undefined;
    const steps = grid.length - 1;
    for (let i = 0; i < steps; i++) {
      const s = nodeAt(sde, grid[i]);
      const t = nodeAt(sde, grid[i + 1]);
      await preds.at(x, s.t, x0);
      const h = t.lambda - s.lambda;
      // 1 − e^{−2h} and log κ without cancellation for small h.
      const lost = -expm1(-2 * h);
      const logKappa = 0.5 * log1p(-st.eta * st.eta * lost);
      const A = exp(logKappa) * (t.sigma / s.sigma);
      const B = -t.alpha * expm1(logKappa - h);
      if (z) {
        ctx.noise.increment(i, s.t, t.t, z);
        const C = st.eta * t.sigma * sqrt(lost);
        for (let j = 0; j < x.length; j++) x[j] = A * x[j] + B * x0[j] + C * z[j];
      } else {
        for (let j = 0; j < x.length; j++) x[j] = A * x[j] + B * x0[j];
      }
      ctx.stepDone(i, t.t, ...preds.denoised());
    }
    if (st.denoiseToZero) await denoiseToZero(ctx, steps, thresholder);
  },
});

