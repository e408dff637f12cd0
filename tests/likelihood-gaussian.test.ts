/**
 * Gaussian data N(μ, diag s²) with its exact score: p_t = N(α μ, diag v_t), v_t = α² s² + σ², and
 * the probability-flow ODE is the affine map x_T = α_T μ + (x − α_eps μ)·√(v_T/v_eps) per
 * coordinate, so what logLikelihood estimates has a closed form:
 *
 *   expected = log π(x_T) + Δ,   Δ = ∫ ∇·f̃ dt = Σ_d ½ log(v_T,d / v_eps,d)   (log det of the flow map)
 *
 * The estimate must match it per SDE (VE, VP, sub-VP) to TOL nats with exact divergences, with the
 * full Jacobian trace (finite differences of the float64 score) and with Hutchinson probes
 * (Rademacher probes are exact on the diagonal Jacobian of Gaussian data). Negative controls: a
 * divergence off by 1% (misses by 0.15–0.18 nats), and a prior with a std 1% off (0.075 nats),
 * both far beyond TOL.
 */
import { GaussianMixtureScore, SDE, logLikelihood, makeSDE, priorLogProb } from '../index';
import { scaledDivergence } from './support/wrong-divergence';

const { log, sqrt } = Math;

const MEAN = [1.0, -2.0, 0.5];
const STD = [0.5, 2.0, 0.05];
const D = MEAN.length;
const N = 24;
/** Measured max errors (rtol = atol = 1e-6): VE 4.7e-5, VP 8.9e-6, sub-VP 4.7e-6 nats. */
const TOL = 1e-4;

const SDES: [string, SDE][] = [
  ['ve', makeSDE({ kind: 've', sigmaMin: 0.01, sigmaMax: 50 })],
  ['vp', makeSDE({ kind: 'vp' })],
  ['subvp', makeSDE({ kind: 'subvp' })],
];

/** Data drawn from the Gaussian itself (a fixed seed). */
function gaussianData(model: GaussianMixtureScore): Float64Array {
  return model.mixture.sample(N, 7);
}

/** The closed-form value logLikelihood should return for each row of x. */
function expected(sde: SDE, x: Float64Array, eps: number): Float64Array {
  const T = sde.T;
  const xT = new Float64Array(x.length);
  let delta = 0;
  for (let d = 0; d < D; d++) {
    const vEps = sde.meanCoef(eps) ** 2 * STD[d] ** 2 + sde.std(eps) ** 2;
    const vT = sde.meanCoef(T) ** 2 * STD[d] ** 2 + sde.std(T) ** 2;
    delta += 0.5 * log(vT / vEps);
    for (let i = 0; i < N; i++) xT[i * D + d] = sde.meanCoef(T) * MEAN[d] + (x[i * D + d] - sde.meanCoef(eps) * MEAN[d]) * sqrt(vT / vEps);
  }
  return priorLogProb(sde, xT, D).map((p) => p + delta);
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}


describe.each(SDES)('Gaussian data, %s SDE: log p from the PF-ODE against its closed form', (_name, sde) => {
  const model = new GaussianMixtureScore(sde, { means: [MEAN], stds: [STD] });
  const x = gaussianData(model);
  const eps = 1e-5;
  const want = expected(sde, x, eps);
  const opts = { sde, data: x, eps, rtol: 1e-6, atol: 1e-6 };

  test.each(['exact', 'jacobian', 'hutchinson'] as const)('%s divergence matches to TOL', async (method) => {
    const r = await logLikelihood({ ...opts, model, divergence: { method, probes: 2 } });
    expect(r.method).toBe(method);
    expect(maxAbsDiff(r.logp, want)).toBeLessThan(TOL);
  });

  test('negative controls: a divergence 1% off, a prior std 1% off', async () => {
    const wrongDiv = await logLikelihood({ ...opts, model: scaledDivergence(model, 1.01) });
    const right = await logLikelihood({ ...opts, model });
    const wrongPrior = priorLogProb({ ...sde, priorStd: sde.priorStd * 1.01 } as SDE, right.latents, D).map((p, i) => p + right.delta[i]);
    expect(maxAbsDiff(wrongDiv.logp, want)).toBeGreaterThan(10 * TOL);
    expect(maxAbsDiff(wrongPrior, want)).toBeGreaterThan(10 * TOL);
  });
});
