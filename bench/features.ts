import * as path from 'node:path';
import { npyToFloat64, readNpy } from '../core/npy';
import { FeatureClassifier } from '../metrics/features';
import { referenceFor } from '../metrics/image-quality';
import { frechetDistance, gaussianStats } from '../metrics/frechet';
import { kernelInceptionDistance } from '../metrics/kid';
import { onnxDotProducts } from '../metrics/onnx-dots';
import { ROOT } from './root';
import { median, timeRuns } from './timing';

/**
 * The cost of a run's image metrics: classifier features of n images (onnxruntime), their mean
 * and covariance, the Fréchet distance to the shipped test statistics, and KID against the
 * shipped reference rows. The images are the shipped 1 000-image test slice, tiled to n (the
 * classifier's cost does not depend on the pixels).
 */

export interface FeatureBench {
  n: number;
  featureDim: number;
  featuresMs: number;
  statsMs: number;
  fdMs: number;
  kidMs: number;
  /** features + statistics + FD: what FD alone costs a run. */
  fdTotalMs: number;
  imagesPerSecond: number;
}

export async function measureImageMetrics(opts: { quick: boolean; reps: number; threads: number }): Promise<FeatureBench> {
  const n = opts.quick ? 500 : 10000;
  const slice = npyToFloat64(readNpy(path.join(ROOT, 'models', 'fashion-mnist', 'fashion-mnist-test-1000.npy')));
  const images = new Float32Array(n * 784);
  for (let i = 0; i < images.length; i++) images[i] = slice[i % slice.length];
  const classifier = await FeatureClassifier.load(path.join(ROOT, 'models', 'fashion-mnist', 'classifier.onnx'), { threads: opts.threads });
  try {
    const reference = referenceFor(classifier);
    const d = classifier.featureDim;
    let features: Float32Array = new Float32Array(0);
    const featuresMs = median(await timeRuns(async () => void ({ features } = await classifier.run(images, n)), opts.reps));
    let stats = gaussianStats(features, d);
    const statsMs = median(await timeRuns(() => void (stats = gaussianStats(features, d)), opts.reps));
    const fdMs = median(await timeRuns(() => frechetDistance(stats, reference.stats), opts.reps));
    const kidMs = median(await timeRuns(() => kernelInceptionDistance(features, reference.features!, d, { dots: onnxDotProducts }), opts.reps));
    const fdTotalMs = featuresMs + statsMs + fdMs;
    return { n, featureDim: d, featuresMs, statsMs, fdMs, kidMs, fdTotalMs, imagesPerSecond: (1000 * n) / featuresMs };
  } finally {
    await classifier.dispose();
  }
}
