import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import { npyToFloat64, readNpy } from '../core/npy';
import { GaussianStats } from './frechet';

/**
 * Reference statistics of a data split in a classifier's feature space, as written by
 * `npm run metrics:reference` (cli/metrics-reference.ts): a small JSON beside .npy files.
 *
 *   mean, cov       float64 [d] and [d, d] of all images of the split (FD's reference Gaussian)
 *   features        float32 [m, d] of m of the split's images (KID's reference rows), optional
 *   histograms      the split's labels, and the classifier's predictions on it (class coverage
 *                   compares samples' predictions with the latter: same instrument on both sides)
 *   floors          what data scores at n: FD, KID, class TV and confidence of n images from
 *                   outside the reference split against it, over several draws (mean ± sd)
 *   classifierSha256  the classifier the statistics belong to; a mismatch is an error
 */

export const FEATURE_REFERENCE_FORMAT = 'score-sde-feature-reference/1';

const spread = z.object({ mean: z.number(), sd: z.number() }).strict();

export const floorRowSchema = z
  .object({ n: z.number().int().positive(), draws: z.number().int().positive(), fd: spread, kid: spread, classTV: spread, confidence: spread })
  .strict();

export const featureReferenceSchema = z
  .object({
    format: z.literal(FEATURE_REFERENCE_FORMAT),
    classifier: z.string(),
    classifierSha256: z.string(),
    data: z.object({ name: z.string(), split: z.string(), source: z.string(), n: z.number().int().positive() }).strict(),
    featureDim: z.number().int().positive(),
    mean: z.string(),
    cov: z.string(),
    features: z.object({ file: z.string(), rows: z.number().int().positive(), which: z.string() }).strict().optional(),
    labelHistogram: z.array(z.number()),
    predictedHistogram: z.array(z.number()),
    accuracy: z.number(),
    confidence: z.number(),
    floors: z
      .object({ method: z.string(), kid: z.record(z.string(), z.unknown()), rows: z.array(floorRowSchema).min(1) })
      .strict()
      .optional(),
    computedBy: z.string(),
    createdAt: z.string(),
    seconds: z.number().optional(),
  })
  .strict();

export type FeatureReferenceJson = z.infer<typeof featureReferenceSchema>;
export type FloorRow = z.infer<typeof floorRowSchema>;
export type FloorMetric = 'fd' | 'kid' | 'classTV' | 'confidence';

export interface FeatureReference {
  file: string;
  json: FeatureReferenceJson;
  stats: GaussianStats;
  /** KID's reference rows (m × d), when the file has them. */
  features?: Float64Array;
}

export class FeatureReferenceError extends Error {
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'FeatureReferenceError';
  }
}

export function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Reads a reference JSON and its .npy files (relative to it); checks shapes, and the classifier's hash when given. */
export function loadFeatureReference(file: string, classifierFile?: string): FeatureReference {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new FeatureReferenceError(abs, 'reference statistics not found (make them with `npm run metrics:reference`)');
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(abs, 'utf8'));
  } catch (e) {
    throw new FeatureReferenceError(abs, `not valid JSON: ${(e as Error).message}`);
  }
  const parsed = featureReferenceSchema.safeParse(raw);
  if (!parsed.success) {
    throw new FeatureReferenceError(abs, `invalid reference statistics: ${parsed.error.issues.slice(0, 4).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const json = parsed.data;
  if (classifierFile && sha256File(classifierFile) !== json.classifierSha256) {
    throw new FeatureReferenceError(abs, `computed with another classifier than ${classifierFile} (sha256 differs): recompute them with \`npm run metrics:reference\``);
  }
  const d = json.featureDim;
  const dir = path.dirname(abs);
  const load = (name: string, shape: (number | undefined)[]): Float64Array => {
    const arr = readNpy(path.resolve(dir, name));
    if (arr.shape.length !== shape.length || shape.some((s, i) => s !== undefined && s !== arr.shape[i])) {
      throw new FeatureReferenceError(abs, `${name} has shape [${arr.shape.join(', ')}], expected [${shape.map((s) => s ?? 'm').join(', ')}]`);
    }
    return npyToFloat64(arr);
  };
  const stats: GaussianStats = { dim: d, n: json.data.n, mean: load(json.mean, [d]), cov: load(json.cov, [d, d]) };
  const features = json.features ? load(json.features.file, [json.features.rows, d]) : undefined;
  return { file: abs, json, stats, features };
}

export interface Floor {
  mean: number;
  sd: number;
  /** Whether n is one of the ladder's (else interpolated between, or extrapolated beyond, its ends). */
  exact: boolean;
  extrapolated: boolean;
}

/**
 * A floor at any n from the ladder: exact at the ladder's n, else linear in 1/n between the two
 * neighbouring rows (FD's small-sample bias is ∝ 1/n), and beyond the ends along the end segment.
 */
export function floorAt(rows: readonly FloorRow[], metric: FloorMetric, n: number): Floor {
  const sorted = [...rows].sort((a, b) => a.n - b.n);
  const hit = sorted.find((r) => r.n === n);
  if (hit) return { mean: hit[metric].mean, sd: hit[metric].sd, exact: true, extrapolated: false };
  if (sorted.length === 1) return { mean: sorted[0][metric].mean, sd: sorted[0][metric].sd, exact: false, extrapolated: true };
  let i = sorted.findIndex((r) => r.n > n);
  const extrapolated = i <= 0;
  if (i === -1) i = sorted.length - 1;
  if (i === 0) i = 1;
  const lo = sorted[i - 1];
  const hi = sorted[i];
  const w = (1 / n - 1 / lo.n) / (1 / hi.n - 1 / lo.n);
  const at = (a: number, b: number) => a + w * (b - a);
  return { mean: at(lo[metric].mean, hi[metric].mean), sd: Math.max(0, at(lo[metric].sd, hi[metric].sd)), exact: false, extrapolated };
}
