import { SDE } from '../sdes/sde';
import { ParameterError } from '../core/errors';
import { ClassConditioning, ConditionalScoreModel, Parameterization } from '../core/score';
import { GaussianMixture, GaussianMixtureScore, GaussianMixtureSpec } from './gaussian-mixture';

/**
 * The exact conditional network of a Gaussian mixture whose components are the classes: label k
 * gives the score of component k alone under the kernel, the null label (K) the whole mixture's,
 * exactly what a classifier-free-guidance network trained on such data learns. It checks guidance
 * (models/guidance.ts) against closed forms: γ = 1 samples component k, γ = 0 the mixture.
 */
export class ClassMixtureScore implements ConditionalScoreModel {
  readonly conditioning: ClassConditioning;
  readonly sampleShape: readonly number[];
  readonly parameterization: Parameterization;
  readonly mixture: GaussianMixture;
  private readonly all: GaussianMixtureScore;
  private readonly components: GaussianMixtureScore[];

  constructor(
    readonly sde: SDE,
    spec: GaussianMixtureSpec,
    opts: { classes?: readonly string[]; parameterization?: Parameterization } = {},
  ) {
    this.mixture = new GaussianMixture(spec);
    const { K, D } = this.mixture;
    const classes = opts.classes ?? Array.from({ length: K }, (_, k) => `class ${k}`);
    if (classes.length !== K) throw new ParameterError(`classes has ${classes.length} names, expected ${K} (one per component)`);
    this.conditioning = { classes, nullLabel: K };
    this.sampleShape = [D];
    this.parameterization = opts.parameterization ?? 'score';
    const own = { parameterization: this.parameterization };
    this.all = new GaussianMixtureScore(sde, this.mixture, own);
    this.components = Array.from({ length: K }, (_, k) => {
      const m = this.mixture;
      return new GaussianMixtureScore(sde, { means: [Array.from(m.means.subarray(k * D, (k + 1) * D))], stds: [Array.from(m.stds.subarray(k * D, (k + 1) * D))] }, own);
    });
  }

  /** Unconditional: the mixture. */
  async score(x: Float64Array, t: Float64Array, out: Float64Array): Promise<void> {
    this.all.evaluate(x, t, out, 'score');
  }

  async predict(x: Float64Array, t: Float64Array, out: Float64Array): Promise<void> {
    this.all.evaluate(x, t, out, this.parameterization);
  }

  async scoreWithLabels(x: Float64Array, t: Float64Array, labels: Int32Array, out: Float64Array): Promise<void> {
    this.byLabel(x, t, labels, out, 'score');
  }

  async predictWithLabels(x: Float64Array, t: Float64Array, labels: Int32Array, out: Float64Array): Promise<void> {
    this.byLabel(x, t, labels, out, this.parameterization);
  }

  private byLabel(x: Float64Array, t: Float64Array, labels: Int32Array, out: Float64Array, kind: Parameterization): void {
    const D = this.mixture.D;
    const n = t.length;
    if (labels.length < n) throw new ParameterError(`labels has ${labels.length} entries, expected one per row (${n})`);
    for (let i = 0; i < n; i++) {
      const label = labels[i];
      const model = label === this.conditioning.nullLabel ? this.all : this.components[label];
      if (!model) throw new ParameterError(`label ${label} is neither a class (0 … ${this.mixture.K - 1}) nor the null label ${this.mixture.K}`);
      model.evaluate(x.subarray(i * D, (i + 1) * D), t.subarray(i, i + 1), out.subarray(i * D, (i + 1) * D), kind);
    }
  }
}
