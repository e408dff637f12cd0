// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { sqrt } = Math;

/**
 * Replicates: the same sweep cell run with several seeds (the sweep's `seeds`, an axis on
 * sampling.seed). A metric's replicates give its mean, standard deviation and the half-width of a
 * 95% confidence interval for the mean, t₀.₉₇₅(k−1)·sd/√k (Student's t: k is small).
 */

// t₀.₉₇₅ quantiles of Student's t for 1..30 degrees of freedom (standard tables).
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074,
  2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The 0.975 quantile of Student's t with df degrees of freedom (table to 30, then the Cornish–Fisher expansion). */
export function t975(df: number): number {
  if (!(Number.isInteger(df) && df >= 1)) throw new RangeError(`t975: degrees of freedom must be an integer >= 1, got ${df}`);
  if (df <= T975.length) return T975[df - 1];
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

export interface Spread {
  mean: number;
  /** Sample standard deviation (0 for one value). */
  sd: number;
  /** Half-width of the 95% confidence interval of the mean (NaN for one value). */
  ci95: number;
  k: number;
}

export function spread(values: readonly number[]): Spread {
  const k = values.length;
  if (k === 0) return { mean: NaN, sd: NaN, ci95: NaN, k };
  const mean = values.reduce((a, b) => a + b, 0) / k;
  if (k === 1) return { mean, sd: 0, ci95: NaN, k };
  const sd = sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (k - 1));
  return { mean, sd, ci95: (t975(k - 1) * sd) / sqrt(k), k };
}
