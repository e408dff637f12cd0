import * as path from 'path';
import { ConfigError } from '../configs/errors';
import { Source, locate } from '../configs/load';
import { BuiltModel } from '../configs/model-loader';
import { FeaturePlan, planFeatures } from '../configs/resolve';
import { ExperimentConfig } from '../configs/schema';
import type { ImageQualityInfo } from '../metrics/image-quality';
import { ClassifierCard, readClassifierCard } from '../models/classifier-card';
import { formatNumber } from './format';

/**
 * A run's image metrics (FD, KID, class coverage, with their floors at the run's n) in the feature
 * space of the classifier that reference.features or the model card names. In two steps, so that
 * a bad classifier or stale reference statistics stop the run before it samples, not after:
 *   const features = prepareFeatureMetrics(config, built, sources);   // reads and checks the files
 *   const { metrics, info } = await features.measure(samples, n);     // runs the classifier
 * The classifier module (onnxruntime) is loaded only for runs that have image metrics.
 */

/** The metrics this adds to a run's (printed on their own summary line). */
export const FEATURE_METRICS = [
  'fd',
  'fdFloor',
  'fdFloorSd',
  'kid',
  'kidStd',
  'kidFloor',
  'kidFloorSd',
  'classTV',
  'classTVFloor',
  'confidence',
  'refConfidence',
  'labelAccuracy',
  'labelAccuracyFloor',
];

export type FeatureMetricsInfo = ({ source: 'classifier'; from: string } & ImageQualityInfo) | { source: 'none'; reason: string };

export interface PreparedFeatureMetrics {
  plan: FeaturePlan;
  /** Whether the run has image metrics to measure. */
  active: boolean;
  /** Why there are none (inactive); undefined until measured otherwise. */
  info?: FeatureMetricsInfo;
  /** `labels`: the class each sample was asked for (cycled), for a conditional run's label accuracy. */
  measure(samples: ArrayLike<number>, n: number, labels?: readonly number[]): Promise<{ metrics: Record<string, number>; info?: FeatureMetricsInfo }>;
}

export function prepareFeatureMetrics(config: ExperimentConfig, built: BuiltModel, sources: readonly Source[]): PreparedFeatureMetrics {
  const plan = planFeatures(config, built.card, built.cardPath, built.sampleShape);
  if (plan.source === 'none') return { plan, active: false, info: plan, measure: async () => ({ metrics: {}, info: plan }) };
  const fail = (message: string) => ConfigError.at({ ...locate(sources, ['reference', 'features']), path: 'reference.features', message });
  const { FeatureClassifier } = require('../metrics/features') as typeof import('../metrics/features');
  const { imageQuality, referenceFor } = require('../metrics/image-quality') as typeof import('../metrics/image-quality');
  const name = path.basename(plan.path);
  let card: ClassifierCard;
  let reference: import('../metrics/feature-reference').FeatureReference;
  try {
    const read = readClassifierCard(plan.path);
    card = read.card;
    reference = referenceFor({ file: path.resolve(plan.path), card, cardPath: read.cardPath });
  } catch (e) {
    throw fail(`${plan.from === 'reference.features' ? '' : `${plan.from}: `}${(e as Error).message}`);
  }
  if (card.sampleShape.join(',') !== built.sampleShape.join(',')) {
    throw fail(`the classifier ${name} takes images [${card.sampleShape.join(', ')}], the samples are [${built.sampleShape.join(', ')}]`);
  }
  if (built.dataRange && built.dataRange.join(',') !== card.dataRange.join(',')) {
    throw fail(`the classifier ${name} takes data in [${card.dataRange.join(', ')}], the model's samples are in [${built.dataRange.join(', ')}]`);
  }
  return {
    plan,
    active: true,
    async measure(samples, n, labels) {
      const classifier = await FeatureClassifier.load(plan.path);
      try {
        const q = await imageQuality(classifier, reference, samples, n, {}, labels);
        return { metrics: q.metrics, info: { source: 'classifier', from: plan.from, ...q.info } };
      } finally {
        await classifier.dispose();
      }
    },
  };
}

const fmt = formatNumber;

/** The run summary's image-quality line, or '' when there were no image metrics. */
export function featureSummary(metrics: Record<string, number>, info: FeatureMetricsInfo | undefined): string {
  if (!info || info.source !== 'classifier' || metrics.fd === undefined) return '';
  const floor = (m: string) => (metrics[`${m}Floor`] !== undefined ? ` (floor ${fmt(metrics[`${m}Floor`])} ± ${fmt(metrics[`${m}FloorSd`] ?? 0)})` : '');
  const kid = metrics.kid !== undefined ? `, KID ${fmt(metrics.kid)} ± ${fmt(metrics.kidStd)}${floor('kid')}` : '';
  return (
    `  features (${path.basename(info.classifier)}, n = ${info.n}): FD ${fmt(metrics.fd)}${floor('fd')}${kid}, ` +
    `class TV ${fmt(metrics.classTV)}${metrics.classTVFloor !== undefined ? ` (floor ${fmt(metrics.classTVFloor)})` : ''}, confidence ${fmt(metrics.confidence)} (data ${fmt(metrics.refConfidence)})` +
    `${metrics.labelAccuracy !== undefined ? `, label accuracy ${fmt(metrics.labelAccuracy)} (classifier on data ${fmt(metrics.labelAccuracyFloor)})` : ''}`
  );
}
