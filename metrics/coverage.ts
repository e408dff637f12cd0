import { checkRows } from './rows';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { exp, abs } = Math;

/**
 * Class coverage from a classifier's logits: how often each class is predicted (argmax), the
 * total-variation distance ½ Σ |p − q| of that histogram to a reference one, and the mean
 * confidence (max softmax). A sampler that drops a class, or makes one too often, shows in the
 * TV; one whose images the classifier cannot place shows as low confidence.
 */

export interface ClassCoverage {
  /** Fraction of rows predicted as each class. */
  histogram: number[];
  /** Mean of the largest softmax probability. */
  confidence: number;
  /** Rows classified. */
  n: number;
}

/** Predicted-class histogram and mean confidence of n rows of `classes` logits. */
export function classCoverage(logits: ArrayLike<number>, classes: number): ClassCoverage {
  const n = checkRows(logits, classes, 'logits');
  if (n === 0) throw new RangeError('classCoverage: no rows');
  const counts = new Float64Array(classes);
  let confidence = 0;
  for (let i = 0; i < n; i++) {
    const row = i * classes;
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[row + c] > logits[row + best]) best = c;
    // max softmax = 1 / Σ exp(l_c − l_max), stable for any logits.
    let z = 0;
    for (let c = 0; c < classes; c++) z += exp(logits[row + c] - logits[row + best]);
    confidence += 1 / z;
    counts[best]++;
  }
  return { histogram: Array.from(counts, (c) => c / n), confidence: confidence / n, n };
}

/** Total-variation distance ½ Σ |p − q| between two histograms of fractions (in [0, 1]). */
export function histogramTv(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) throw new RangeError(`histogramTv: ${p.length} and ${q.length} bins`);
  let s = 0;
  for (let k = 0; k < p.length; k++) s += abs(p[k] - q[k]);
  return s / 2;
}

/** A histogram of fractions of integer labels 0..classes−1. */
export function labelHistogram(labels: ArrayLike<number>, classes: number): number[] {
  const counts = new Float64Array(classes);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!(Number.isInteger(c) && c >= 0 && c < classes)) throw new RangeError(`labelHistogram: label ${c} at ${i} is not in 0..${classes - 1}`);
    counts[c]++;
  }
  return Array.from(counts, (c) => c / labels.length);
}

/**
 * Share of rows whose predicted class (argmax of the logits) is the requested label
 * (labels[i mod labels.length] for row i): how well a class-conditional sampler hits its classes.
 */
export function labelAccuracy(logits: ArrayLike<number>, classes: number, labels: readonly number[]): number {
  const n = checkRows(logits, classes, 'logits');
  if (n === 0 || labels.length === 0) throw new RangeError('labelAccuracy: no rows or no labels');
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const row = i * classes;
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[row + c] > logits[row + best]) best = c;
    if (best === labels[i % labels.length]) hits++;
  }
  return hits / n;
}
