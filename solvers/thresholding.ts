import { z } from 'zod';
import { ParameterError } from '../core/errors';
import { SolverContext } from './solver';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { abs, floor, max, min } = Math;

/**
 * Dynamic thresholding of x̂_0 (Saharia et al. 2022, Imagen): for image models whose data lie in a
 * known range, a data-prediction solver clips each step's x̂_0 per sample, which keeps large
 * steps from pushing pixels far outside the range. The range is a fact about the model (the card's
 * dataRange, through SampleRequest.dataRange → ctx.dataRange); whether to threshold is a setting.
 */
export const thresholdingSettings = {
  thresholding: z
    .boolean()
    .default(false)
    .describe(
      "Dynamic thresholding of x̂_0 (Saharia et al. 2022): each step's x̂_0 is mapped to [−1, 1] by the data range (the model card's dataRange; an error without one), " +
        'clipped per sample at s = max(1, the thresholdRatio quantile of |x̂_0|) and divided by s.',
    ),
  thresholdRatio: z
    .number()
    .gt(0)
    .lte(1)
    .optional()
    .describe('Quantile of |x̂_0| per sample that sets the clipping level s of dynamic thresholding (only with thresholding: true). Default 0.995, as Imagen and DPM-Solver.'),
};

export interface ThresholdingOptions {
  thresholding: boolean;
  thresholdRatio?: number;
}

/** Clips x̂_0 in place, per sample; undefined when thresholding is off. */
export class Thresholder {
  private readonly center: number;
  private readonly halfWidth: number;
  private readonly sorted: Float64Array;
  private readonly lo: number;
  private readonly hi: number;

  private constructor(
    range: readonly [number, number],
    private readonly ratio: number,
    private readonly dim: number,
  ) {
    this.center = 0.5 * (range[0] + range[1]);
    this.halfWidth = 0.5 * (range[1] - range[0]);
    this.sorted = new Float64Array(dim);
    [this.lo, this.hi] = range;
  }

  static for(ctx: SolverContext, o: ThresholdingOptions, solver: string): Thresholder | undefined {
    if (!o.thresholding) return undefined;
    const range = ctx.dataRange;
    if (!range) {
      throw new ParameterError(`solver '${solver}': thresholding needs the data's range (a model card's dataRange, or SampleRequest.dataRange); this model has none`);
    }
    if (!(range[1] > range[0])) throw new ParameterError(`solver '${solver}': thresholding needs a data range lo < hi, got [${range.join(', ')}]`);
    return new Thresholder(range, o.thresholdRatio ?? 0.995, ctx.dim);
  }

  apply(x0: Float64Array): void {
    const { dim, sorted, center, halfWidth } = this;
    for (let row = 0; row < x0.length; row += dim) {
      for (let j = 0; j < dim; j++) sorted[j] = abs((x0[row + j] - center) / halfWidth);
      sorted.sort();
      // Linear interpolation between order statistics (torch.quantile's default).
      const pos = this.ratio * (dim - 1);
      const k = floor(pos);
      const q = k + 1 < dim ? sorted[k] + (pos - k) * (sorted[k + 1] - sorted[k]) : sorted[k];
      if (q <= 1) {
        // s = 1: a plain clip to the range (exact: values inside it stay bit for bit).
        for (let j = row; j < row + dim; j++) x0[j] = max(this.lo, min(this.hi, x0[j]));
        continue;
      }
      const w = q * halfWidth;
      for (let j = row; j < row + dim; j++) x0[j] = center + max(-w, min(w, x0[j] - center)) / q;
    }
  }
}
