import { z } from 'zod';
import { TIME_CONVENTIONS } from '../models/card';
import { SOLVERS } from '../solvers/registry';
import { PARAMETERIZATIONS } from '../sdes/parameterization';
import { sdeSpecSchema } from '../sdes/spec-schema';
import { INPAINT_METHODS } from '../solvers/inpaint';
import { NAMED_MASKS } from '../solvers/masks';

/**
 * The experiment config: one YAML (or JSON) file that says which SDE, which score model, which
 * solver with which settings, how many samples from which seed, where the run folder goes, and what
 * to compare the samples against. Objects are strict: an unknown key is an error, never ignored.
 *
 * Every field has a documented default (`.describe()`, shown by `score-sde schema`). Paths are
 * relative to the file that contains them; `extends: other.yaml` inherits from another config
 * (deep merge, child wins; see ./load.ts).
 *
 * The SDE fields have no schema defaults on purpose: a value written in the config is checked
 * against the model card, one left out comes from the card, and only then from the built-in
 * defaults of the SDE registry (sdes/registry.ts; see ./resolve.ts).
 */

export const DEVICES = ['auto', 'cuda', 'cpu'] as const;
export type Device = (typeof DEVICES)[number];

const positive = () => z.number().positive();
const positiveInt = () => z.number().int().positive();

/** Derived from the SDE registry (sdes/registry.ts): one entry per kind, with its defaults. */
export const sdeConfigSchema = sdeSpecSchema('config').describe(
  'The forward SDE. Optional when the model card gives it; where both do, they must agree.',
);

const onnxModelSchema = z
  .object({
    type: z.literal('onnx').describe('An exported score network.'),
    path: z.string().min(1).describe('The .onnx file (relative to this config). Required.'),
    card: z.string().min(1).optional().describe('Model card JSON; its sde must match the card embedded in the network, if any. Default: <model>.card.json beside the model (which must agree with the embedded card), else the card in the ONNX metadata.'),
    device: z.enum(DEVICES).optional().describe("'auto' | 'cuda' | 'cpu'. Default: the top-level `device`."),
    threads: positiveInt().optional().describe('onnxruntime intra-op threads. Default: onnxruntime\'s.'),
    maxBatch: positiveInt().optional().describe('Largest batch per session call (larger batches are split). Default: the loader\'s.'),
    timeInput: z.enum(TIME_CONVENTIONS).optional().describe('Expected time input convention: checked against the card (a mismatch is an error). Default: the card\'s.'),
    parameterization: z.enum(PARAMETERIZATIONS as readonly ['score', 'eps', 'x0']).optional().describe("Expected parameterization 'score' | 'eps' | 'x0': checked against the card. Default: the card's."),
    inputs: z
      .object({
        x: z.string().optional().describe('Name of the sample input. Default: the card\'s, else discovered.'),
        t: z.string().optional().describe('Name of the time input. Default: the card\'s, else discovered.'),
      })
      .strict()
      .optional()
      .describe('Graph input names. Default: the card\'s, else discovered.'),
    output: z.string().optional().describe('Name of the graph output. Default: the card\'s, else the only output.'),
    constants: z
      .record(
        z.string(),
        z
          .object({
            data: z.array(z.number()).describe('Values, row-major.'),
            dims: z.array(z.number().int().nonnegative()).describe('Tensor shape.'),
            type: z.enum(['float32', 'int64', 'int32']).optional().describe("Element type. Default 'float32'."),
          })
          .strict(),
      )
      .optional()
      .describe('Extra graph inputs fed as constants (e.g. class labels). Default none.'),
  })
  .strict();

const mixtureModelSchema = z
  .object({
    type: z.literal('mixture').describe('The exact score of a Gaussian mixture (no network).'),
    means: z.array(z.array(z.number()).min(1)).min(1).describe('K component means of length D. Required.'),
    stds: z
      .union([z.array(positive()), z.array(z.array(positive()))])
      .optional()
      .describe('Per-component std (K) or diagonal stds (K × D). Default 1.'),
    weights: z.array(z.number().nonnegative()).optional().describe('Mixture weights (normalized). Default uniform.'),
    classes: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('Names of the components as classes: the mixture becomes a class-conditional model (component k is class k, its null label K the whole mixture), for sampling.labels and guidance. Default: unconditional.'),
  })
  .strict();

const gaussianModelSchema = z
  .object({
    type: z.literal('gaussian').describe('The exact score of Gaussian data N(mean, diag std²).'),
    mean: z.array(z.number()).min(1).describe('Mean (length D). Required.'),
    std: z.union([positive(), z.array(positive())]).default(1).describe('Std: one number or one per coordinate. Default 1.'),
  })
  .strict();

export const modelConfigSchema = z
  .discriminatedUnion('type', [onnxModelSchema, mixtureModelSchema, gaussianModelSchema])
  .describe("The score model: type 'onnx' | 'mixture' | 'gaussian'. Required.");

export const SOLVER_NAMES = SOLVERS.map((s) => s.name);

/** Values (samples × sample size) per default batch: 8 MiB per float64 state array. */
export const DEFAULT_BATCH_VALUES = 2 ** 20;

/** sampling.batchSize when the config gives none: 2^20 values, a power of two of samples, at most n. */
export function defaultBatchSize(sampleSize: number, n: number): number {
  const fit = Math.max(1, Math.floor(DEFAULT_BATCH_VALUES / Math.max(1, sampleSize)));
  return Math.min(n, 2 ** Math.floor(Math.log2(fit)));
}

/**
 * `solver: {name, ...settings}`: the settings are validated by that solver's own zod schema
 * (unknown keys rejected, defaults filled), with each problem reported at solver.<field>.
 */
export const solverConfigSchema = z
  .object({ name: z.string().default('euler_maruyama').describe(`Solver: ${SOLVER_NAMES.join(' | ')}. Default 'euler_maruyama'.`) })
  .catchall(z.unknown())
  .transform((value, ctx) => {
    const { name, ...raw } = value;
    const solver = SOLVERS.find((s) => s.name === name);
    if (!solver) {
      ctx.issues.push({ code: 'custom', path: ['name'], input: name, message: `unknown solver: expected one of ${SOLVER_NAMES.join(', ')}` });
      return z.NEVER;
    }
    const parsed = solver.settings.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.issues.push({ ...issue, input: undefined } as never);
      return z.NEVER;
    }
    return { name, ...(parsed.data as Record<string, unknown>) } as { name: string } & Record<string, unknown>;
  })
  .prefault({})
  .describe("The solver and its settings (see `score-sde solvers`). Default {name: 'euler_maruyama'}.");

function classLabel() {
  return z.union([z.number().int().nonnegative(), z.string().min(1)]);
}

/**
 * Classifier-free guidance, in one convention with two names for its strength: the scale γ of
 * γ·s(x, y) + (1 − γ)·s(x) (γ = 1 the plain conditional model, 0 the unconditional one), or Ho &
 * Salimans' w = γ − 1 of (1 + w)·s(x, y) − w·s(x). Exactly one of them.
 */
export const guidanceConfigSchema = z
  .object({
    scale: z.number().optional().describe('γ in γ·s(x, y) + (1 − γ)·s(x): 1 the plain conditional model, 0 the unconditional one, > 1 sharper and less diverse. Give scale or w. Default: from w, else 1.'),
    w: z.number().optional().describe("Ho & Salimans' w = γ − 1, in (1 + w)·s(x, y) − w·s(x). Give scale or w. Default: from scale."),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.scale !== undefined && v.w !== undefined) ctx.addIssue({ code: 'custom', path: ['w'], input: v.w, message: 'give the guidance strength once: scale (γ) or w (= γ − 1), not both' });
    if (v.scale === undefined && v.w === undefined) ctx.addIssue({ code: 'custom', path: [], input: v, message: 'give the guidance strength: scale (γ) or w (= γ − 1)' });
  })
  .describe('Classifier-free guidance for a class-conditional model (needs sampling.labels): {scale: γ} or {w: γ − 1}. Default: none (γ = 1 with labels).');

/** RePaint defaults (Lugmayr et al. 2022): 10 passes over blocks of 10 steps. */
export const DEFAULT_REPAINT = { resample: 10, jump: 10 };

export const inpaintConfigSchema = z
  .object({
    images: z.string().min(1).describe('A .npy of the images to complete, shape [≥ n, ...sampleShape]: sample i completes row i. Required.'),
    mask: z
      .string()
      .min(1)
      .describe(`The known values: ${NAMED_MASKS.join(' | ')} (that part of each image is kept; 'border' keeps all but a centre square), or a .npy of 0/1 (1 known) of shape sampleShape or [rows of images, ...sampleShape]. Required.`),
    method: z
      .enum(INPAINT_METHODS)
      .default('replace')
      .describe("'replace': Song et al.'s replacement of the known values by the forward-perturbed images after every step; 'repaint': the same with RePaint's resampling (each block of `jump` steps solved `resample` times). Default 'replace'."),
    resample: positiveInt().max(1000).optional().describe(`'repaint': passes over each block (RePaint's U). Default ${DEFAULT_REPAINT.resample}.`),
    jump: positiveInt().optional().describe(`'repaint': steps per block, i.e. how far each jump back goes (RePaint's j). Default ${DEFAULT_REPAINT.jump}.`),
  })
  .strict()
  .superRefine((v, ctx) => {
    for (const key of ['resample', 'jump'] as const) {
      if (v[key] !== undefined && v.method !== 'repaint') ctx.addIssue({ code: 'custom', path: [key], input: v[key], message: `applies to method 'repaint' only (method is '${v.method}')` });
    }
  })
  .describe('Inpainting: sample the unknown values of given images with an unconditional (or conditional) model. Fixed-step solvers only. Default: none.');

export const samplingConfigSchema = z
  .object({
    n: positiveInt().default(1000).describe('Number of samples. Default 1000.'),
    batchSize: positiveInt()
      .optional()
      .describe(
        "Samples per solver call, and per block streamed to samples.npy (memory holds one batch, not n); results do not depend on it (except with a solver's norm: 'batch'). Default: 2^20 values per batch, i.e. 2^20 / sample size samples rounded down to a power of two (524288 2-D samples, 1024 28×28 images), or n if smaller.",
      ),
    seed: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0).describe('Noise seed (prior draw and every step). Default 0.'),
    xT: z.string().min(1).optional().describe('Start from these x_T: a .npy of shape [≥ n, ...sampleShape] (the first n rows). Default: prior draws.'),
    labels: z
      .union([z.literal('all'), classLabel(), z.array(classLabel()).min(1)])
      .optional()
      .describe(
        "The class of each sample, for a class-conditional model: one label, a list cycled over the samples (sample i gets labels[i mod length]), or 'all' (every class in turn, 0 … K−1). A label is a class index or a class name from the model card. Default: unconditional samples.",
      ),
  })
  .strict()
  .prefault({})
  .describe('How many samples, from which noise. Default: each field\'s default.');

export const outputConfigSchema = z
  .object({
    dir: z.string().min(1).optional().describe('Run folder. Default runs/<name>-<timestamp> under the working directory.'),
    preview: z.boolean().default(true).describe('Write preview.png. Default true.'),
    grid: positiveInt().max(64).default(8).describe('Images: a grid × grid preview. Default 8.'),
    scale: positiveInt().max(16).default(2).describe('Images: pixel upscaling of the preview. Default 2.'),
    maxPoints: positiveInt().default(5000).describe('2-D: at most this many points in the scatter preview. Default 5000.'),
    dtype: z.enum(['float32', 'float64']).default('float32').describe("samples.npy element type. Default 'float32'."),
  })
  .strict()
  .prefault({})
  .describe('What the run writes. Default: each field\'s default.');

export const REFERENCE_SOURCES = ['auto', 'exact', 'card', 'npy', 'none'] as const;

export const referenceConfigSchema = z
  .preprocess(
    (v) => {
      if (typeof v === 'string') return (REFERENCE_SOURCES as readonly string[]).includes(v) ? { source: v } : { source: 'npy', path: v };
      if (v === false) return { source: 'none' };
      return v;
    },
    z
      .object({
        source: z
          .enum(REFERENCE_SOURCES)
          .default('auto')
          .describe(
            "Reference samples for the metrics: 'exact' (draws from an inline mixture/gaussian, or the card's mixture), 'card' (the card's data.mixture or data.reference), 'npy' (`path`), 'none'. Default 'auto': exact for inline models, the card's for ONNX, else none.",
          ),
        path: z.string().min(1).optional().describe('A .npy of reference samples [m, ...sampleShape]. Implies source npy.'),
        n: positiveInt().optional().describe('Reference samples to use: exact draws, or the first n rows of a file. Default: sampling.n for exact, all rows of a file.'),
        seed: z.number().int().nonnegative().default(2024).describe('Seed of exact reference draws (kept apart from the sampling seed). Default 2024.'),
        maxSamples: positiveInt()
          .default(20000)
          .describe(
            'Metrics use at most this many rows of each side: the first maxSamples samples (rows 0.. of samples.npy; draws are i.i.d., so the first rows are a fair subsample) and the first of the reference (exact draws make only that many). Bounds the memory and time of the metric step whatever sampling.n. Default 20000.',
          ),
        projections: positiveInt().default(256).describe('Sliced Wasserstein projections. Default 256.'),
        projectionSeed: z.number().int().nonnegative().default(0).describe('Seed of the projection directions. Default 0.'),
        features: z
          .string()
          .min(1)
          .default('auto')
          .describe(
            "Image metrics (FD, KID, class coverage) in a classifier's feature space: 'auto' (the model card's data.classifier, for image models, unless reference is 'none'), 'none', or the path of a classifier .onnx (its card beside it or in its metadata). Default 'auto'.",
          ),
      })
      .strict()
      .superRefine((v, ctx) => {
        if (v.source === 'npy' && !v.path) ctx.addIssue({ code: 'custom', path: ['path'], input: v.path, message: "source 'npy' needs a path to a .npy file" });
      }),
  )
  .prefault('auto')
  .describe("Reference for metrics: a keyword (auto | exact | card | none), a .npy path, or an object. Default 'auto'.");

export const experimentConfigSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .optional()
      .describe('Run name (in the run folder and manifest). Default: the config file name without extension.'),
    description: z.string().optional().describe('Free text. Default none.'),
    sde: sdeConfigSchema.optional(),
    model: modelConfigSchema,
    solver: solverConfigSchema,
    sampling: samplingConfigSchema,
    guidance: guidanceConfigSchema.optional(),
    inpaint: inpaintConfigSchema.optional(),
    device: z.enum(DEVICES).default('auto').describe("Where ONNX models run: 'auto' (CUDA if it works here, else CPU) | 'cuda' | 'cpu'. Default 'auto'."),
    output: outputConfigSchema,
    reference: referenceConfigSchema,
  })
  .strict();

export type ExperimentConfigInput = z.input<typeof experimentConfigSchema>;
export type ExperimentConfig = z.output<typeof experimentConfigSchema>;
export type SdeConfig = z.output<typeof sdeConfigSchema>;
export type ModelConfig = z.output<typeof modelConfigSchema>;
export type OnnxModelConfig = z.output<typeof onnxModelSchema>;
export type SolverConfig = z.output<typeof solverConfigSchema>;
export type ReferenceConfig = z.output<typeof referenceConfigSchema>;
export type GuidanceConfig = z.output<typeof guidanceConfigSchema>;
export type InpaintConfig = z.output<typeof inpaintConfigSchema>;

/**
 * Fields that hold file paths: each is resolved against the folder of the file that sets it
 * (or the working directory for --set), before files are merged.
 */
export const PATH_FIELDS: readonly (readonly string[])[] = [
  ['model', 'path'],
  ['model', 'card'],
  ['sampling', 'xT'],
  ['output', 'dir'],
  ['reference', 'path'],
  ['reference', 'features'],
  ['inpaint', 'images'],
  ['inpaint', 'mask'],
];

/** Keywords that path fields may hold instead of a path (left as they are when paths are resolved). */
export const PATH_FIELD_KEYWORDS: Record<string, readonly string[]> = { 'reference.features': ['auto', 'none'], 'inpaint.mask': NAMED_MASKS };

/** Whether a raw `reference` string is a path rather than a keyword. */
export function referenceIsPath(v: unknown): v is string {
  return typeof v === 'string' && !(REFERENCE_SOURCES as readonly string[]).includes(v);
}
