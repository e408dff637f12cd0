import * as fs from 'fs';
import * as path from 'path';
import { ModelCard } from '../models/card';
import { GaussianMixtureSpec } from '../models/gaussian-mixture';
import { ModelCardReading, readModelCard } from '../models/onnx/card-source';
import { ModelCardConflictError, ModelFileError } from '../models/onnx/errors';
import { CompleteSdeSpec, SdeSpec } from '../sdes/definition';
import { completeSde, makeSDE, sdeSpecIssues } from '../sdes/registry';
import { InputFileError, statInputFile } from '../core/files';
import { checkInpaintFiles, checkReferenceFile, checkXT } from './input-files';
import { LabelPlan, inlineConditioning, resolveLabels } from './conditioning';
import { getSolver } from '../solvers/registry';
import { ConfigError, ConfigIssue } from './errors';
import { PathKey, Source, locate } from './load';
import { ExperimentConfig, ModelConfig } from './schema';

/**
 * The second half of validation: what needs more than the config itself. The model card (read by
 * models/onnx/card-source.ts, the same reader and precedence the loader uses, without
 * onnxruntime), the SDE (config ∪ card, which must agree), the sample shape, the x_T file's shape
 * and the reference for metrics. Every problem is a ConfigError at the field that causes it.
 */

export type ReferencePlan =
  | { source: 'none'; reason: string }
  | { source: 'exact'; mixture: GaussianMixtureSpec; n: number; seed: number; from: string }
  | { source: 'npy'; path: string; n?: number; from: string };

export interface CheckedExperiment {
  /** The SDE, complete; undefined only for an ONNX model that is missing (reported at model.path). */
  sde?: CompleteSdeSpec;
  sampleShape?: number[];
  card?: ModelCard;
  /** The card file, when the card came from one (else it is the one embedded in the model). */
  cardPath?: string;
  /** Where the card came from: its file, or the model's ONNX metadata. */
  cardSource?: string;
  /** Undefined until the card is known. */
  reference?: ReferencePlan;
  /** Data range for image previews and histograms. */
  dataRange?: [number, number];
  /** The classifier of the image metrics (FD, KID, class coverage); undefined until the card is known. */
  features?: FeaturePlan;
  /** The class of each sample and the guidance scale, for a class-conditional model with sampling.labels. */
  labels?: LabelPlan;
}

function issue(sources: readonly Source[], keyPath: PathKey[], message: string, value?: unknown, hasValue = value !== undefined): ConfigError {
  const at: Partial<ConfigIssue> = locate(sources, keyPath);
  return ConfigError.at({ ...at, path: keyPath.join('.'), message, value, hasValue });
}

/**
 * The card of a config's ONNX model (models/onnx/card-source.ts: explicit `model.card`, else the
 * card file beside the model, else the card in the ONNX metadata; cards that contradict the
 * embedded one are errors), or undefined for inline models and a model file that is missing
 * (which checkExperiment reports at model.path). Problems are ConfigErrors at model.card when
 * they are the explicit card's, else at the card file or model.path.
 */
export function readCardFor(config: ExperimentConfig, sources: readonly Source[] = []): ModelCardReading | undefined {
  const model = config.model;
  if (model.type !== 'onnx') return undefined;
  if (model.card && !fs.existsSync(model.card)) throw issue(sources, ['model', 'card'], 'model card file not found', model.card);
  if (!isFile(model.path)) return undefined;
  let reading: ModelCardReading;
  try {
    reading = readModelCard(model.path, model.card);
  } catch (err) {
    if (!(err instanceof ModelFileError)) throw err;
    const explicitCard = model.card !== undefined && (err instanceof ModelCardConflictError ? err.explicit : err.cardFile === path.resolve(model.card));
    if (explicitCard) throw issue(sources, ['model', 'card'], err.message, model.card);
    if (err.cardFile) throw ConfigError.at({ file: err.cardFile, path: '', message: err.message });
    throw issue(sources, ['model', 'path'], err.message, model.path);
  }
  return reading;
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

const NUM_TOL = 1e-12;
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || Math.abs(a - b) <= NUM_TOL * Math.max(Math.abs(a), Math.abs(b));
  return a === b;
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/**
 * The SDE: each field the config states, else the card's (which records every parameter of its
 * kind), else the registry's default (sdes/registry.ts). A stated field the card records must
 * agree with it (N is the config's alone: a run setting, not a property of the network); a stated
 * field of another variant than the resolved one (cosineS under the card's linear schedule) is an
 * error. Models without a card need `sde:`.
 */
export function resolveSde(config: ExperimentConfig, card: ModelCard | undefined, sources: readonly Source[], cardWhere = 'the model card'): CompleteSdeSpec | undefined {
  const stated = stripUndefined((config.sde ?? {}) as Record<string, unknown>);
  let merged: SdeSpec;
  if (card) {
    const cardSde = card.sde as Record<string, unknown>;
    const keys = Object.keys(stated).sort((a, b) => Number(b === 'kind') - Number(a === 'kind'));
    for (const key of keys) {
      if (key === 'N' || !(key in cardSde) || same(cardSde[key], stated[key])) continue;
      throw issue(sources, ['sde', key], `disagrees with ${cardWhere}, which says ${key}: ${JSON.stringify(cardSde[key])} (the network was trained with it; drop the field to take the card's)`, stated[key]);
    }
    merged = { ...cardSde, ...stated } as SdeSpec;
  } else if (config.sde) {
    merged = stated as SdeSpec;
  } else if (config.model.type === 'onnx') {
    return undefined;
  } else {
    throw issue(sources, ['sde'], `required for model type '${config.model.type}' (there is no model card to take it from): e.g. sde: {kind: vp}`);
  }
  const spec = completeSde(merged);
  const problem = sdeSpecIssues(spec)[0];
  if (problem) {
    const fromCard = card !== undefined && stated[problem.field] === undefined;
    throw issue(sources, ['sde', problem.field], fromCard ? `${problem.message} (from ${cardWhere})` : problem.message, spec[problem.field], !fromCard || undefined);
  }
  try {
    makeSDE(spec);
  } catch (err) {
    throw issue(sources, ['sde'], `invalid SDE: ${(err as Error).message}`, config.sde, config.sde !== undefined);
  }
  return spec;
}

/** The inline model's mixture, or undefined for ONNX. */
export function inlineMixture(model: ModelConfig): GaussianMixtureSpec | undefined {
  if (model.type === 'mixture') return { means: model.means, stds: model.stds, weights: model.weights };
  if (model.type === 'gaussian') {
    const D = model.mean.length;
    const std = typeof model.std === 'number' ? new Array(D).fill(model.std) : model.std;
    return { means: [model.mean], stds: [std] };
  }
  return undefined;
}

/**
 * What the metrics compare against. 'auto': exact draws for inline models; for ONNX the card's
 * mixture (exact draws) or its reference .npy (relative to the card); else none.
 */
export function planReference(config: ExperimentConfig, card: ModelCard | undefined, cardPath: string | undefined, sources: readonly Source[]): ReferencePlan {
  const ref = config.reference;
  const inline = inlineMixture(config.model);
  const exactN = ref.n ?? config.sampling.n;
  const source = ref.source === 'auto' && ref.path ? 'npy' : ref.source;
  // The metrics (covariance, unbiased MMD) need two samples on each side.
  if (config.sampling.n < 2 && source !== 'none') {
    if (source === 'auto') return { source: 'none', reason: 'sampling.n < 2: the metrics need at least 2 samples' };
    throw issue(sources, ['sampling', 'n'], `the metrics against reference '${source}' need at least 2 samples; set reference: none to draw a single sample`, config.sampling.n);
  }
  if (ref.n !== undefined && ref.n < 2 && source !== 'none') throw issue(sources, ['reference', 'n'], 'the metrics need at least 2 reference samples', ref.n);
  const cardDir = cardPath ? path.dirname(cardPath) : config.model.type === 'onnx' ? path.dirname(config.model.path) : undefined;
  const fromCard = (): ReferencePlan | undefined => {
    if (card?.data?.mixture) return { source: 'exact', mixture: card.data.mixture, n: exactN, seed: ref.seed, from: `model card mixture (${card.data.name})` };
    if (card?.data?.reference && cardDir) return { source: 'npy', path: path.resolve(cardDir, card.data.reference), n: ref.n, from: `model card reference (${card.data.reference})` };
    return undefined;
  };
  switch (source) {
    case 'none':
      return { source: 'none', reason: 'reference: none' };
    case 'npy':
      return { source: 'npy', path: ref.path!, n: ref.n, from: 'reference.path' };
    case 'exact': {
      if (inline) return { source: 'exact', mixture: inline, n: exactN, seed: ref.seed, from: `inline ${config.model.type}` };
      if (card?.data?.mixture) return fromCard()!;
      if (!card) return { source: 'none', reason: 'no card yet' };
      throw issue(sources, ['reference'], "'exact' needs an inline mixture/gaussian model or a model card with data.mixture", 'exact');
    }
    case 'card': {
      if (inline) throw issue(sources, ['reference'], `'card' needs an ONNX model with a card; this model is an inline ${config.model.type} (use 'exact')`, 'card');
      const plan = fromCard();
      if (plan) return plan;
      if (!card) return { source: 'none', reason: 'no card yet' };
      throw issue(sources, ['reference'], 'the model card has neither data.mixture nor data.reference', 'card');
    }
    default: {
      if (inline) return { source: 'exact', mixture: inline, n: exactN, seed: ref.seed, from: `inline ${config.model.type}` };
      return fromCard() ?? { source: 'none', reason: card ? 'the model card has no reference data' : 'no model card' };
    }
  }
}

export type FeaturePlan = { source: 'none'; reason: string } | { source: 'classifier'; path: string; from: string };

/**
 * Which classifier's feature space the image metrics (FD, KID, class coverage) use: the config's
 * reference.features path, else ('auto') the card's data.classifier (relative to the card) for
 * image samples (rank ≥ 2) unless reference is 'none', else none.
 */
export function planFeatures(config: ExperimentConfig, card: ModelCard | undefined, cardPath: string | undefined, sampleShape: readonly number[] | undefined): FeaturePlan {
  const ref = config.reference;
  if (ref.features === 'none') return { source: 'none', reason: 'reference.features: none' };
  if (ref.features !== 'auto') return { source: 'classifier', path: ref.features, from: 'reference.features' };
  if (ref.source === 'none') return { source: 'none', reason: 'reference: none' };
  if (!sampleShape || sampleShape.length < 2) return { source: 'none', reason: 'not images' };
  const classifier = card?.data?.classifier;
  if (!classifier) return { source: 'none', reason: card ? 'the model card names no data.classifier' : 'no model card' };
  const cardDir = cardPath ? path.dirname(cardPath) : config.model.type === 'onnx' ? path.dirname(config.model.path) : '.';
  return { source: 'classifier', path: path.resolve(cardDir, classifier), from: `model card data.classifier (${classifier})` };
}

/**
 * solver.eps (or the SDE's default) must lie inside (0, T): the solvers integrate from T down to it.
 */
export function checkSolverTimes(config: ExperimentConfig, sde: CompleteSdeSpec, sources: readonly Source[]): void {
  const eps = config.solver.eps as number | undefined;
  if (eps !== undefined && eps >= sde.T) {
    throw issue(sources, ['solver', 'eps'], `must be smaller than the SDE's end time T = ${sde.T} (the solver integrates from T down to eps)`, eps);
  }
  if (eps === undefined) {
    const defaultEps = makeSDE(sde).defaultEps;
    if (defaultEps >= sde.T) {
      throw issue(sources, config.sde?.T !== undefined ? ['sde', 'T'] : ['solver', 'eps'], `the SDE's end time T = ${sde.T} is not above the default eps ${defaultEps}: set solver.eps below T`, config.sde?.T);
    }
  }
}

/** Static checks for `validate` and before a run; returns what could be resolved. */
export function checkExperiment(config: ExperimentConfig, sources: readonly Source[] = []): CheckedExperiment {
  const cardInfo = readCardFor(config, sources);
  const card = cardInfo?.card;
  const sde = resolveSde(config, card, sources, cardInfo ? `the model card ${cardInfo.source}` : 'the model card');
  const m = config.model;
  if (card && m.type === 'onnx') {
    for (const key of ['parameterization', 'timeInput'] as const) {
      if (m[key] !== undefined && m[key] !== card[key]) {
        throw issue(sources, ['model', key], `disagrees with the model card ${cardInfo!.source}, which says ${key}: '${card[key]}' (drop the field to take the card's)`, m[key]);
      }
    }
  }
  const inline = inlineMixture(config.model);
  const sampleShape = inline ? [inline.means[0].length] : card?.sampleShape;
  if (inline && config.model.type === 'mixture') {
    const D = inline.means[0].length;
    inline.means.forEach((m, k) => {
      if (m.length !== D) throw issue(sources, ['model', 'means', k], `has ${m.length} coordinates, expected ${D} like means[0]`, m);
    });
    const K = inline.means.length;
    if (inline.stds && inline.stds.length !== K) throw issue(sources, ['model', 'stds'], `has ${inline.stds.length} entries, expected ${K} (one per component)`, inline.stds);
    inline.stds?.forEach((s, k) => {
      if (Array.isArray(s) && s.length !== D) throw issue(sources, ['model', 'stds', k], `has ${s.length} entries, expected ${D}`, s);
    });
    if (inline.weights && inline.weights.length !== K) throw issue(sources, ['model', 'weights'], `has ${inline.weights.length} entries, expected ${K}`, inline.weights);
    if (inline.weights && !inline.weights.some((w) => w > 0)) throw issue(sources, ['model', 'weights'], 'must not all be zero', inline.weights);
    if (config.model.classes && config.model.classes.length !== K) throw issue(sources, ['model', 'classes'], `has ${config.model.classes.length} names, expected ${K} (one per component)`, config.model.classes);
  }
  if (config.model.type === 'gaussian' && Array.isArray(config.model.std) && config.model.std.length !== config.model.mean.length) {
    throw issue(sources, ['model', 'std'], `has ${config.model.std.length} entries, expected ${config.model.mean.length} (one per coordinate of mean)`, config.model.std);
  }
  if (config.model.type === 'onnx') {
    try {
      statInputFile(config.model.path, Number.MAX_SAFE_INTEGER);
    } catch (err) {
      throw issue(sources, ['model', 'path'], err instanceof InputFileError && err.reason === 'file not found' ? 'model file not found' : `cannot use the model file: ${(err as Error).message}`, config.model.path);
    }
  }
  if (sde) checkSolverTimes(config, sde, sources);
  checkXT(config, sampleShape, sources);
  const labels = checkLabels(config, card, cardInfo?.source, sources);
  checkInpaint(config, sampleShape, sources);
  const reference = card || inline ? planReference(config, card, cardInfo?.cardFile, sources) : undefined;
  if (reference?.source === 'npy') checkReferenceFile(reference.path, sampleShape, sources);
  const features = card || inline ? planFeatures(config, card, cardInfo?.cardFile, sampleShape) : undefined;
  if (features?.source === 'classifier' && !fs.existsSync(features.path)) {
    throw issue(sources, ['reference', 'features'], `classifier not found (${features.from})`, features.path);
  }
  return { sde, sampleShape, card, cardPath: cardInfo?.cardFile, cardSource: cardInfo?.source, reference, dataRange: card?.dataRange as [number, number] | undefined, features, labels };
}

/** Labels and guidance against the model's conditioning (unknown until an ONNX model's card is). */
export function checkLabels(config: ExperimentConfig, card: ModelCard | undefined, cardSource: string | undefined, sources: readonly Source[]): LabelPlan | undefined {
  if (config.model.type === 'onnx') {
    if (!card) return undefined;
    return resolveLabels(config, card.conditioning, { where: `the model (card ${cardSource ?? 'embedded'})`, why: "its card has no 'conditioning'" }, sources);
  }
  const why = config.model.type === 'mixture' ? 'give the mixture `classes` to make it class-conditional' : 'a gaussian has no classes';
  return resolveLabels(config, inlineConditioning(config), { where: `the inline ${config.model.type} model`, why }, sources);
}

/** Inpainting's files, and a solver it works with (a fixed grid). */
function checkInpaint(config: ExperimentConfig, sampleShape: number[] | undefined, sources: readonly Source[]): void {
  if (!config.inpaint) return;
  const solver = getSolver(config.solver.name);
  if (solver.adaptive) {
    throw issue(
      sources,
      ['solver', 'name'],
      `inpainting ('${config.inpaint.method}') replaces the known values after every step of a fixed time grid; '${solver.name}' is adaptive: use a fixed-step solver`,
      solver.name,
    );
  }
  checkInpaintFiles(config, sampleShape, sources);
}
