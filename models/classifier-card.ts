import { z } from 'zod';

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
