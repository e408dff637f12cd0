import * as os from 'os';
import * as path from 'path';
import { GaussianMixture } from '../models/gaussian-mixture';
import { sampleSize } from '../core/score';
import { SampleProgress } from '../solvers/sample';
import { ConfigError } from '../configs/errors';
import { Source, locate } from '../configs/load';
import { BuiltModel, ModelCache, buildModel } from '../configs/model-loader';
import { ReferencePlan, checkExperiment, checkSolverTimes } from '../configs/resolve';
import { checkReferenceFile, checkXT, readFiniteRows, readInpaintData } from '../configs/input-files';
import { inpainting } from '../solvers/inpaint';
import { DEFAULT_REPAINT, ExperimentConfig, defaultBatchSize } from '../configs/schema';
import { packageJson } from './fsutil';
import { writeFileAtomic, writeJsonAtomic } from '../core/files';
import { testFault } from '../core/test-faults';
import { Metrics, computeMetrics } from '../metrics';
import { NonFiniteWriteError, NpyStreamWriter } from '../core/npy';
import { previewPng } from './preview';
import { prepareFeatureMetrics } from './feature-metrics';
import { InputFingerprints, inputFingerprints } from './fingerprint';
import { MANIFEST_FORMAT, Manifest, describeReference, onnxruntimeVersions } from './manifest';
import { RunFolder, checkOutputDir, claimRunDir } from './run-folder';
import { StreamResult, streamSamples } from './stream-samples';

export { MANIFEST_FORMAT, onnxruntimeVersions };
export type { Manifest };

/**
 * One experiment run: config → SDE, model, solver → samples → metrics → run folder
 *   samples.npy     float32 (or output.dtype), shape [n, ...sampleShape], streamed batch by batch
 *   preview.png     scatter plot or image grid (output.preview)
 *   manifest.json   resolved config, seed, input fingerprints, versions, provider, NFE, timings, metrics
 * Order, so that nothing finished is lost and nothing unfinished looks finished (see run-folder.ts):
 *   checks (config, files, output folder, disk space) → sampling, each batch appended to
 *   samples.npy in a staging folder → preview → manifest (status 'metrics-pending' when metrics
 *   follow) → the folder renamed into place → metrics on at most reference.maxSamples rows →
 *   manifest rewritten ('complete', or 'metrics-failed' and exit 1 with the samples kept).
 */

export interface RunOptions {
  /** Run folder (replaced whole if it exists); default config.output.dir, else a fresh runs/<name>-<timestamp>[-k]. */
  outDir?: string;
  /** How errors name the output folder setting. Default '--out' when outDir is given, else 'output.dir'. */
  outLabel?: string;
  /** Where the default runs/ folder goes. Default process.cwd(). */
  cwd?: string;
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

/** The samples are whole and published, the metric step failed (exit 1; the folder says so). */
export class MetricsFailedError extends Error {
  constructor(
    readonly dir: string,
    detail: string,
  ) {
    super(`the metrics failed (${detail}); the samples are kept in ${dir} (manifest status 'metrics-failed')`);
    this.name = 'MetricsFailedError';
  }
}

/** How far samples may grow, as a multiple of the prior's and the data's scale, before a warning. */
export const BLOW_UP_FACTOR = 1e6;

export function timestamp(d = new Date()): string {
  const p = (v: number) => String(v).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 80) || 'run';
}

/** runs/<name>-<timestamp>: the base name a fresh run folder is claimed from (claimRunDir adds -2, -3 …). */
export function defaultRunDir(config: ExperimentConfig, cwd = process.cwd(), now = new Date()): string {
  return path.resolve(cwd, 'runs', `${safeName(config.name ?? 'run')}-${timestamp(now)}`);
}

/** Bytes samples.npy will take (data; the header is under 1 KiB more). */
export function samplesBytes(config: ExperimentConfig, sampleShape: readonly number[]): number {
  return config.sampling.n * sampleSize(sampleShape) * (config.output.dtype === 'float64' ? 8 : 4) + 1024;
}

/**
 * The sliced-Wasserstein floor of an exact reference: the distance of as many fresh exact draws as
 * the run kept (an independent seed) to the same reference rows, i.e. what a perfect sampler scores
 * at this n. Sweeps draw it as the plots' floor line (swFloor). Nothing for file references.
 */
async function exactFloor(
  plan: ReferencePlan,
  reference: Float64Array,
  rows: number,
  sampleShape: readonly number[],
  opts: Parameters<typeof computeMetrics>[3],
): Promise<Record<string, number>> {
  if (plan.source !== 'exact' || rows < 2) return {};
  const exact = new GaussianMixture(plan.mixture).sample(rows, plan.seed + 1);
  const m = await computeMetrics(exact, reference, sampleShape, opts);
  return m.sw === undefined ? {} : { swFloor: m.sw };
}

/** At most `maxRows` reference rows per the plan, checked (shape, finite values). */
export function loadReference(plan: ReferencePlan, sampleShape: readonly number[], sources: readonly Source[], maxRows: number): Float64Array | undefined {
  const dim = sampleSize(sampleShape);
  if (plan.source === 'none') return undefined;
  if (plan.source === 'exact') {
    const mixture = new GaussianMixture(plan.mixture);
    if (mixture.D !== dim) {
      throw ConfigError.at({ ...locate(sources, ['reference']), path: 'reference', message: `the reference mixture has dimension ${mixture.D}, samples have ${dim}` });
    }
    return mixture.sample(Math.min(plan.n, maxRows), plan.seed);
  }
  const h = checkReferenceFile(plan.path, sampleShape, sources);
  const rows = Math.min(plan.n ?? h.shape[0], h.shape[0], maxRows);
  return readFiniteRows(plan.path, h, 0, rows, ['reference'], sources);
}

/** Runs one experiment and writes its folder. ConfigError for what the config got wrong. */
export async function runExperiment(config: ExperimentConfig, opts: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  const sources = opts.sources ?? [];
  const log = opts.log ?? (() => undefined);
  const checked = checkExperiment(config, sources);
  const named = opts.outDir ?? config.output.dir;
  const outLabel = opts.outLabel ?? (opts.outDir !== undefined ? '--out' : 'output.dir');
  if (named !== undefined) checkOutputDir(path.resolve(named), outLabel, checked.sampleShape ? samplesBytes(config, checked.sampleShape) : 0);
  const dir = named !== undefined ? path.resolve(named) : claimRunDir(defaultRunDir(config, opts.cwd));
  const folder = new RunFolder(dir, named === undefined);

  const ownCache = !opts.cache;
  const cache = opts.cache ?? new ModelCache();
  try {
    const built = await loadModel(config, sources, cache, log);
    const { sampleShape } = built;
    const dim = sampleSize(sampleShape);
    const n = config.sampling.n;
    checkSolverTimes(config, built.sdeSpec, sources);
    checkOutputDir(folder.staging, outLabel, samplesBytes(config, sampleShape));
    const xTHeader = checkXT(config, sampleShape, sources);
    const referenceFile = built.reference.source === 'npy' ? built.reference.path : undefined;
    if (referenceFile) checkReferenceFile(referenceFile, sampleShape, sources);
    const imageMetrics = prepareFeatureMetrics(config, built, sources);
    const inputs = inputFingerprints(config, { cardPath: built.cardPath, features: imageMetrics.plan }, referenceFile);
    const maxRows = config.reference.maxSamples;
    const reference = loadReference(built.reference, sampleShape, sources, maxRows);
    const measured = !!reference || imageMetrics.active;

    // Rows kept in memory: what the metrics and the preview look at (the first ones), never all n.
    const previewRows = config.output.preview ? Math.max(config.output.maxPoints, config.output.grid ** 2) : 0;
    const keptRows = Math.min(n, Math.max(measured ? maxRows : 0, previewRows));
    const kept = new Float64Array(keptRows * dim);
    // The metrics see the first reference.maxSamples of them, however many the preview keeps.
    const metricRows = Math.min(n, maxRows);
    const metricSamples = kept.subarray(0, metricRows * dim);
    let maxAbs = 0;
    const batchSize = config.sampling.batchSize ?? defaultBatchSize(dim, n);
    const { name: solverName, ...settings } = config.solver;
    const inpaint = inpaintRequest(config, built, solverName, sources);
    log(`sampling ${n} × [${sampleShape.join(', ')}] with ${solverName} on ${built.sdeSpec.kind.toUpperCase()} (${built.executionProvider})`);
    const writer = new NpyStreamWriter(folder.file('samples.npy'), [n, ...sampleShape], config.output.dtype);
    let result;
    try {
      result = await streamSamples({
        sde: built.sde,
        model: built.model,
        solver: solverName,
        settings,
        n,
        batchSize,
        seed: config.sampling.seed,
        dataRange: built.dataRange,
        ...inpaint,
        xT: xTHeader ? (start, count) => readFiniteRows(config.sampling.xT!, xTHeader, start, count, ['sampling', 'xT'], sources) : undefined,
        onProgress: opts.onProgress,
        sink(rows, start) {
          appendChecked(writer, rows, start, dim, config.output.dtype);
          if (start < keptRows) kept.set(rows.subarray(0, Math.min(rows.length, (keptRows - start) * dim)), start * dim);
          for (let i = 0; i < rows.length; i++) {
            const a = rows[i] < 0 ? -rows[i] : rows[i];
            if (a > maxAbs) maxAbs = a;
          }
        },
      });
      writer.close();
    } catch (err) {
      writer.abort();
      throw err;
    }
    const warnings = [...result.warnings];
    const scale = dataScale(built, reference);
    if (maxAbs > BLOW_UP_FACTOR * scale) {
      warnings.push(
        `samples reach |x| = ${maxAbs.toExponential(2)}, over ${BLOW_UP_FACTOR.toExponential(0)} × the scale of the prior and data (${scale.toPrecision(3)}): the solver diverged (a corrector snr too large, too few steps?)`,
      );
    }
    for (const warning of warnings) log(`warning: ${warning}`);

    let preview: string | undefined;
    if (config.output.preview) {
      preview = 'preview.png';
      writeFileAtomic(
        folder.file(preview),
        previewPng(kept, sampleShape, { reference, grid: config.output.grid, scale: config.output.scale, range: built.dataRange, maxPoints: config.output.maxPoints }),
      );
    }
    const manifest = buildManifest(config, opts, built, result, { batchSize, inputs, warnings, preview, reference, sampleRows: reference ? metricRows : undefined, measured });
    manifest.features = imageMetrics.info;
    manifest.totalTimeMs = performance.now() - started;
    writeJsonAtomic(folder.file('manifest.json'), manifest);
    folder.publish();
    if (!measured) return { dir, manifest };

    // The samples are safe in their folder; now the metrics, on the kept rows.
    try {
      const t0 = performance.now();
      // Progress for metric steps that take a while (images, or many rows); quiet for small runs.
      const long = (metricRows + (reference ? reference.length / dim : 0)) * dim >= 2 ** 20;
      if (long) log(`metrics on ${metricRows} samples${reference ? ` vs ${reference.length / dim} reference rows` : ''}…`);
      if (testFault('metrics')) throw new Error('injected failure of the metric step (SCORE_SDE_TEST_FAULTS=metrics)');
      const features = await imageMetrics.measure(metricSamples, metricRows, built.labels?.labels);
      const metricOptions = { projections: config.reference.projections, projectionSeed: config.reference.projectionSeed, dataRange: built.dataRange };
      manifest.features = features.info;
      manifest.metrics = finiteMetrics(
        {
          ...(reference ? await computeMetrics(metricSamples, reference, sampleShape, metricOptions) : {}),
          ...(reference ? await exactFloor(built.reference, reference, metricRows, sampleShape, metricOptions) : {}),
          ...features.metrics,
        },
        manifest.warnings,
      );
      if (long) log(`metrics done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      manifest.status = 'complete';
    } catch (err) {
      manifest.status = 'metrics-failed';
      manifest.metricsError = (err as Error)?.message ?? String(err);
    }
    manifest.totalTimeMs = performance.now() - started;
    writeJsonAtomic(folder.file('manifest.json'), manifest);
    if (manifest.status === 'metrics-failed') throw new MetricsFailedError(dir, manifest.metricsError!);
    return { dir, manifest };
  } catch (err) {
    folder.discard();
    throw err;
  } finally {
    if (ownCache) await cache.dispose();
  }
}

/** Inpainting's additions to the sampling request (its transforms and resampling), if the config inpaints. */
function inpaintRequest(config: ExperimentConfig, built: BuiltModel, solverName: string, sources: readonly Source[]) {
  const spec = config.inpaint;
  if (!spec) return {};
  const data = readInpaintData(config, built.sampleShape, sources)!;
  const resample = spec.method === 'repaint' ? { rounds: spec.resample ?? DEFAULT_REPAINT.resample, jump: spec.jump ?? DEFAULT_REPAINT.jump } : undefined;
  return inpainting(built.sde, solverName, { ...data, method: spec.method, resample }, sampleSize(built.sampleShape), config.sampling.n);
}

/** The model; a model file the loader rejects is bad input (exit 2) at model.path, as under `inspect`. */
async function loadModel(config: ExperimentConfig, sources: readonly Source[], cache: ModelCache, log: (line: string) => void): Promise<BuiltModel> {
  try {
    return await buildModel(config, { sources, cache, log });
  } catch (err) {
    if ((err as Error)?.name !== 'ModelFileError' || config.model.type !== 'onnx') throw err;
    throw ConfigError.at({ ...locate(sources, ['model', 'path']), path: 'model.path', message: (err as Error).message });
  }
}

/** Appends a block; a value the output dtype cannot hold fails the run, naming sample and dtype. */
function appendChecked(writer: NpyStreamWriter, rows: Float64Array, start: number, dim: number, dtype: 'float32' | 'float64'): void {
  try {
    writer.append(rows);
  } catch (err) {
    if (!(err instanceof NonFiniteWriteError)) throw err;
    const i = err.index - start * dim;
    const e = new Error(
      `samples.npy: sample ${Math.floor(err.index / dim)} (value ${i % dim}) is ${err.value}, which ${dtype} cannot hold (it would be written as ${err.value > 0 ? '' : '-'}Infinity)` +
        `${dtype === 'float32' ? '; set output.dtype: float64 to keep such values, or fix the run (the samples diverged)' : ''}`,
    );
    e.name = 'NonFiniteOutputError';
    throw e;
  }
}

/** The scale samples are compared with for the blow-up warning: prior std, data range, reference. */
function dataScale(built: BuiltModel, reference: Float64Array | undefined): number {
  let scale = built.sde.priorStd;
  for (const v of built.dataRange ?? []) scale = Math.max(scale, Math.abs(v));
  if (reference) for (let i = 0; i < reference.length; i++) scale = Math.max(scale, Math.abs(reference[i]));
  return scale;
}

/** Metrics as computed; a non-finite one is named in the warnings (JSON stores it as null). */
function finiteMetrics(metrics: Metrics, warnings: string[]): Metrics {
  for (const [k, v] of Object.entries(metrics)) if (!Number.isFinite(v)) warnings.push(`metric ${k} is ${v} (stored as null)`);
  return metrics;
}

function buildManifest(
  config: ExperimentConfig,
  opts: RunOptions,
  built: BuiltModel,
  result: StreamResult,
  extra: { batchSize: number; inputs: InputFingerprints; warnings: string[]; preview?: string; reference?: Float64Array; sampleRows?: number; measured: boolean },
): Manifest {
  const cpus = os.cpus();
  const settings = result.settings;
  const dim = sampleSize(built.sampleShape);
  return {
    format: MANIFEST_FORMAT,
    status: extra.measured ? 'metrics-pending' : 'complete',
    name: config.name ?? 'run',
    createdAt: new Date().toISOString(),
    configFile: opts.configFile,
    config,
    seed: config.sampling.seed,
    n: config.sampling.n,
    sampleShape: built.sampleShape,
    batchSize: extra.batchSize,
    sde: { ...built.sdeSpec },
    solver: {
      name: result.solver,
      settings,
      // Adaptive solvers choose their own steps (null); fixed-step ones take steps, nfe or the SDE's N.
      steps: result.steps ?? null,
      eps: (settings.eps as number | undefined) ?? built.sde.defaultEps,
    },
    model: {
      type: config.model.type,
      path: config.model.type === 'onnx' ? config.model.path : undefined,
      card: built.card ? built.cardPath : undefined,
      executionProvider: built.executionProvider,
      deviceReason: built.deviceReason,
    },
    inputs: extra.inputs,
    nfe: result.nfe,
    calls: result.calls,
    evaluations: result.evaluations,
    guidance: describeGuidance(built, config.sampling.n),
    inpaint: describeInpaint(config),
    wallTimeMs: result.wallTimeMs,
    totalTimeMs: 0,
    warnings: extra.warnings,
    reference: describeReference(built.reference, extra.reference ? extra.reference.length / dim : undefined, extra.sampleRows),
    metrics: {},
    files: { samples: 'samples.npy', preview: extra.preview, manifest: 'manifest.json' },
    versions: { package: packageJson().version, node: process.version, onnxruntime: onnxruntimeVersions() },
    environment: { platform: process.platform, arch: process.arch, cores: os.cpus().length, cpu: cpus[0]?.model ?? 'unknown', hostname: os.hostname() },
  };
}

/**
 * Guided sampling in the manifest: the convention, γ and w, the labels, and the network work
 * beside the NFE (a guided evaluation is one NFE and one network call on 2 rows per sample, or
 * 1 row at γ ∈ {0, 1}).
 */
function describeGuidance(built: BuiltModel, n: number): Manifest['guidance'] {
  const { labels, guidance } = built;
  if (!labels || !guidance) return undefined;
  return {
    convention: 'scale γ: γ·s(x, y) + (1 − γ)·s(x); w = γ − 1',
    scale: labels.scale,
    w: labels.scale - 1,
    given: labels.given,
    labels: labels.labels,
    classes: labels.labels.map((l) => labels.classes[l]),
    networkCalls: guidance.network.calls,
    networkRows: guidance.network.rows,
    networkRowsPerSample: guidance.network.rows / n,
  };
}

function describeInpaint(config: ExperimentConfig): Manifest['inpaint'] {
  const spec = config.inpaint;
  if (!spec) return undefined;
  const repaint = spec.method === 'repaint' ? { resample: spec.resample ?? DEFAULT_REPAINT.resample, jump: spec.jump ?? DEFAULT_REPAINT.jump } : {};
  return { method: spec.method, images: spec.images, mask: spec.mask, ...repaint };
}