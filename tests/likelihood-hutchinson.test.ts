/**
 * The Hutchinson estimator vᵀ J v of tr J (J = ∂s/∂x, the score's Jacobian), as the likelihood
 * uses it: probes from Stream.hutchinson, quadratic forms by central differences of score().
 *
 * (1) At a fixed (x, t) of a 6-D mixture whose Jacobian has large off-diagonal entries (a point
 *     between modes): the mean over K = 4000 probes (one per sample row) equals the exact trace
 *     within Z standard errors, for Rademacher and Gaussian probes; their variances match theory,
 *     2·Σ_{i≠j} J_ij² (Rademacher) and 2·‖J‖_F² (Gaussian), within 15%. Negative control:
 *     {0, 1} probes (the classic slip of drawing Rademacher probes as randint(0, 2) without
 *     ·2 − 1) fail the same Z threshold.
 * (2) Through the whole ODE: one 2-D point near a mode repeated in 400 rows (each row its own
 *     probe) gives 400 independent estimates of log p (measured: mean −1.506 ± 0.042, one probe's
 *     spread 0.83 nats); their mean equals the exact-divergence value (−1.456) within Z standard
 *     errors, and the per-sample standard error the likelihood reports with 8 probes matches the
 *     spread of single-probe estimates / √8 within 25%. Negative control: the value with a
 *     divergence 2% off (−1.246) is outside the same Z threshold. Batches of 7 give the same values
 *     bit for bit (probes are keyed by the global sample index).
 */
import {
  Directions,
  GaussianMixture,
  GaussianMixtureScore,
  NoiseSource,
  ProbeKind,
  ScoreDifferences,
  DEFAULT_DIVERGENCE,
  divergenceEstimator,
  drawProbes,
  logLikelihood,
  makeSDE,
  meanAndStderr,
} from '../index';
import { scaledDivergence } from './support/wrong-divergence';

const Z = 4;
const sde = makeSDE({ kind: 'vp' });

describe('Hutchinson at a fixed point: unbiased, with the variance theory predicts', () => {
  const D = 6;
  // Two modes apart along (1, 1, 1, 1, 1, 1)/√6·… so that responsibilities mix every coordinate.
  const mix = new GaussianMixture({
    means: [new Array(D).fill(-1), new Array(D).fill(1), [2, -2, 2, -2, 0, 0]],
    stds: [0.5, 0.7, 0.6],
    weights: [0.4, 0.4, 0.2],
  });
  const model = new GaussianMixtureScore(sde, mix);
  const t = 0.2;
  const x0 = [0.1, -0.2, 0.3, 0.05, -0.1, 0.2];
  const K = 4000;
  const xs = new Float64Array(K * D);
  for (let i = 0; i < K; i++) xs.set(x0, i * D);
  const ts = new Float64Array(K).fill(t);
  const rows = Int32Array.from({ length: K }, (_, i) => i);

  /** The exact Jacobian of the mixture's score at (x0, t): Σ_k r_k (u_k u_kᵀ − diag 1/v_k) − s sᵀ. */
  function exactJacobian(): number[][] {
    const a = sde.meanCoef(t);
    const s2 = sde.std(t) ** 2;
    const logR: number[] = [];
    const u: number[][] = [];
    const v: number[][] = [];
    for (let k = 0; k < mix.K; k++) {
      let lr = Math.log(mix.weights[k]);
      u.push([]);
      v.push([]);
      for (let d = 0; d < D; d++) {
        const vk = a * a * mix.stds[k * D + d] ** 2 + s2;
        const dev = x0[d] - a * mix.means[k * D + d];
        lr -= 0.5 * (Math.log(vk) + (dev * dev) / vk);
        u[k].push(-dev / vk);
        v[k].push(vk);
      }
      logR.push(lr);
    }
    const mx = Math.max(...logR);
    const w = logR.map((l) => Math.exp(l - mx));
    const z = w.reduce((p, q) => p + q, 0);
    const r = w.map((q) => q / z);
    const s = new Array(D).fill(0).map((_, d) => r.reduce((acc, rk, k) => acc + rk * u[k][d], 0));
    return s.map((_, i) =>
      s.map((__, j) => r.reduce((acc, rk, k) => acc + rk * (u[k][i] * u[k][j] - (i === j ? 1 / v[k][i] : 0)), 0) - s[i] * s[j]),
    );
  }
  const J = exactJacobian();
  const trace = J.reduce((acc, row, i) => acc + row[i], 0);
  let offDiag2 = 0;
  let frob2 = 0;
  J.forEach((row, i) => row.forEach((v, j) => ((frob2 += v * v), i !== j && (offDiag2 += v * v))));

  test('the exact Jacobian agrees with the model’s closed-form divergence (test self-check)', async () => {
    const div = new Float64Array(1);
    await model.scoreDivergence(Float64Array.from(x0), Float64Array.of(t), new Float64Array(D), div);
    expect(Math.abs(div[0] - trace)).toBeLessThan(1e-12 * Math.abs(trace));
    expect(offDiag2).toBeGreaterThan(0.2 * frob2); // the point is where off-diagonals matter
  });

  test.each(['rademacher', 'gaussian'] as ProbeKind[])('%s probes: mean = tr J within Z SE; variance as theory', async (probe) => {
    const est = divergenceEstimator(model, sde, D, K, { ...DEFAULT_DIVERGENCE, method: 'hutchinson', probe, probes: 1, fdStep: 1e-4 }, new NoiseSource(5));
    const forms = new Float64Array(K);
    await est.evaluate(xs, ts, rows, new Float64Array(K * D), forms);
    const [mean, se] = meanAndStderr(forms);
    expect(Math.abs(mean - trace)).toBeLessThan(Z * se);
    const variance = se * se * K;
    const theory = probe === 'rademacher' ? 2 * offDiag2 : 2 * frob2;
    expect(Math.abs(variance / theory - 1)).toBeLessThan(0.15);
  });

  test('negative control: {0, 1} probes (Rademacher without the ·2 − 1) are biased beyond Z SE', async () => {
    // E[vᵀJv] = ½ tr J + ¼ Σ_{i≠j} J_ij for independent Bernoulli(½) entries: here 11.4 away.
    const [probes] = drawProbes(new NoiseSource(5), K, D, 1, 'rademacher');
    const slip: Directions = {
      count: 1,
      write(_q, sample, out, offset) {
        for (let j = 0; j < D; j++) out[offset + j] = probes[sample * D + j] > 0 ? 1 : 0;
      },
    };
    const forms = new Float64Array(K);
    await new ScoreDifferences(model, sde, D, slip, 1e-4).evaluate(xs, ts, rows, new Float64Array(K * D), forms);
    const [mean, se] = meanAndStderr(forms);
    expect(Math.abs(mean - trace)).toBeGreaterThan(Z * se);
  });
});

describe('Hutchinson through the ODE: unbiased log p, honest per-sample standard errors', () => {
  const mix = new GaussianMixture({ means: [[-4, 0], [4, 0], [0, 4]], stds: [[0.3, 0.5], [0.5, 0.3], [0.4, 0.4]], weights: [0.5, 0.3, 0.2] });
  const model = new GaussianMixtureScore(sde, mix);
  const point = [-3.7, 0.4];
  const R = 400;
  const data = new Float64Array(R * 2);
  for (let i = 0; i < R; i++) data.set(point, 2 * i);
  const opts = { sde, rtol: 1e-5, atol: 1e-5 };


  test('mean of 400 single-probe estimates = exact within Z SE; reported SE with 8 probes matches the spread', async () => {
    const exact = await logLikelihood({ ...opts, model, data: data.subarray(0, 2) });
    const hutch = await logLikelihood({ ...opts, model, data, divergence: { method: 'hutchinson', probes: 1 } });
    const [mean, se] = meanAndStderr(hutch.logp);
    expect(se).toBeGreaterThan(1e-3); // the probes do vary the estimate
    expect(Math.abs(mean - exact.logp[0])).toBeLessThan(Z * se);
    // Negative control: the same comparison against a divergence 2% off.
    const wrong = await logLikelihood({ ...opts, model: scaledDivergence(model, 1.02), data: data.subarray(0, 2) });
    expect(Math.abs(mean - wrong.logp[0])).toBeGreaterThan(Z * se);
    const eight = await logLikelihood({ ...opts, model, data: data.subarray(0, 40), divergence: { method: 'hutchinson', probes: 8 } });
    const reported = meanAndStderr(eight.logpStderr!)[0];
    expect(Math.abs(reported / ((se * Math.sqrt(R)) / Math.sqrt(8)) - 1)).toBeLessThan(0.25);
    // Probes belong to samples, not batches: the same values in batches of 7 (bit for bit).
    const batched = await logLikelihood({ ...opts, model, data: data.subarray(0, 40), divergence: { method: 'hutchinson', probes: 8 }, batchSize: 7 });
    expect(Array.from(batched.logp)).toEqual(Array.from(eight.logp));
  });
});
