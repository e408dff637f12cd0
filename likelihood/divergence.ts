import { ParameterError } from '../core/errors';
import { NoiseSource } from '../core/noise';
import type { SampleRows, ScoreModel } from '../core/score';
import type { SDE } from '../sdes/sde';
import { Directions, ScoreDifferences } from './finite-differences';
import { ProbeKind, drawProbes } from './probes';

export type DivergenceMethod = 'exact' | 'jacobian' | 'hutchinson';
export const DIVERGENCE_METHODS: readonly ('auto' | DivergenceMethod)[] = ['auto', 'exact', 'jacobian', 'hutchinson'];

export interface DivergenceSettings {
  /**
   * 'exact': the model's closed form (ScoreModel.scoreDivergence); 'jacobian': the full trace,
   * one central difference per coordinate; 'hutchinson': vᵀ J v for fixed random probes v.
   * 'auto': exact where the model has it, else jacobian up to jacobianMaxDim, else hutchinson.
   */
  method: 'auto' | DivergenceMethod;
  /** Largest dimension 'auto' takes the full Jacobian trace in (2·dim + 1 evaluations per step). */
  jacobianMaxDim: number;
  /** Hutchinson probes per sample (each integrated as its own log-density channel). */
  probes: number;
  probe: ProbeKind;
  /** Central-difference step as a fraction of σ(t) (see ./finite-differences.ts). */
  fdStep: number;
  /** Seed of the probes (Stream.hutchinson). */
  seed: number;
}

export const DEFAULT_DIVERGENCE: DivergenceSettings = {
  method: 'auto',
  jacobianMaxDim: 16,
  probes: 1,
  probe: 'rademacher',
  fdStep: 1e-2,
  seed: 0,
};

/**
 * The score and per-channel estimates of its divergence ∇·s for a batch of rows. Channels: 1 for
 * exact and jacobian, one per probe for hutchinson (the mean over channels is the estimate, their
 * spread its standard error).
 */
export interface DivergenceEstimator {
  readonly method: DivergenceMethod;
  readonly channels: number;
  /** Model evaluations per sample per call: 1 (exact), 2·dim + 1 (jacobian), 2·probes + 1. */
  readonly evaluationsPerRow: number;
  /**
   * Score into score (m × dim), estimates into div (m × channels); rows[r] is row r's sample in
   * the batch, sampleRows[r] its index in the whole data (read by perSample models: labels).
   */
  evaluate(x: Float64Array, t: Float64Array, rows: Int32Array, score: Float64Array, div: Float64Array, sampleRows?: SampleRows): Promise<void>;
}

/** Which method 'auto' picks for this model and dimension. */
export function chooseMethod(model: ScoreModel, dim: number, s: DivergenceSettings): DivergenceMethod {
  if (s.method !== 'auto') return s.method;
  if (model.scoreDivergence) return 'exact';
  return dim <= s.jacobianMaxDim ? 'jacobian' : 'hutchinson';
}

/**
 * The estimator for n samples of `dim` values; `noise` (seeded, its offset the global index of
 * sample 0) gives the Hutchinson probes.
 */
export function divergenceEstimator(model: ScoreModel, sde: SDE, dim: number, n: number, s: DivergenceSettings, noise: NoiseSource): DivergenceEstimator {
  const method = chooseMethod(model, dim, s);
  if (method === 'exact') {
    const exact = model.scoreDivergence;
    if (!exact) throw new ParameterError("divergence method 'exact' needs a model with the divergence in closed form (Gaussian, mixture); use 'jacobian' or 'hutchinson'");
    return { method, channels: 1, evaluationsPerRow: 1, evaluate: (x, t, _rows, score, div) => exact.call(model, x, t, score, div) };
  }
  if (!(s.fdStep > 0 && s.fdStep < 1)) throw new ParameterError(`divergence fdStep must be in (0, 1) (a fraction of σ(t)), got ${s.fdStep}`);
  if (method === 'jacobian') {
    const fd = new ScoreDifferences(model, sde, dim, basis(dim), s.fdStep);
    let diag = new Float64Array(0);
    return {
      method,
      channels: 1,
      evaluationsPerRow: fd.evaluationsPerRow,
      async evaluate(x, t, rows, score, div, sampleRows) {
        const m = t.length;
        if (diag.length < m * dim) diag = new Float64Array(m * dim);
        await fd.evaluate(x, t, rows, score, diag, sampleRows);
        for (let r = 0; r < m; r++) {
          let tr = 0;
          for (let j = r * dim, end = j + dim; j < end; j++) tr += diag[j];
          div[r] = tr;
        }
      },
    };
  }
  if (!(Number.isInteger(s.probes) && s.probes >= 1)) throw new ParameterError(`divergence probes must be an integer >= 1, got ${s.probes}`);
  const probes = drawProbes(noise, n, dim, s.probes, s.probe);
  const fd = new ScoreDifferences(model, sde, dim, fixedProbes(probes, dim), s.fdStep);
  return {
    method,
    channels: s.probes,
    evaluationsPerRow: fd.evaluationsPerRow,
    evaluate: (x, t, rows, score, div, sampleRows) => fd.evaluate(x, t, rows, score, div, sampleRows),
  };
}

/** e_q: the diagonal of J, one coordinate per direction. */
function basis(dim: number): Directions {
  return {
    count: dim,
    write(q, _sample, out, offset) {
      out.fill(0, offset, offset + dim);
      out[offset + q] = 1;
    },
  };
}

/** Probe q of each sample, the same at every call. */
function fixedProbes(probes: Float64Array[], dim: number): Directions {
  return {
    count: probes.length,
    write(q, sample, out, offset) {
      out.set(probes[q].subarray(sample * dim, (sample + 1) * dim), offset);
    },
  };
}
