import { z } from 'zod';
import { predict } from '../sdes/predict';
import { edmSigma, timeForEdmSigma } from '../sdes/sde';
import { defineSolver } from './solver';
import { evaluationsWith } from './exponential';
import { denoiseToZeroSetting, epsSetting, gridSettingsFor, nfeSetting, solverSettings, stepsSetting } from './settings';
import { Thresholder, thresholdingSettings } from './thresholding';

const { min, sqrt, SQRT2 } = Math;

const settings = solverSettings({
  ...stepsSetting,
  ...nfeSetting,
  ...epsSetting,
  ...gridSettingsFor('edm', 'Karras et al.\'s ρ grid in σ = σ(t)/α(t) (ρ = 7).'),
  sChurn: z.number().min(0).default(0).describe('S_churn: total noise added back, γ = min(S_churn/N, √2 − 1) per step of N; 0 is the deterministic sampler.'),
  sTmin: z.number().min(0).default(0).describe('S_tmin: churn only at steps with σ ≥ S_tmin (σ = σ(t)/α(t)).'),
  sTmax: z.number().positive().optional().describe('S_tmax: churn only at steps with σ ≤ S_tmax. Default ∞.'),
  sNoise: z.number().positive().default(1).describe('S_noise: scale of the churn noise (slightly above 1 offsets detail lost by the denoiser).'),
  ...denoiseToZeroSetting(true, 'Karras et al.\'s last step, Euler from σ(eps) to σ = 0, returns the denoiser\'s output; false ends with a Heun step at eps.'),
  ...thresholdingSettings,
});

/**
 * Karras et al. 2022 (EDM), Algorithm 2: Heun in σ on the probability-flow ODE
 * dy/dσ = (y − D(y; σ))/σ of the scaled variable y = x/α(t), with σ = σ(t)/α(t) = e^{−λ(t)} and
 * D(y; σ) = x̂_0(α(t)·y, t) at t = t(σ) (the SDE's closed-form inverse): for VE y = x and σ is
 * the SDE's own σ(t); for VP and sub-VP this is EDM's scaled form of the same ODE. With churn,
 * each step first raises σ_i to σ̂ = (1 + γ)σ_i (kept ≤ σ(T)/α(T)) with fresh noise
 * √(σ̂² − σ_i²)·S_noise·z (ctx.noise.atTime, keyed by t_i). The state x stays in x-space between
 * steps (transforms and onStep see x_t). Evaluations: 2 per grid step, plus 1 for the last step
 * to σ = 0 (denoiseToZero).
 */
export const edm = defineSolver({
  name: 'edm',
  family: 'ode',
  summary: "EDM (Karras et al. 2022): Heun in σ on the ρ grid with optional churn (2 evaluations per step, +1 to σ = 0)",
  adaptive: false,
  budget: ['steps', 'nfe'],
  settings,
  evaluations: (steps, st) => evaluationsWith(2, steps, st),
  async run(ctx, st) {
    const { x, n, grid, sde } = ctx;
    const thresholder = Thresholder.for(ctx, st, 'edm');
    const tArr = new Float64Array(n);
    const y = new Float64Array(x.length);
    const d = new Float64Array(x.length);
    const x0 = new Float64Array(x.length);
    const z = new Float64Array(x.length);
    const steps = grid.length - 1;
    const total = steps + (st.denoiseToZero ? 1 : 0);
    const gamma = min(st.sChurn / total, SQRT2 - 1);
    const sigmaTop = edmSigma(sde, sde.T);
    const sTmax = st.sTmax ?? Infinity;
    const denoised: { x0?: Float64Array; at?: number } = {};
    /** D(y; σ) at time t into x0 (via x̂_0(α y, t)), remembering it for stepDone. */
    const denoise = async (yv: Float64Array, t: number) => {
      const a = sde.meanCoef(t);
      for (let j = 0; j < yv.length; j++) d[j] = a * yv[j];
      tArr.fill(t);
      await predict(ctx.model, sde, 'x0', d, tArr, x0);
      thresholder?.apply(x0);
      denoised.x0 = x0;
      denoised.at = t;
    };
    const report = (): [Float64Array | undefined, number | undefined] => (ctx.wantsDenoised ? [denoised.x0, denoised.at] : [undefined, undefined]);
    for (let i = 0; i < total; i++) {
      const ti = grid[i];
      const sigma = edmSigma(sde, ti);
      // Churn: y at (t_i, σ_i) → ŷ at (t̂, σ̂).
      let tHat = ti;
      let sigmaHat = sigma;
      const a = 1 / sde.meanCoef(ti);
      if (gamma > 0 && sigma >= st.sTmin && sigma <= sTmax) sigmaHat = min((1 + gamma) * sigma, sigmaTop);
      if (sigmaHat > sigma) {
        tHat = timeForEdmSigma(sde, sigmaHat);
        ctx.noise.atTime(ti, 0, z);
        const c = sqrt(sigmaHat * sigmaHat - sigma * sigma) * st.sNoise;
        for (let j = 0; j < x.length; j++) y[j] = a * x[j] + c * z[j];
      } else {
        for (let j = 0; j < x.length; j++) y[j] = a * x[j];
      }
      await denoise(y, tHat);
      if (i === steps) {
        // Last step to σ = 0: Euler gives ŷ − σ̂·(ŷ − D)/σ̂ = D (α(0) = 1).
        x.set(x0);
        ctx.stepDone(i, 0, ...report());
        break;
      }
      const tNext = grid[i + 1];
      const sigmaNext = edmSigma(sde, tNext);
      const dt = sigmaNext - sigmaHat;
      // Euler: y' = ŷ + (σ' − σ̂)·d, d = (ŷ − D)/σ̂; x keeps ŷ + ½(σ' − σ̂)·d for the Heun average.
      for (let j = 0; j < x.length; j++) {
        const slope = (y[j] - x0[j]) / sigmaHat;
        x[j] = y[j] + 0.5 * dt * slope;
        y[j] += dt * slope;
      }
      await denoise(y, tNext);
      const aNext = sde.meanCoef(tNext);
      for (let j = 0; j < x.length; j++) x[j] = aNext * (x[j] + (0.5 * dt * (y[j] - x0[j])) / sigmaNext);
      ctx.stepDone(i, tNext, ...report());
    }
  },
});
