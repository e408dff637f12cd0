import * as path from 'path';
import type { OnnxScoreModel } from '../models/onnx';
import { ModelCard } from '../models/card';
import { GaussianMixtureScore } from '../models/gaussian-mixture';
import { ScoreModel } from '../core/score';
import { SDE } from '../sdes/sde';
import { SdeSpec, makeSDE } from '../sdes/make';
import { Source } from './load';
import { ReferencePlan, inlineMixture, planReference, resolveSde } from './resolve';
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
  sde: SDE;
  sdeSpec: SdeSpec & { T: number; N: number };
  sampleShape: number[];
  card?: ModelCard;
  /** Where the card's relative paths point from (the card file's folder). */
  cardPath?: string;
  executionProvider: 'cuda' | 'cpu' | 'js';
  deviceReason: string;
  reference: ReferencePlan;
  dataRange?: [number, number];
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
  const sources = opts.sources ?? [];
  const m = config.model;
  if (m.type !== 'onnx') {
    const sdeSpec = resolveSde(config, undefined, sources)!;
    const sde = makeSDE(sdeSpec);
    const mixture = inlineMixture(m)!;
    const model = new GaussianMixtureScore(sde, mixture);
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
  const onnx = onnxModule();
  const options = {
    device: m.device ?? config.device,
    threads: m.threads,
    maxBatch: m.maxBatch,
    card: m.card,
    timeInput: m.timeInput,
    parameterization: m.parameterization,
    inputs: m.inputs,
    output: m.output,
    constants: m.constants,
    log: opts.log ?? (() => undefined),
  };
  const load = () => onnx.loadOnnxScoreModel(m.path, options);
  const key = JSON.stringify({ path: m.path, ...options, log: undefined });
  const loaded = opts.cache ? await opts.cache.getOnnx(key, load) : await load();
  const card = loaded.card;
  const cardPath = m.card ?? path.join(path.dirname(m.path), `${path.basename(m.path, path.extname(m.path))}.card.json`);
  const sdeSpec = resolveSde(config, card, sources, `the model card of ${path.basename(m.path)}`)!;
  return {
    // Without a cache the caller owns the session: dispose() on the model releases it.
    model: opts.cache ? withoutDispose(loaded) : loaded,
    sde: makeSDE(sdeSpec),
    sdeSpec,
    sampleShape: [...loaded.sampleShape],
    card,
    cardPath,
    executionProvider: loaded.executionProvider,
    deviceReason: loaded.deviceReason,
    reference: planReference(config, card, cardPath, sources),
    dataRange: card.dataRange as [number, number] | undefined,
  };
}

function withoutDispose(model: ScoreModel): ScoreModel {
  return { sampleShape: model.sampleShape, score: (x, t, out) => model.score(x, t, out) };
}

/** Which execution providers work here (models/onnx's probe). */
export async function availableExecutionProviders(): Promise<{ cpu: boolean; cuda: { ok: boolean; reason: string } }> {
  return onnxModule().availableExecutionProviders();
}
