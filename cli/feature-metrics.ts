import * as path from 'path';
import { ConfigError } from '../configs/errors';
import { Source, locate } from '../configs/load';
import { BuiltModel } from '../configs/model-loader';
import { planFeatures } from '../configs/resolve';
import { ExperimentConfig } from '../configs/schema';
import type { ImageQualityInfo } from '../metrics/image-quality';
import { formatNumber } from './format';

/**
 * A run's image metrics (FD, KID, class coverage, with their floors at the run's n) in the feature
 * space of the classifier that reference.features or the model card names. Loaded lazily: runs
 * without images never load the classifier.
 */

/** The metrics this adds to a run's (printed on their own summary line). */
export const FEATURE_METRICS = ['fd', 'fdFloor', 'fdFloorSd', 'kid', 'kidStd', 'kidFloor', 'kidFloorSd', 'classTV', 'classTVFloor', 'confidence', 'refConfidence'];

export type FeatureMetricsInfo = ({ source: 'classifier'; from: string } & ImageQualityInfo) | { source: 'none'; reason: string };

export async function featureMetrics(
  config: ExperimentConfig,
  built: BuiltModel,
  samples: ArrayLike<number>,
  n: number,
  sources: readonly Source[],
): Promise<{ metrics: Record<string, number>; info: FeatureMetricsInfo }> {
  const plan = planFeatures(config, built.card, built.cardPath, built.sampleShape);
  if (plan.source === 'none') return { metrics: {}, info: plan };
  const fail = (message: string) => ConfigError.at({ ...locate(sources, ['reference', 'features']), path: 'reference.features', message });
  const { FeatureClassifier } = require('../metrics/features') as typeof import('../metrics/features');
  const { imageQuality, referenceFor } = require('../metrics/image-quality') as typeof import('../metrics/image-quality');
  let classifier: import('../metrics/features').FeatureClassifier;
  try {
    classifier = await FeatureClassifier.load(plan.path);
  } catch (e) {
    throw fail(`${plan.from}: ${(e as Error).message}`);
  }
  try {
    const { sampleShape, dataRange } = classifier.card;
    if (sampleShape.join(',') !== built.sampleShape.join(',')) {
      throw fail(`the classifier ${path.basename(plan.path)} takes images [${sampleShape.join(', ')}], the samples are [${built.sampleShape.join(', ')}]`);
    }
    if (built.dataRange && built.dataRange.join(',') !== dataRange.join(',')) {
      throw fail(`the classifier ${path.basename(plan.path)} takes data in [${dataRange.join(', ')}], the model's samples are in [${built.dataRange.join(', ')}]`);
    }
    let reference;
    try {
      reference = referenceFor(classifier);
    } catch (e) {
      throw fail((e as Error).message);
    }
    const q = await imageQuality(classifier, reference, samples, n);
    return { metrics: q.metrics, info: { source: 'classifier', from: plan.from, ...q.info } };
  } finally {
    await classifier.dispose();
  }
}

const fmt = formatNumber;

/** The run summary's image-quality line, or '' when there were no image metrics. */
export function featureSummary(metrics: Record<string, number>, info: FeatureMetricsInfo | undefined): string {
  if (!info || info.source !== 'classifier' || metrics.fd === undefined) return '';
  const floor = (m: string) => (metrics[`${m}Floor`] !== undefined ? ` (floor ${fmt(metrics[`${m}Floor`])} ± ${fmt(metrics[`${m}FloorSd`] ?? 0)})` : '');
  const kid = metrics.kid !== undefined ? `, KID ${fmt(metrics.kid)} ± ${fmt(metrics.kidStd)}${floor('kid')}` : '';
  return (
    `  features (${path.basename(info.classifier)}, n = ${info.n}): FD ${fmt(metrics.fd)}${floor('fd')}${kid}, ` +
    `class TV ${fmt(metrics.classTV)}${metrics.classTVFloor !== undefined ? ` (floor ${fmt(metrics.classTVFloor)})` : ''}, confidence ${fmt(metrics.confidence)} (data ${fmt(metrics.refConfidence)})`
  );
}
