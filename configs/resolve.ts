import * as fs from 'fs';
import * as path from 'path';
import { ModelCard, modelCardSchema } from '../models/card';
import { GaussianMixtureSpec } from '../models/gaussian-mixture';
import { SdeSpec, makeSDE } from '../sdes/make';
import { InputFileError, statInputFile } from '../core/files';
import { checkReferenceFile, checkXT } from './input-files';
import { ConfigError, ConfigIssue } from './errors';
import { PathKey, Source, locate } from './load';
import { ExperimentConfig, ModelConfig, SdeConfig } from './schema';

/**
 * The second half of validation: what needs more than the config itself. The model card (read from
 * `model.card` or `<model>.card.json` beside an ONNX file; at run time the loader's card is the
 * authority), the SDE (config ∪ card, which must agree), the sample shape, the x_T file's shape and
 * the reference for metrics. Every problem is a ConfigError at the field that causes it.
 */

export type ReferencePlan =
  | { source: 'none'; reason: string }
  | { source: 'exact'; mixture: GaussianMixtureSpec; n: number; seed: number; from: string }
  | { source: 'npy'; path: string; n?: number; from: string };

export interface CheckedExperiment {
  /** The SDE, complete; undefined for an ONNX model whose card only the loader can read. */
  sde?: SdeSpec & { T: number; N: number };
  sampleShape?: number[];
  card?: ModelCard;
  cardPath?: string;
  /** Undefined until the card is known. */
  reference?: ReferencePlan;
  /** Data range for image previews and histograms. */
  dataRange?: [number, number];
}

function issue(sources: readonly Source[], keyPath: PathKey[], message: string, value?: unknown, hasValue = value !== undefined): ConfigError {
  const at: Partial<ConfigIssue> = locate(sources, keyPath);
  return ConfigError.at({ ...at, path: keyPath.join('.'), message, value, hasValue });
}

/** The card JSON a config's ONNX model points at, if one can be read without onnxruntime. */
export function readCardFor(config: ExperimentConfig, sources: readonly Source[] = []): { card: ModelCard; cardPath: string } | undefined {
  const model = config.model;
  if (model.type !== 'onnx') return undefined;
  const cardPath = model.card ?? model.path.replace(/(\.onnx)?$/i, '.card.json');
  if (!fs.existsSync(cardPath)) {
    if (model.card) throw issue(sources, ['model', 'card'], 'model card file not found', model.card);
    return undefined;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(cardPath, 'utf8'));
  } catch (err) {
    throw ConfigError.at({ file: cardPath, path: '', message: `model card is not valid JSON: ${(err as Error).message}` });
  }
  const parsed = modelCardSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => ({ file: cardPath, path: i.path.join('.'), message: `invalid model card: ${i.message}` })));
  }
  return { card: parsed.data, cardPath };
}

/** Built-in defaults of each SDE kind (those of sdes/ve.ts and sdes/vp.ts). */
export function completeSde(spec: SdeConfig | ModelCard['sde']): SdeSpec & { T: number; N: number } {
  const s = spec as Record<string, unknown> & { kind: SdeSpec['kind'] };
  if (s.kind === 've') {
    return { kind: 've', sigmaMin: 0.01, sigmaMax: 50, T: 1, N: 1000, ...stripUndefined(s) } as SdeSpec & { T: number; N: number };
  }
  const schedule = (s.schedule as string | undefined) ?? 'linear';
  const base: Record<string, unknown> =
    schedule === 'cosine' ? { schedule, cosineS: 0.008, alphaBarMin: 1e-4 } : { schedule, betaMin: 0.1, betaMax: 20 };
  return { kind: s.kind, ...base, T: 1, N: 1000, ...stripUndefined(s) } as SdeSpec & { T: number; N: number };
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

const NUM_TOL = 1e-12;
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || Math.abs(a - b) <= NUM_TOL * Math.max(Math.abs(a), Math.abs(b));
  return a === b;
}

/**
 * The SDE: the card's, with what the config states checked against it (every stated field the card
 * records must agree; N and fields the card does not record are the config's), else the config's,
 * else an error for models without a card.
 */
export function resolveSde(config: ExperimentConfig, card: ModelCard | undefined, sources: readonly Source[], cardWhere = 'the model card'): (SdeSpec & { T: number; N: number }) | undefined {
  const stated = config.sde;
  let spec: SdeSpec & { T: number; N: number };
  if (card) {
    const cardSde = completeSde(card.sde) as unknown as Record<string, unknown>;
    if (stated) {
      for (const [key, value] of Object.entries(stated)) {
        if (value === undefined || key === 'N') continue;
        const cardValue = key in (card.sde as Record<string, unknown>) || key === 'kind' ? cardSde[key] : undefined;
        if (cardValue !== undefined && !same(cardValue, value)) {
          throw issue(sources, ['sde', key], `disagrees with ${cardWhere}, which says ${key}: ${JSON.stringify(cardValue)} (the network was trained with it; drop the field to take the card's)`, value);
        }
      }
    }
    spec = completeSde({ ...(card.sde as object), ...stripUndefined((stated ?? {}) as Record<string, unknown>) } as SdeConfig);
  } else if (stated) {
    spec = completeSde(stated);
  } else if (config.model.type === 'onnx') {
    return undefined;
  } else {
    throw issue(sources, ['sde'], `required for model type '${config.model.type}' (there is no model card to take it from): e.g. sde: {kind: vp}`);
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

/**
 * solver.eps (or the SDE's default) must lie inside (0, T): the solvers integrate from T down to it.
 */
export function checkSolverTimes(config: ExperimentConfig, sde: SdeSpec & { T: number }, sources: readonly Source[]): void {
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
  const sde = resolveSde(config, card, sources, cardInfo ? `the model card ${cardInfo.cardPath}` : 'the model card');
  const m = config.model;
  if (card && m.type === 'onnx') {
    for (const key of ['parameterization', 'timeInput'] as const) {
      if (m[key] !== undefined && m[key] !== card[key]) {
        throw issue(sources, ['model', key], `disagrees with the model card ${cardInfo!.cardPath}, which says ${key}: '${card[key]}' (drop the field to take the card's)`, m[key]);
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
  const reference = card || inline ? planReference(config, card, cardInfo?.cardPath, sources) : undefined;
  if (reference?.source === 'npy') checkReferenceFile(reference.path, sampleShape, sources);
  return { sde, sampleShape, card, cardPath: cardInfo?.cardPath, reference, dataRange: card?.dataRange as [number, number] | undefined };
}
