import { z } from 'zod';
import { sdeSpecSchema } from '../sdes/spec-schema';

/**
 * The model card: everything a sampler needs to use an exported score network correctly. It lives
 * in the ONNX file's metadata (key `score_sde_card`, a JSON string) and/or in `<model>.card.json`
 * beside it; models/onnx/card-source.ts reads it, with one precedence, for validate and run alike.
 * A config that points at a model needs nothing else, and a config that contradicts the card is
 * an error rather than a silent wrong sample.
 */

export const TIME_CONVENTIONS = ['t', 't999', 'sigma', 'timestep', 'edm_c_noise'] as const;
/**
 * How the network's time input is computed from continuous t:
 *   t            continuous t
 *   t999         999·t (score_sde's VP models)
 *   sigma        the kernel std σ(t) (score_sde's VE models)
 *   timestep     round(t/T·(timesteps − 1)), an integer DDPM index
 *   edm_c_noise  ¼ ln σ_edm with σ_edm = std(t)/meanCoef(t) (EDM's c_noise; = ¼ ln σ(t) for VE)
 */
export type TimeConvention = (typeof TIME_CONVENTIONS)[number];

/**
 * The SDE the network was trained under, derived from the SDE registry (sdes/registry.ts): the
 * kind, its variant (a VP family's schedule) and their parameters, defaults filled in, no N.
 */
export const sdeCardSchema = sdeSpecSchema('card');

export const modelCardSchema = z.object({
  format: z.literal('score-sde-card/1'),
  name: z.string(),
  description: z.string().optional(),
  /** The SDE (and kernel schedule) the network was trained under. */
  sde: sdeCardSchema,
  /** What the network outputs: the score, the noise ε, or the clean data x0. */
  parameterization: z.enum(['score', 'eps', 'x0']),
  timeInput: z.enum(TIME_CONVENTIONS),
  /** For timeInput 'timestep': the number of discrete timesteps. */
  timesteps: z.number().int().positive().optional(),
  /** Shape of one sample, without the batch axis, e.g. [2] or [1, 28, 28]. */
  sampleShape: z.array(z.number().int().positive()).min(1),
  /** The range the data was scaled to for training, e.g. [-1, 1]; samples come out in it. */
  dataRange: z.tuple([z.number(), z.number()]).optional(),
  /**
   * Names of the graph's inputs and output; discovered from the model when absent. `label`: the
   * per-sample class label input of a conditional network (the same as conditioning.input).
   */
  inputs: z.object({ x: z.string(), t: z.string(), label: z.string().optional() }).strict().optional(),
  output: z.string().optional(),
  /**
   * A class-conditional network (classifier-free guidance): `input` takes one label per sample
   * (int64 or int32 [batch]), classes[i] is label i's name, `nullLabel` is the label that gives
   * the unconditional output (labels were dropped to it with probability pUncond in training).
   */
  conditioning: z
    .object({
      input: z.string(),
      classes: z.array(z.string().min(1)).min(1),
      nullLabel: z.number().int().nonnegative(),
      pUncond: z.number().min(0).max(1).optional(),
    })
    .strict()
    .optional(),
  /** Where the training data came from, and reference data for metrics, relative to the card. */
  data: z.object({
    name: z.string(),
    reference: z.string().optional(),
    /** Feature classifier (.onnx) for FD, KID and class coverage of image samples, relative to the card. */
    classifier: z.string().optional(),
    mixture: z.object({
      means: z.array(z.array(z.number())),
      stds: z.union([z.array(z.number()), z.array(z.array(z.number()))]).optional(),
      weights: z.array(z.number()).optional(),
    }).optional(),
  }).optional(),
  /** Free-form training record: script, epochs, loss, time, parameter count. */
  training: z.record(z.string(), z.unknown()).optional(),
}).strict();

export type ModelCard = z.infer<typeof modelCardSchema>;
export type SdeCard = z.infer<typeof sdeCardSchema>;
