import { ScoreModel } from '../core/score';
import { fromScore } from '../sdes/parameterization';
import { SolverContext } from './solver';

/**
 * The denoised estimate x̂_0 = (x + σ(t)²·s)/α(t) (Tweedie) a solver reports with stepDone, taken
 * from the first model evaluation after arm(): wrap the model with it, arm at the start of a
 * step, and pass take() to stepDone. Costs nothing when nobody listens (ctx.wantsDenoised false).
 */
export class DenoisedTap {
  readonly model: ScoreModel;
  private armed = false;
  private estimate: Float64Array | undefined;
  private at = NaN;

  constructor(private readonly ctx: SolverContext) {
    if (!ctx.wantsDenoised) {
      this.model = ctx.model;
      return;
    }
    const inner = ctx.model;
    this.model = {
      sampleShape: inner.sampleShape,
      perSample: inner.perSample,
      score: async (x, t, out, rows) => {
        await inner.score(x, t, out, rows);
        if (this.armed) this.record(x, t, out);
      },
    };
  }

  /** Record the next evaluation. */
  arm(): void {
    this.armed = this.ctx.wantsDenoised;
  }

  /** Record this evaluation now (for solvers that call the model directly). */
  record(x: Float64Array, t: Float64Array, score: Float64Array): void {
    if (!this.ctx.wantsDenoised) return;
    this.estimate ??= new Float64Array(x.length);
    fromScore('x0', this.ctx.sde, x, t, score, this.estimate);
    this.at = t[0];
    this.armed = false;
  }

  /** The estimate and its time, for stepDone(step, t, ...take()). */
  take(): [Float64Array | undefined, number | undefined] {
    return this.estimate && this.ctx.wantsDenoised ? [this.estimate, this.at] : [undefined, undefined];
  }
}
