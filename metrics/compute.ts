import { Samples } from './rows';
import { slicedWasserstein } from './wasserstein';
import { mmdRbf } from './mmd';
import { covarianceError, meanError } from './moments';
import { pixelHistogramDistance, pixelStats } from './pixels';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { min, max } = Math;

export interface MetricOptions {
  /** Sliced Wasserstein directions and their seed. */
  projections?: number;
  projectionSeed?: number;
  mmdMaxSamples?: number;
  /** Image data range for the pixel histogram; default the reference's min/max. */
  dataRange?: readonly [number, number];
  /** Which metrics; default all that apply. */
  only?: readonly string[];
}

export type Metrics = Record<string, number>;

/** Whether a sample shape is an image (channels × height × width or height × width). */
export function isImageShape(shape: readonly number[]): boolean {
  return shape.length >= 2;
}

/**
 * Every metric that applies to this sample shape:
 *   all:      sw (SW₂), mmd2, meanError; covError where dim ≤ 256
 *   images:   pixelMean, pixelStd, refPixelMean, refPixelStd, pixelHist (TV distance, 64 bins)
 */
export function computeMetrics(samples: Samples, reference: Samples, shape: readonly number[], opts: MetricOptions = {}): Metrics {
  const dim = shape.reduce((x, y) => x * y, 1);
  const want = (name: string) => !opts.only || opts.only.includes(name);
  const out: Metrics = {};
  if (want('sw')) out.sw = slicedWasserstein(samples, reference, dim, { projections: opts.projections, seed: opts.projectionSeed });
  if (want('mmd2')) out.mmd2 = mmdRbf(samples, reference, dim, { maxSamples: opts.mmdMaxSamples }).mmd2;
  if (want('meanError')) out.meanError = meanError(samples, reference, dim);
  if (want('covError') && dim <= 256) out.covError = covarianceError(samples, reference, dim);
  if (isImageShape(shape)) {
    const s = pixelStats(samples);
    const r = pixelStats(reference);
    out.pixelMean = s.mean;
    out.pixelStd = s.std;
    out.refPixelMean = r.mean;
    out.refPixelStd = r.std;
    if (want('pixelHist')) {
      let range = opts.dataRange;
      if (!range) {
        let lo = Infinity;
        let hi = -Infinity;
        for (let i = 0; i < reference.length; i++) {
          lo = min(lo, reference[i]);
          hi = max(hi, reference[i]);
        }
        range = [lo, hi > lo ? hi : lo + 1];
      }
      out.pixelHist = pixelHistogramDistance(samples, reference, range);
    }
  }
  return out;
}
