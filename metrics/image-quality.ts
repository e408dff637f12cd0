import * as path from 'path';
import { Samples } from './rows';
import { classCoverage, histogramTv, labelAccuracy } from './coverage';
import { FeatureClassifier } from './features';
import { FeatureReference, floorAt, loadFeatureReference } from './feature-reference';
import { frechetDistance, gaussianStats } from './frechet';
import { KidOptions, kernelInceptionDistance } from './kid';
import { onnxDotProducts } from './onnx-dots';

/**
 * Image quality in a classifier's feature space, against a data split's reference statistics:
 *   fd          Fréchet distance of the samples' feature Gaussian to the reference's
 *   kid, kidStd KID (unbiased MMD², cubic kernel) against the reference rows, ± its subset spread
 *   classTV     TV distance of the predicted-class histogram to the classifier's on the data
 *   confidence  mean max-softmax of the samples (refConfidence: the data's)
 *   labelAccuracy  with requested labels (conditional runs): share classified as their label;
 *               labelAccuracyFloor is the classifier's own test accuracy (what real images reach)
 * and the floors at the same n (data against the same reference: FD's small-n bias, KID's and
 * classTV's noise), so a reader sees how far a sampler is from what real images score.
 */

export interface ImageQualityInfo {
  classifier: string;
  reference: string;
  n: number;
  featureDim: number;
  /** KID's subsets, subset size and rows used from each side. */
  kid?: { subsets: number; subsetSize: number; rows: [number, number] };
  /** How the floors at n were obtained (ladder row, interpolated, or extrapolated). */
  floor: { at: number; how: 'ladder' | 'interpolated' | 'extrapolated'; method: string } | null;
  histogram: number[];
}

export interface ImageQuality {
  metrics: Record<string, number>;
  info: ImageQualityInfo;
}

/** The reference statistics a classifier's card names for its test split (checked against the classifier file's hash). */
export function referenceFor(classifier: Pick<FeatureClassifier, 'file' | 'card' | 'cardPath'>): FeatureReference {
  return loadFeatureReference(path.resolve(path.dirname(classifier.cardPath), classifier.card.reference.test), classifier.file);
}

/** FD, KID and class coverage of n images against the reference, with the floors at n. */
export async function imageQuality(
  classifier: FeatureClassifier,
  reference: FeatureReference,
  images: Samples,
  n: number,
  kid: KidOptions = {},
  labels?: readonly number[],
): Promise<ImageQuality> {
  if (n < 2) throw new RangeError('imageQuality: need at least 2 images');
  const d = classifier.featureDim;
  if (reference.stats.dim !== d) throw new RangeError(`${reference.file} has ${reference.stats.dim}-d features, the classifier ${d}`);
  const { features, logits } = await classifier.run(images, n);
  const fd = frechetDistance(gaussianStats(features, d), reference.stats);
  const metrics: Record<string, number> = { fd: fd.fd };
  let kidInfo: ImageQualityInfo['kid'];
  if (reference.features) {
    const k = await kernelInceptionDistance(features, reference.features, d, { dots: onnxDotProducts, ...kid });
    metrics.kid = k.kid;
    metrics.kidStd = k.std;
    kidInfo = { subsets: k.subsets, subsetSize: k.subsetSize, rows: k.rows };
  }
  const coverage = classCoverage(logits, classifier.classes);
  metrics.classTV = histogramTv(coverage.histogram, reference.json.predictedHistogram);
  metrics.confidence = coverage.confidence;
  metrics.refConfidence = reference.json.confidence;
  if (labels) {
    metrics.labelAccuracy = labelAccuracy(logits, classifier.classes, labels);
    metrics.labelAccuracyFloor = classifier.card.testAccuracy;
  }
  let floor: ImageQualityInfo['floor'] = null;
  const rows = reference.json.floors?.rows;
  if (rows) {
    const f = (m: 'fd' | 'kid' | 'classTV') => floorAt(rows, m, n);
    const fdFloor = f('fd');
    metrics.fdFloor = fdFloor.mean;
    metrics.fdFloorSd = fdFloor.sd;
    if (reference.features) {
      metrics.kidFloor = f('kid').mean;
      metrics.kidFloorSd = f('kid').sd;
    }
    metrics.classTVFloor = f('classTV').mean;
    floor = { at: n, how: fdFloor.exact ? 'ladder' : fdFloor.extrapolated ? 'extrapolated' : 'interpolated', method: reference.json.floors!.method };
  }
  return {
    metrics,
    info: { classifier: classifier.file, reference: reference.file, n, featureDim: d, kid: kidInfo, floor, histogram: coverage.histogram },
  };
}
