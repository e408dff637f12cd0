import * as path from 'path';
import type { OnnxScoreModel } from '../models/onnx';
import { ModelCard } from '../models/card';
import { GaussianMixtureScore } from '../models/gaussian-mixture';
import { ClassMixtureScore } from '../models/class-mixture';
import { ClassifierFreeGuidance } from '../models/guidance';
import { ScoreModel, isConditional } from '../core/score';
import { LabelPlan } from './conditioning';
import { SDE } from '../sdes/sde';
import { CompleteSdeSpec } from '../sdes/definition';
import { makeSDE } from '../sdes/registry';
import { Source } from './load';
import { ReferencePlan, checkLabels, inlineMixture, planReference, readCardFor, resolveSde } from './resolve';
import { ExperimentConfig } from './schema';

/**
 * Builds the score model a config describes. This is the only module that touches models/onnx:
 * it is required lazily, on the first ONNX model, so that everything else (inline mixtures, config
 * validation, the CLI) loads and runs without it.
 */

/** models/onnx, loaded on first use. */
export function onnxModule(): typeof import('../models/onnx') {
  return require('../models/onnx') as typeof import('../models/onnx');
}

export interface BuiltModel {
  model: ScoreModel;
  /** The one SDE of the run: the sampler's, and the very object the model converts with. */
  sde: SDE;
  sdeSpec: CompleteSdeSpec;
  sampleShape: number[];
  card?: ModelCard;
  /** The card file, when the card came from one (its folder is where data.reference points from). */
  cardPath?: string;
  /** Where the card came from: its file, or the model's ONNX metadata. */
  cardSource?: string;
  executionProvider: 'cuda' | 'cpu' | 'js';
  deviceReason: string;
  reference: ReferencePlan;
  dataRange?: [number, number];
  /** With sampling.labels: the labels and scale, and `model` is the guided model (it counts its network calls). */
  labels?: LabelPlan;
  guidance?: ClassifierFreeGuidance;
}

/**
 * Loaded ONNX sessions by model settings, so that sweep cells on the same model share one session.
 * `dispose()` releases them.
 */
export class ModelCache {
  private readonly onnx = new Map<string, Promise<OnnxScoreModel>>();

  getOnnx(key: string, load: () => Promise<OnnxScoreModel>): Promise<OnnxScoreModel> {
    let p = this.onnx.get(key);
    if (!p) {
      p = load();
      this.onnx.set(key, p);
      p.catch(() => this.onnx.delete(key));
    }
    return p;
  }

  async dispose(): Promise<void> {
    const all = [...this.onnx.values()];
    this.onnx.clear();
    for (const p of all) {
      try {
        await (await p).dispose();
      } catch {
        // a model that failed to load has nothing to release
      }
    }
  }
}

export interface BuildOptions {
  sources?: readonly Source[];
  /** Shares ONNX sessions; without one, the caller disposes `model`. */
  cache?: ModelCache;
  /** Gets the loader's line about the execution provider. */
  log?: (line: string) => void;
}

export async function buildModel(config: ExperimentConfig, opts: BuildOptions = {}): Promise<BuiltModel> {
  const built = await buildUnguided(config, opts);
  const labels = checkLabels(config, built.card, built.cardSource, opts.sources ?? []);
  if (!labels) return built;
  if (!isConditional(built.model)) throw new Error('internal: labels resolved for a model that takes none');
  const guidance = new ClassifierFreeGuidance(built.model, { scale: labels.scale, labels: labels.labels });
  return { ...built, model: guidance, labels, guidance };
}

async function buildUnguided(config: ExperimentConfig, opts: BuildOptions): Promise<BuiltModel> {
  const sources = opts.sources ?? [];
  const m = config.model;
  if (m.type !== 'onnx') {
    const sdeSpec = resolveSde(config, undefined, sources)!;
    const sde = makeSDE(sdeSpec);
    const mixture = inlineMixture(m)!;
    const model = m.type === 'mixture' && m.classes ? new ClassMixtureScore(sde, mixture, { classes: m.classes }) : new GaussianMixtureScore(sde, mixture);
    return {
      model,
      sde,
      sdeSpec,
      sampleShape: [...model.sampleShape],
      executionProvider: 'js',
      deviceReason: `inline ${m.type}: exact score in JavaScript`,
      reference: planReference(config, undefined, undefined, sources),
    };
  }
  // The card first (the loader's own reader, without onnxruntime), then the one SDE, which the
  // network is built with: sampler and network cannot get different α(t), σ(t).
  const reading = readCardFor(config, sources);
  const sdeSpec = reading ? resolveSde(config, reading.card, sources, `the model card ${reading.source}`) : undefined;
  const sde = sdeSpec ? makeSDE(sdeSpec) : undefined;
  const onnx = onnxModule();
  const options = {
    device: m.device ?? config.device,
    threads: m.threads,
    maxBatch: m.maxBatch,
    card: m.card,
    sde,
    timeInput: m.timeInput,
    parameterization: m.parameterization,
    inputs: m.inputs,
    output: m.output,
    constants: m.constants,
    log: opts.log ?? (() => undefined),
  };
  const load = () => onnx.loadOnnxScoreModel(m.path, options);
  // The session is shared by cells with the same model settings and SDE (the model holds its SDE).
  const key = JSON.stringify({ path: m.path, ...options, sde: sdeSpec, log: undefined });
  const loaded = opts.cache ? await opts.cache.getOnnx(key, load) : await load();
  const card = loaded.card;
  const spec = sdeSpec ?? resolveSde(config, card, sources, `the model card ${loaded.cardSource}`)!;
  return {
    // Without a cache the caller owns the session: dispose() on the model releases it.
    model: opts.cache ? withoutDispose(loaded) : loaded,
    sde: loaded.sde,
    sdeSpec: spec,
    sampleShape: [...loaded.sampleShape],
    card,
    cardPath: reading?.cardFile,
    cardSource: loaded.cardSource,
    executionProvider: loaded.executionProvider,
    deviceReason: loaded.deviceReason,
    reference: planReference(config, card, reading?.cardFile, sources),
    dataRange: card.dataRange as [number, number] | undefined,
  };
}

/** The model without dispose (the cache owns the session); everything else forwarded. */
function withoutDispose(model: OnnxScoreModel): ScoreModel {
  const plain: ScoreModel = {
    sampleShape: model.sampleShape,
    parameterization: model.parameterization,
    sde: model.sde,
    score: (x, t, out) => model.score(x, t, out),
    predict: (x, t, out) => model.predict(x, t, out),
  };
  if (!model.conditioning) return plain;
  return {
    ...plain,
    conditioning: model.conditioning,
    scoreWithLabels: (x: Float64Array, t: Float64Array, labels: Int32Array, out: Float64Array) => model.scoreWithLabels(x, t, labels, out),
    predictWithLabels: (x: Float64Array, t: Float64Array, labels: Int32Array, out: Float64Array) => model.predictWithLabels(x, t, labels, out),
  } as ScoreModel;
}

/** Which execution providers work here (models/onnx's probe). */
export async function availableExecutionProviders(): Promise<{ cpu: boolean; cuda: { ok: boolean; reason: string } }> {
  return onnxModule().availableExecutionProviders();
}
