import { existsSync, readFileSync } from 'fs';
import { basename, dirname, extname, join, resolve } from 'path';
import { z } from 'zod';
import { ModelFileError } from './onnx/errors';
import { readOnnxTopLevelFile } from './onnx/onnx-file';

/**
 * The card of a feature classifier (the network in whose feature space FD, KID and class
 * coverage are measured): in the ONNX metadata (key `score_sde_classifier`) or in
 * `<classifier>.card.json` beside it, like a score model's card. Reference file names are relative
 * to the card.
 */

export const CLASSIFIER_METADATA_KEY = 'score_sde_classifier';

export const classifierCardSchema = z
  .object({
    format: z.literal('score-sde-classifier/1'),
    name: z.string(),
    description: z.string().optional(),
    /** Graph input (images) and outputs (features [B, featureDim], logits [B, classes]). */
    input: z.string(),
    features: z.string(),
    logits: z.string(),
    sampleShape: z.array(z.number().int().positive()).min(1),
    dataRange: z.tuple([z.number(), z.number()]),
    featureDim: z.number().int().positive(),
    classes: z.array(z.string()).min(2),
    /** Accuracy on the data set's test split, as measured by the training script. */
    testAccuracy: z.number().min(0).max(1),
    /** Reference statistics files (relative to the card): the test split, and the train split. */
    reference: z.object({ test: z.string(), train: z.string().optional() }).strict(),
    training: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type ClassifierCard = z.infer<typeof classifierCardSchema>;

/** Reads and validates a classifier card: the metadata first, then the .card.json beside the file. */
export function readClassifierCard(file: string): { card: ClassifierCard; cardPath: string } {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new ModelFileError(abs, 'classifier file not found');
  const jsonPath = join(dirname(abs), `${basename(abs, extname(abs))}.card.json`);
  let meta: string | undefined;
  try {
    meta = readOnnxTopLevelFile(abs).metadata[CLASSIFIER_METADATA_KEY];
  } catch (e) {
    throw new ModelFileError(abs, `not an ONNX model (${(e as Error).message})`);
  }
  if (meta === undefined && !existsSync(jsonPath)) {
    throw new ModelFileError(abs, `no classifier card: no ONNX metadata '${CLASSIFIER_METADATA_KEY}' and no ${jsonPath}`);
  }
  const where = meta !== undefined ? `ONNX metadata '${CLASSIFIER_METADATA_KEY}'` : jsonPath;
  let raw: unknown;
  try {
    raw = JSON.parse(meta ?? readFileSync(jsonPath, 'utf8'));
  } catch (e) {
    throw new ModelFileError(abs, `the classifier card in ${where} is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = classifierCardSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(card)'}: ${i.message}`).join('; ');
    throw new ModelFileError(abs, `the classifier card in ${where} is invalid: ${issues}`);
  }
  // Reference files are relative to the card; an embedded card counts as sitting beside the file.
  return { card: parsed.data, cardPath: jsonPath };
}

/** The test split's reference statistics file a classifier's card names, or undefined when the card cannot be read. */
export function classifierReferenceFile(file: string): string | undefined {
  try {
    const { card, cardPath } = readClassifierCard(file);
    return resolve(dirname(cardPath), card.reference.test);
  } catch {
    return undefined;
  }
}
