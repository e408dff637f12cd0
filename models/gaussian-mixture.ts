import { SDE } from '../sdes/sde';
import { ParameterError } from '../core/errors';
import { NoiseSource, Stream } from '../core/noise';
import { PARAMETERIZATIONS, Parameterization, ScoreModel } from '../core/score';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { exp, log } = Math;
const NEG_INFINITY = -Infinity;
const LOG_2PI = Math.log(2 * Math.PI);

/** A Gaussian mixture with diagonal covariances: Σ_k w_k N(μ_k, diag(σ_k²)). */
export interface GaussianMixtureSpec {
  /** K component means, each of length D. */
  means: number[][];
  /** Per-component isotropic std (length K), or per-component diagonal std (K × D). Default 1. */
  stds?: number[] | number[][];
  /** Mixture weights (length K), normalized here. Default uniform. */
  weights?: number[];
}

/** The validated mixture, stds expanded to K × D and weights normalized. */
export class GaussianMixture {
  readonly K: number;
  readonly D: number;
  readonly means: Float64Array;
  readonly stds: Float64Array;
  readonly weights: Float64Array;

  constructor(spec: GaussianMixtureSpec) {
    const K = spec.means?.length ?? 0;
    if (K === 0) throw new ParameterError('mixture.means must list at least one component mean');
    const D = spec.means[0].length;
    if (D === 0) throw new ParameterError('mixture.means[0] must have at least one coordinate');
    this.K = K;
    this.D = D;
    this.means = new Float64Array(K * D);
    this.stds = new Float64Array(K * D);
    this.weights = new Float64Array(K);
    spec.means.forEach((m, k) => {
      if (m.length !== D) {
        throw new ParameterError(`mixture.means[${k}] has ${m.length} coordinates, expected ${D} like means[0]`);
      }
      this.means.set(m, k * D);
    });
    const stds = spec.stds ?? new Array(K).fill(1);
    if (stds.length !== K) throw new ParameterError(`mixture.stds has ${stds.length} entries, expected ${K} (one per component)`);
    stds.forEach((s, k) => {
      const row = Array.isArray(s) ? s : new Array(D).fill(s);
      if (row.length !== D) throw new ParameterError(`mixture.stds[${k}] has ${row.length} entries, expected ${D}`);
      row.forEach((v, d) => {
        if (!(v > 0 && Number.isFinite(v))) throw new ParameterError(`mixture.stds[${k}] must be > 0, got ${v}`);
        this.stds[k * D + d] = v;
      });
    });
    const w = spec.weights ?? new Array(K).fill(1);
    if (w.length !== K) throw new ParameterError(`mixture.weights has ${w.length} entries, expected ${K}`);
    const total = w.reduce((a, b) => a + b, 0);
    w.forEach((v, k) => {
      if (!(v >= 0 && Number.isFinite(v))) throw new ParameterError(`mixture.weights[${k}] must be >= 0, got ${v}`);
      this.weights[k] = v / total;
    });
    if (!(total > 0)) throw new ParameterError('mixture.weights must not all be zero');
  }

  /** Exact samples: component from a uniform draw, then μ_k + σ_k ⊙ z. Seeded, batch-invariant. */
  sample(n: number, seed: number): Float64Array {
    const noise = new NoiseSource(seed);
    const u = new Float64Array(n);
    noise.uniform(u, 0, Stream.data);
    const x = new Float64Array(n * this.D);
    noise.normal(x, this.D, 0, Stream.data);
    for (let i = 0; i < n; i++) {
      const k = this.componentAt(u[i]);
      for (let d = 0; d < this.D; d++) {
        const j = i * this.D + d;
        x[j] = this.means[k * this.D + d] + this.stds[k * this.D + d] * x[j];
      }
    }
    return x;
  }

  /**
   * log p(x) for each of the n rows of x (n·D values), by a log-sum-exp over the components:
   * the true log-density the likelihood of a model trained on this mixture is compared with.
   */
  logDensity(x: Float64Array): Float64Array {
    const { K, D, means, stds, weights } = this;
    const n = x.length / D;
    if (!Number.isInteger(n)) throw new ParameterError(`mixture log-density: x has ${x.length} values, not a multiple of D = ${D}`);
    const out = new Float64Array(n);
    const lp = new Float64Array(K);
    for (let i = 0; i < n; i++) {
      let maxLog = NEG_INFINITY;
      for (let k = 0; k < K; k++) {
        let l = log(weights[k]) - 0.5 * D * LOG_2PI;
        for (let d = 0; d < D; d++) {
          const sk = stds[k * D + d];
          const r = (x[i * D + d] - means[k * D + d]) / sk;
          l -= log(sk) + 0.5 * r * r;
        }
        lp[k] = l;
        if (l > maxLog) maxLog = l;
      }
      let z = 0;
      for (let k = 0; k < K; k++) z += exp(lp[k] - maxLog);
      out[i] = maxLog + log(z);
    }
    return out;
  }

  /**
   * The mixture x_t = α x_0 + σ ε follows when x_0 follows this one: N(α μ_k, diag(α² σ_k² + σ²))
   * with the same weights (p_t of the SDE's kernel at t, with α = meanCoef(t), σ = std(t)).
   */
  perturbed(alpha: number, sigma: number): GaussianMixture {
    const { K, D } = this;
    const means: number[][] = [];
    const stds: number[][] = [];
    for (let k = 0; k < K; k++) {
      means.push(Array.from(this.means.subarray(k * D, (k + 1) * D), (m) => alpha * m));
      stds.push(Array.from(this.stds.subarray(k * D, (k + 1) * D), (s) => Math.sqrt(alpha * alpha * s * s + sigma * sigma)));
    }
    return new GaussianMixture({ means, stds, weights: Array.from(this.weights) });
  }

  /** Index of the component whose cumulative weight interval holds u. */
  componentAt(u: number): number {
    let acc = 0;
    for (let k = 0; k < this.K; k++) {
      acc += this.weights[k];
      if (u < acc) return k;
    }
    return this.K - 1;
  }
}

/**
 * The exact score of Gaussian-mixture data under an SDE's kernel. The kernel maps
 * N(μ_k, diag σ_k²) to N(α μ_k, diag(α² σ_k² + s²)) with α = meanCoef(t), s = std(t), so p_t is
 * again a mixture and ∇ log p_t = Σ_k r_k(x) · (α μ_k − x) / (α² σ_k² + s²), with responsibilities
 * r_k from a log-sum-exp. A single component is Gaussian data.
 *
 * It also answers natively in a chosen parameterization (predict(), see sdes/predict.ts), each
 * computed from its own closed form rather than converted from the score:
 *   eps  E[ε | x_t]   = Σ_k r_k · s (x − α μ_k) / v_k
 *   x0   E[x_0 | x_t] = Σ_k r_k · (μ_k + α σ_k² (x − α μ_k) / v_k)   (each component's posterior mean)
 * with v_k = α² σ_k² + s², so tests can hold the conversions (Tweedie's formula) against them.
 */
export class GaussianMixtureScore implements ScoreModel {
  readonly mixture: GaussianMixture;
  readonly sampleShape: readonly number[];
  /** What predict() returns. Default 'score'. */
  readonly parameterization: Parameterization;
  private readonly logR: Float64Array;

  constructor(
    readonly sde: SDE,
    spec: GaussianMixtureSpec | GaussianMixture,
    opts: { parameterization?: Parameterization } = {},
  ) {
    this.mixture = spec instanceof GaussianMixture ? spec : new GaussianMixture(spec);
    this.sampleShape = [this.mixture.D];
    this.logR = new Float64Array(this.mixture.K);
    this.parameterization = opts.parameterization ?? 'score';
    if (!PARAMETERIZATIONS.includes(this.parameterization)) {
      throw new ParameterError(`unknown parameterization '${String(this.parameterization)}': expected score, eps or x0`);
    }
  }

  async score(x: Float64Array, t: Float64Array, out: Float64Array): Promise<void> {
    this.evaluate(x, t, out, 'score');
  }

  async predict(x: Float64Array, t: Float64Array, out: Float64Array): Promise<void> {
    this.evaluate(x, t, out, this.parameterization);
  }

  /**
   * The score and its exact divergence ∇·s (see ScoreModel.scoreDivergence). With u_k the score
   * of component k, (αμ_k − x)/v_k, and s = Σ_k r_k u_k: ∂s_d/∂x_d = Σ_k r_k (u_kd² − 1/v_kd) − s_d²
   * (∂r_k/∂x_d = r_k (u_kd − s_d)), so ∇·s = Σ_k r_k Σ_d (u_kd² − 1/v_kd) − |s|².
   */
  async scoreDivergence(x: Float64Array, t: Float64Array, out: Float64Array, div: Float64Array): Promise<void> {
    this.evaluate(x, t, out, 'score', div);
  }

  scoreSync(x: Float64Array, t: Float64Array, out: Float64Array): void {
    this.evaluate(x, t, out, 'score');
  }

  /**
   * The exact prediction of `kind` (its own closed form, see above) into out; with div (kind
   * 'score' only), also the score's divergence per sample.
   */
  evaluate(x: Float64Array, t: Float64Array, out: Float64Array, kind: Parameterization, div?: Float64Array): void {
    const { K, D, means, stds, weights } = this.mixture;
    const n = t.length;
    if (div && kind !== 'score') throw new ParameterError(`mixture: the divergence comes with the score, not with '${kind}'`);
    if (x.length !== n * D) {
      throw new ParameterError(`mixture score: x has ${x.length} values, expected ${n} samples × ${D}`);
    }
    const logR = this.logR;
    for (let i = 0; i < n; i++) {
      const a = this.sde.meanCoef(t[i]);
      const sd = this.sde.std(t[i]);
      const s2 = sd * sd;
      const row = i * D;
      let maxLog = NEG_INFINITY;
      for (let k = 0; k < K; k++) {
        let lp = log(weights[k]);
        for (let d = 0; d < D; d++) {
          const sk = stds[k * D + d];
          const v = a * a * sk * sk + s2;
          const r = x[row + d] - a * means[k * D + d];
          lp -= 0.5 * (log(v) + (r * r) / v);
        }
        logR[k] = lp;
        if (lp > maxLog) maxLog = lp;
      }
      let z = 0;
      for (let k = 0; k < K; k++) {
        logR[k] = exp(logR[k] - maxLog);
        z += logR[k];
      }
      for (let d = 0; d < D; d++) out[row + d] = 0;
      let trace = 0;
      for (let k = 0; k < K; k++) {
        const r = logR[k] / z;
        let q = 0;
        for (let d = 0; d < D; d++) {
          const sk = stds[k * D + d];
          const mu = means[k * D + d];
          const v = a * a * sk * sk + s2;
          const dev = x[row + d] - a * mu;
          if (kind === 'score') out[row + d] -= (r * dev) / v;
          else if (kind === 'eps') out[row + d] += (r * sd * dev) / v;
          else out[row + d] += r * (mu + (a * sk * sk * dev) / v);
          if (div) q += (dev * dev) / (v * v) - 1 / v;
        }
        trace += r * q;
      }
      if (div) {
        for (let d = 0; d < D; d++) trace -= out[row + d] * out[row + d];
        div[i] = trace;
      }
    }
  }
}
