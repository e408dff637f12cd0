import { NoiseSource, Stream } from '../core/noise';

export type ProbeKind = 'rademacher' | 'gaussian';
export const PROBE_KINDS: readonly ProbeKind[] = ['rademacher', 'gaussian'];

/**
 * Hutchinson probes v with E[v vᵀ] = I, so that E[vᵀ J v] = tr J: `count` probes per sample,
 * probe p of global sample i drawn from Stream.hutchinson at address p (core/streams.ts), so a
 * sample's probes do not depend on the batch it is in. Gaussian: N(0, I); Rademacher: the signs
 * of those same draws (±1 with probability ½ each, as the normal is symmetric). Drawn once and
 * held fixed over the whole ODE solve (as score_sde does), so the augmented ODE is deterministic.
 *
 * Returns `count` arrays of n rows × dim: probes[p] row r is probe p of local sample r.
 */
export function drawProbes(noise: NoiseSource, n: number, dim: number, count: number, kind: ProbeKind): Float64Array[] {
  const probes: Float64Array[] = [];
  for (let p = 0; p < count; p++) {
    const v = new Float64Array(n * dim);
    noise.normal(v, dim, p, Stream.hutchinson);
    if (kind === 'rademacher') for (let j = 0; j < v.length; j++) v[j] = v[j] < 0 ? -1 : 1;
    probes.push(v);
  }
  return probes;
}
