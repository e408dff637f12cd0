import { SDE, sameKernel } from './sde';
import { convertPrediction } from './parameterization';
import { ParameterError } from '../core/errors';
import { GaussianKernel, Parameterization, SampleRows, ScoreModel } from '../core/score';

/**
 * The model's prediction in the parameterization a solver wants: the one call for solvers that
 * work with ε or x̂_0 (DDIM, DPM-Solver(++), UniPC, EDM) instead of the score.
 *
 *   await predict(model, sde, 'x0', x, t, out);   // out ← x̂_0(x, t)
 *
 * - model answers natively in `want` (model.parameterization === want): out is exactly its output,
 *   bit for bit (an x̂_0-network asked for x̂_0 is not converted at all);
 * - model answers natively in another parameterization: its output is converted directly with
 *   `sde`'s α(t), σ(t) (ε ↔ x̂_0 never passes through the score);
 * - model has only score(): the score, converted (for 'score': the score itself).
 * Always exactly one model evaluation (CountingScoreModel counts it once).
 *
 * x holds n samples row-major (n·dim values), t each sample's time (length n); out has x's length
 * and must not alias x; `rows` goes to the model (ScoreModel.score). `sde` must have the kernel of the model's own SDE (model.sde), where it has
 * one: a different α(t) or σ(t) is a ParameterError, checked once per pair of objects (cheap when,
 * as configs/model-loader.ts arranges, they are the same object).
 */
export async function predict(
  model: ScoreModel,
  sde: SDE,
  want: Parameterization,
  x: Float64Array,
  t: Float64Array,
  out: Float64Array,
  rows?: SampleRows,
): Promise<void> {
  if (model.sde !== undefined && model.sde !== sde) requireSameKernel(model.sde, sde);
  const native = nativeParameterization(model);
  if (native === 'score') await model.score(x, t, out, rows);
  else await model.predict!(x, t, out, rows);
  if (native !== want) convertPrediction(native, want, sde, x, t, out, out);
}

/** The parameterization predict() gets from a model without converting. */
export function nativeParameterization(model: ScoreModel): Parameterization {
  return model.predict && model.parameterization ? model.parameterization : 'score';
}

const checked = new WeakMap<GaussianKernel, WeakSet<SDE>>();

function requireSameKernel(own: GaussianKernel, sde: SDE): void {
  let ok = checked.get(own);
  if (ok?.has(sde)) return;
  const r = sameKernel(own, sde);
  if (!r.same) {
    throw new ParameterError(`the model's SDE and the solver's SDE differ (${r.why}): the network's output refers to its own α(t), σ(t); sample with the model's SDE`);
  }
  if (!ok) checked.set(own, (ok = new WeakSet()));
  ok.add(sde);
}
