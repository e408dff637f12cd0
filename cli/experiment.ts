import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GaussianMixture } from '../models/gaussian-mixture';
import { sampleSize } from '../core/score';
import { SampleProgress, sample } from '../solvers/sample';
import { getSolver } from '../solvers/registry';
import { ConfigError } from '../configs/errors';
import { Source, locate } from '../configs/load';
import { BuiltModel, ModelCache, buildModel } from '../configs/model-loader';
import { ReferencePlan, checkExperiment, checkXT } from '../configs/resolve';
import { ExperimentConfig } from '../configs/schema';
import { packageJson } from './fsutil';
import { writeFileAtomic, writeJsonAtomic } from '../core/files';
import { Metrics, computeMetrics } from '../metrics';
import { npyToFloat64, readNpy, writeNpy } from '../core/npy';
import { previewPng } from './preview';

/**
 * One experiment run: config → SDE, model, solver → samples → metrics → run folder
 *   samples.npy     float32 (or output.dtype), shape [n, ...sampleShape]
 *   preview.png     scatter plot or image grid (output.preview)
 *   manifest.json   resolved config, seed, versions, execution provider, NFE, timings, metrics
 * Every file is written atomically, manifest.json last: a folder with a manifest is a finished run.
 */

export const MANIFEST_FORMAT = 'score-sde-run/1';

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  name: string;
  createdAt: string;
  configFile?: string;
  /** The validated config with defaults filled and paths absolute. */
  config: ExperimentConfig;
  seed: number;
  n: number;
  sampleShape: number[];
  sde: Record<string, unknown>;
  solver: { name: string; settings: Record<string, unknown>; steps: number | null; eps: number };
  model: { type: string; path?: string; card?: string; executionProvider: string; deviceReason: string };
  nfe: number;
  calls: number;
  evaluations: number;
  /** Sampling time (solver and model), and the whole run including loading and metrics. */
  wallTimeMs: number;
  totalTimeMs: number;
  /** What the solver flagged without failing (also printed on stderr). */
  warnings: string[];
  reference: { source: string; from?: string; n?: number; path?: string };
  metrics: Metrics;
  files: { samples: string; preview?: string; manifest: string };
  versions: { package: string; node: string; onnxruntime: Record<string, string> | null };
  environment: { platform: string; arch: string; cores: number; cpu: string; hostname: string };
}

export interface RunOptions {
  /** Run folder; default config.output.dir, else runs/<name>-<timestamp> under the working directory. */
  outDir?: string;
  configFile?: string;
  /** For error locations. */
  sources?: readonly Source[];
  cache?: ModelCache;
  /** Informational lines (stderr in the CLI). */
  log?: (line: string) => void;
  /** Sampling progress (the CLI's progress bar). */
  onProgress?: (p: SampleProgress & { fraction: number }) => void;
}

export interface RunResult {
  dir: string;
  manifest: Manifest;
}

export function timestamp(d = new Date()): string {
  const p = (v: number) => String(v).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 80) || 'run';
}

export function defaultRunDir(config: ExperimentConfig, cwd = process.cwd(), now = new Date()): string {
  return path.resolve(cwd, 'runs', `${safeName(config.name ?? 'run')}-${timestamp(now)}`);
}

let ortVersions: Record<string, string> | null | undefined;
/** onnxruntime-node's versions, or null where it cannot be loaded. */
export function onnxruntimeVersions(): Record<string, string> | null {
  if (ortVersions === undefined) {
    try {
      ortVersions = { ...(require('../models/onnx/ort').ort.env.versions as Record<string, string>) };
    } catch {
      ortVersions = null;
    }
  }
  return ortVersions;
}

/** Reference samples per the plan, checked against the sample shape. */
export function loadReference(plan: ReferencePlan, sampleShape: readonly number[], sources: readonly Source[]): Float64Array | undefined {
  const dim = sampleSize(sampleShape);
  if (plan.source === 'none') return undefined;
  if (plan.source === 'exact') {
    const mixture = new GaussianMixture(plan.mixture);
    if (mixture.D !== dim) {
      throw ConfigError.at({ ...locate(sources, ['reference']), path: 'reference', message: `the reference mixture has dimension ${mixture.D}, samples have ${dim}` });
    }
    return mixture.sample(plan.n, plan.seed);
  }
  const arr = readNpy(plan.path);
  const per = arr.shape.slice(1).reduce((a, b) => a * b, 1);
  if (arr.shape.length < 1 || per !== dim) {
    throw ConfigError.at({
      ...locate(sources, ['reference']),
      path: 'reference',
      message: `reference ${plan.path} has shape [${arr.shape.join(', ')}]: rows of ${per} values, but a sample has ${dim} ([${sampleShape.join(', ')}])`,
    });
  }
  const data = npyToFloat64(arr);
  const rows = plan.n !== undefined ? Math.min(plan.n, arr.shape[0]) : arr.shape[0];
  return data.subarray(0, rows * dim);
}

/** Runs one experiment and writes its folder. ConfigError for what the config got wrong. */
export async function runExperiment(config: ExperimentConfig, opts: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  const sources = opts.sources ?? [];
  const log = opts.log ?? (() => undefined);
  const dir = path.resolve(opts.outDir ?? config.output.dir ?? defaultRunDir(config));
  checkExperiment(config, sources);

  const ownCache = !opts.cache;
  const cache = opts.cache ?? new ModelCache();
  let built: BuiltModel | undefined;
  try {
    built = await buildModel(config, { sources, cache, log });
    const { sampleShape } = built;
    const dim = sampleSize(sampleShape);
    const n = config.sampling.n;
    checkXT(config, sampleShape, sources);
    const xT = config.sampling.xT ? npyToFloat64(readNpy(config.sampling.xT)).subarray(0, n * dim) : undefined;
    const reference = loadReference(built.reference, sampleShape, sources);

    const { name: solverName, ...settings } = config.solver;
    log(`sampling ${n} × [${sampleShape.join(', ')}] with ${solverName} on ${built.sdeSpec.kind.toUpperCase()} (${built.executionProvider})`);
    const result = await sample({
      sde: built.sde,
      model: built.model,
      solver: solverName,
      settings,
      n,
      batchSize: config.sampling.batchSize,
      seed: config.sampling.seed,
      xT,
      onProgress: opts.onProgress,
    });
    const samples = result.samples.data;

    const metrics: Metrics = reference
      ? computeMetrics(samples, reference, sampleShape, {
          projections: config.reference.projections,
          projectionSeed: config.reference.projectionSeed,
          dataRange: built.dataRange,
        })
      : {};

    fs.mkdirSync(dir, { recursive: true });
    writeNpy(path.join(dir, 'samples.npy'), samples, [n, ...sampleShape], config.output.dtype);
    let preview: string | undefined;
    if (config.output.preview) {
      preview = 'preview.png';
      writeFileAtomic(
        path.join(dir, preview),
        previewPng(samples, sampleShape, {
          reference,
          grid: config.output.grid,
          scale: config.output.scale,
          range: built.dataRange,
          maxPoints: config.output.maxPoints,
        }),
      );
    }
    for (const warning of result.warnings) opts.log?.(`warning: ${warning}`);
    const cpus = os.cpus();
    const resolvedSettings = result.settings as Record<string, unknown>;
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      name: config.name ?? 'run',
      createdAt: new Date().toISOString(),
      configFile: opts.configFile,
      config,
      seed: config.sampling.seed,
      n,
      sampleShape,
      sde: { ...built.sdeSpec },
      solver: {
        name: result.solver,
        settings: resolvedSettings,
        // Adaptive solvers choose their own steps (null); fixed-step ones default to the SDE's N.
        steps: getSolver(result.solver).adaptive ? null : ((resolvedSettings.steps as number | undefined) ?? built.sde.N),
        eps: (resolvedSettings.eps as number | undefined) ?? built.sde.defaultEps,
      },
      model: {
        type: config.model.type,
        path: config.model.type === 'onnx' ? config.model.path : undefined,
        card: built.card ? built.cardPath : undefined,
        executionProvider: built.executionProvider,
        deviceReason: built.deviceReason,
      },
      nfe: result.nfe,
      calls: result.calls,
      evaluations: result.evaluations,
      wallTimeMs: result.wallTimeMs,
      totalTimeMs: 0,
      warnings: result.warnings,
      reference: describeReference(built.reference, reference, sampleShape),
      metrics,
      files: { samples: 'samples.npy', preview, manifest: 'manifest.json' },
      versions: { package: packageJson().version, node: process.version, onnxruntime: onnxruntimeVersions() },
      environment: { platform: process.platform, arch: process.arch, cores: cpus.length, cpu: cpus[0]?.model ?? 'unknown', hostname: os.hostname() },
    };
    manifest.totalTimeMs = performance.now() - started;
    writeJsonAtomic(path.join(dir, 'manifest.json'), manifest);
    return { dir, manifest };
  } finally {
    if (ownCache) await cache.dispose();
  }
}

function describeReference(plan: ReferencePlan, data: Float64Array | undefined, shape: readonly number[]): Manifest['reference'] {
  const rows = data ? data.length / sampleSize(shape) : undefined;
  if (plan.source === 'none') return { source: 'none', from: plan.reason };
  if (plan.source === 'exact') return { source: 'exact', from: plan.from, n: rows };
  return { source: 'npy', from: plan.from, path: plan.path, n: rows };
}
