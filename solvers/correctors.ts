import { ParameterError } from '../core/errors';
import { SolverContext } from './solver';
import { NormMode } from './settings';
import { Scratch } from './predictors';

export const CORRECTORS = ['langevin', 'ald', 'none'] as const;
export type CorrectorName = (typeof CORRECTORS)[number];

export interface CorrectorSettings {
  snr: number;
  correctorSteps: number;
  norm: NormMode;
}

/**
 * Langevin MCMC at fixed t: x ← x + ε s(x, t) + √(2ε) z, repeated correctorSteps times.
 *   langevin: ε = 2α (snr·‖z‖/‖s‖)², so the signal-to-noise ratio of the update is snr
 *   ald:      ε = 2α (snr·std(t))², annealed Langevin dynamics (NCSN)
 * α = 1 for VE and the DDPM α_i for the VP family (sdes' langevinAlpha). Norms are per sample
 * (default: a sample never depends on its batch-mates) or batch means (the reference).
 * The noise of corrector step k at time t is keyed by (t, k): Langevin noise is not a Brownian
 * increment, and every grid that reaches t draws the same.
 */
export async function correct(
  name: CorrectorName,
  ctx: SolverContext,
  i: number,
  settings: CorrectorSettings,
  s: Scratch,
  stepSizes: Float64Array,
): Promise<void> {
  if (name === 'none') return;
  if (name !== 'langevin' && name !== 'ald') {
    throw new ParameterError(`unknown corrector '${String(name)}': expected one of ${CORRECTORS.join(', ')}`);
  }
  const { x, n, dim, sde, grid } = ctx;
  const t = grid[i];
  const alpha = sde.langevinAlpha(t, grid[i + 1]);
  const snr = settings.snr;
  for (let k = 0; k < settings.correctorSteps; k++) {
    s.t.fill(t);
    await ctx.model.score(x, s.t, s.score);
    ctx.noise.corrector(t, k, s.z);
    if (name === 'ald') {
      stepSizes.fill(2 * alpha * (snr * sde.std(t)) ** 2);
    } else {
      langevinStepSizes(s.score, s.z, n, dim, snr, alpha, settings.norm, stepSizes);
    }
    for (let r = 0; r < n; r++) {
      const eps = stepSizes[r];
      const noiseScale = Math.sqrt(2 * eps);
      for (let j = r * dim, end = j + dim; j < end; j++) x[j] += eps * s.score[j] + noiseScale * s.z[j];
    }
  }
}

/** ε_r = 2α (snr·‖z_r‖/‖s_r‖)² per row, or with batch-mean norms for every row. */
function langevinStepSizes(
  score: Float64Array,
  z: Float64Array,
  n: number,
  dim: number,
  snr: number,
  alpha: number,
  norm: NormMode,
  out: Float64Array,
): void {
  let sumScore = 0;
  let sumNoise = 0;
  for (let r = 0; r < n; r++) {
    let ss = 0;
    let zz = 0;
    for (let j = r * dim, end = j + dim; j < end; j++) {
      ss += score[j] * score[j];
      zz += z[j] * z[j];
    }
    const sNorm = Math.sqrt(ss);
    const zNorm = Math.sqrt(zz);
    sumScore += sNorm;
    sumNoise += zNorm;
    out[r] = stepSize(snr, zNorm, sNorm, alpha);
  }
  if (norm === 'batch') out.fill(stepSize(snr, sumNoise / n, sumScore / n, alpha));
}

/** A zero score gives no signal to scale against: take no step rather than an infinite one. */
function stepSize(snr: number, noiseNorm: number, scoreNorm: number, alpha: number): number {
  return scoreNorm > 0 ? 2 * alpha * ((snr * noiseNorm) / scoreNorm) ** 2 : 0;
}
