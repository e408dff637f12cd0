import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Argv } from 'yargs';
import { CountingScoreModel, sampleSize } from '../core/score';
import { writeJsonAtomic } from '../core/files';
import { RunFolder, checkOutputDir, claimRunDir } from './run-folder';
import { npyToFloat64, readNpy, readNpyHeader, readNpyRows, writeNpy } from '../core/npy';
import { BuiltModel, buildModel } from '../configs/model-loader';
import { inlineMixture } from '../configs/resolve';
import { loadConfig } from '../configs/load';
import { ExperimentConfig } from '../configs/schema';
import { GaussianMixture, GaussianMixtureSpec } from '../models/gaussian-mixture';
import { DIVERGENCE_METHODS, LikelihoodResult, PROBE_KINDS, Quantization, logLikelihood, meanAndStderr } from '../likelihood';
import { EXIT_OK, UsageError } from './exit-codes';
import { onnxruntimeVersions, safeName, timestamp } from './experiment';
import { packageJson } from './fsutil';
import type { Io } from './main';

/**
 * `score-sde likelihood <config> --data <file.npy>`: log p(x) of each data row under the config's
 * model, by the probability-flow ODE (likelihood/), into a folder:
 *   logp.npy            float64 [n]: log p in nats of each (dequantized) row
 *   bpd.npy             float64 [n]: bits/dim (image data: dequantized in the card's dataRange)
 *   logp-stderr.npy     float64 [n]: per-sample Hutchinson standard error (2 or more probes)
 *   true-logp.npy       float64 [n]: the data distribution's own log-density, where it is known
 *                       (inline mixture/gaussian models, a card with data.mixture)
 *   latents.npy         float32 [n, ...sampleShape]: x(T)
 *   likelihood.json     settings, NFE, time, and mean ± standard error of each of the above
 * Every file atomic, likelihood.json last.
 */

export const LIKELIHOOD_FORMAT = 'score-sde-likelihood/1';

type Args = Record<string, unknown>;

export function likelihoodBuilder(y: Argv): Argv {
  return y
    .positional('config', { type: 'string', describe: 'Experiment config (YAML or JSON): its model, SDE and device' })
    .option('data', { type: 'string', demandOption: true, requiresArg: true, describe: 'A .npy of data rows [n, ...sampleShape]' })
    .option('labels', { type: 'string', requiresArg: true, describe: "A .npy of each data row's class (integers), for a class-conditional model: log p(x | y) (with guidance.scale in the config, of the guided model); without it such a model gives the unconditional log p(x)" })
    .option('from', { type: 'number', default: 0, describe: 'First data row (its global index keys the probes and dequantization noise, so runs over row ranges join into one run)' })
    .option('n', { type: 'number', requiresArg: true, describe: 'Use n rows from --from (default: all the rest)' })
    .option('method', { choices: DIVERGENCE_METHODS, default: 'auto', describe: 'Divergence: exact (closed form), jacobian (full trace), hutchinson; auto: exact, else jacobian up to --jacobian-max-dim, else hutchinson' })
    .option('probes', { type: 'number', default: 1, describe: 'Hutchinson probes per sample (2 or more give a per-sample standard error)' })
    .option('probe', { choices: PROBE_KINDS, default: 'rademacher', describe: 'Hutchinson probe distribution' })
    .option('jacobian-max-dim', { type: 'number', default: 16, describe: 'Largest dimension auto takes the full Jacobian trace in' })
    .option('fd-step', { type: 'number', default: 1e-2, describe: 'Central-difference step h as a fraction of σ(t): h = fd-step · max(σ(t), 1e-3) (float16 graphs: ~0.1)' })
    .option('rtol', { type: 'number', default: 1e-5, describe: 'RK45 relative tolerance' })
    .option('atol', { type: 'number', default: 1e-5, describe: 'RK45 absolute tolerance' })
    .option('eps', { type: 'number', default: 1e-5, describe: 'Start time of the ODE (log p_eps is what is estimated)' })
    .option('seed', { type: 'number', default: 0, describe: 'Seed of the probes and the dequantization noise' })
    .option('dequantize', { type: 'boolean', describe: "Uniform dequantization on 256 levels of the card's dataRange, and bits/dim (default: on when the card has a dataRange)" })
    .option('batch-size', { type: 'number', default: 100, describe: 'Samples integrated together (each keeps its own steps)' })
    .option('set', { type: 'string', requiresArg: true, describe: 'Override a config field: path.to.key=value; repeatable' })
    .option('out', { type: 'string', requiresArg: true, describe: 'Output folder (default runs/<name>-likelihood-<timestamp>)' })
    .option('json', { type: 'boolean', describe: 'Print likelihood.json on stdout' })
    .option('quiet', { type: 'boolean', alias: 'q', describe: 'No log lines on stderr' });
}

export async function cmdLikelihood(args: Args, io: Io): Promise<number> {
  const sets = args.set === undefined ? [] : (Array.isArray(args.set) ? args.set : [args.set]).map(String);
  const loaded = loadConfig(String(args.config), { sets, cwd: io.cwd });
  const log = args.quiet ? () => undefined : (line: string) => io.stderr(`${line}\n`);
  const named = args.out !== undefined ? path.resolve(io.cwd, String(args.out)) : undefined;
  if (named !== undefined) checkOutputDir(named, '--out');
  // A fresh default folder is claimed (runs in the same second get -2, -3 …), as for `run`.
  const out = named ?? claimRunDir(defaultLikelihoodDir(loaded.config, io.cwd));
  let summary;
  try {
    summary = await runLikelihood(loaded.config, { ...likelihoodSettings(args, io.cwd), outDir: out, claimed: named === undefined, configFile: loaded.file, log });
  } catch (err) {
    if (named === undefined) fs.rmSync(out, { recursive: true, force: true }); // the folder claimed above: empty, or holding only a discarded stage
    throw err;
  }
  if (args.json) io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    const f = (v: { mean: number; stderr: number }, d: number) => `${v.mean.toFixed(d)} ± ${v.stderr.toFixed(d)}`;
    io.stdout(
      `${path.relative(io.cwd, out) || '.'}: ${summary.n} samples, log p ${f(summary.logp, 3)} nats` +
        (summary.bpd ? `, ${f(summary.bpd, 4)} bits/dim` : '') +
        (summary.truth ? `; true log p ${f(summary.truth.logp, 3)}, model − true ${f(summary.truth.gap, 4)}` : '') +
        `; ${summary.divergence.method}, NFE ${summary.nfe.toFixed(1)} (${summary.modelEvaluations.toFixed(0)} model evaluations) per sample, ${formatMs(summary.timePerSampleMs)} per sample\n`,
    );
  }
  return EXIT_OK;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms.toPrecision(3)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export interface LikelihoodRunOptions {
  data: string;
  /** Per-row class labels of `data` (a .npy of integers), for a class-conditional model. */
  labels?: string;
  from: number;
  n?: number;
  method: (typeof DIVERGENCE_METHODS)[number];
  probes: number;
  probe: (typeof PROBE_KINDS)[number];
  jacobianMaxDim: number;
  fdStep: number;
  rtol: number;
  atol: number;
  eps: number;
  seed: number;
  dequantize?: boolean;
  batchSize: number;
  /** The folder, written whole or not at all (staged beside it, then renamed into place). */
  outDir: string;
  /** outDir was claimed empty for this run (claimRunDir): a failure removes it again. */
  claimed?: boolean;
  configFile?: string;
  log?: (line: string) => void;
}

function likelihoodSettings(a: Args, cwd: string): Omit<LikelihoodRunOptions, 'outDir'> {
  const int = (name: string, min: number) => {
    const v = a[name];
    if (v === undefined) return undefined;
    if (!(Number.isInteger(v) && (v as number) >= min)) throw new UsageError(`--${name} must be an integer >= ${min}, got ${String(v)}`);
    return v as number;
  };
  return {
    data: path.resolve(cwd, String(a.data)),
    labels: a.labels !== undefined ? path.resolve(cwd, String(a.labels)) : undefined,
    from: int('from', 0)!,
    n: int('n', 1),
    method: a.method as LikelihoodRunOptions['method'],
    probes: int('probes', 1)!,
    probe: a.probe as LikelihoodRunOptions['probe'],
    jacobianMaxDim: int('jacobian-max-dim', 0)!,
    fdStep: a['fd-step'] as number,
    rtol: a.rtol as number,
    atol: a.atol as number,
    eps: a.eps as number,
    seed: int('seed', 0)!,
    dequantize: a.dequantize as boolean | undefined,
    batchSize: int('batch-size', 1)!,
  };
}

export function defaultLikelihoodDir(config: ExperimentConfig, cwd = process.cwd(), now = new Date()): string {
  return path.resolve(cwd, 'runs', `${safeName(config.name ?? 'run')}-likelihood-${timestamp(now)}`);
}

interface Stat {
  mean: number;
  stderr: number;
}
const stat = (v: ArrayLike<number>): Stat => {
  const [mean, stderr] = meanAndStderr(v);
  return { mean, stderr };
};

/** Runs the likelihood of a config's model on a data file and writes the folder; returns the summary. */
export async function runLikelihood(config: ExperimentConfig, o: LikelihoodRunOptions) {
  const started = performance.now();
  const log = o.log ?? (() => undefined);
  const built = await buildModel(withDataLabels(config, o), { log });
  const model = new CountingScoreModel(built.model);
  try {
    const shape = built.sampleShape;
    const dim = sampleSize(shape);
    if (!fs.existsSync(o.data)) throw new UsageError(`--data: file not found: ${o.data}`);
    const h = readNpyHeader(o.data);
    const per = h.shape.slice(1).reduce((p, q) => p * q, 1);
    if (h.shape.length < 2 || per !== dim) {
      throw new UsageError(`--data ${o.data} has shape [${h.shape.join(', ')}]: rows of ${per} values, but the model's samples have ${dim} ([${shape.join(', ')}])`);
    }
    if (o.from >= h.shape[0]) throw new UsageError(`--from ${o.from}: ${o.data} has only ${h.shape[0]} rows`);
    const n = Math.min(o.n ?? h.shape[0] - o.from, h.shape[0] - o.from);
    // Only the rows asked for are read; a NaN would run through the whole ODE solve.
    const data = readNpyRows(o.data, h, o.from, n);
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new UsageError(`--data ${o.data}: row ${o.from + Math.floor(bad / dim)} holds ${data[bad]}; the data must be finite`);
    const quantization = quantizationFor(o.dequantize, built.dataRange);
    log(`likelihood of ${n} × [${shape.join(', ')}] from ${path.basename(o.data)}${o.from ? ` (rows ${o.from}–${o.from + n - 1})` : ''} on ${built.sdeSpec.kind.toUpperCase()} (${built.executionProvider})${quantization ? `, dequantized in [${quantization.range.join(', ')}]` : ''}`);
    const t0 = performance.now();
    const r = await logLikelihood({
      sde: built.sde,
      model,
      data,
      quantization,
      eps: o.eps,
      rtol: o.rtol,
      atol: o.atol,
      batchSize: o.batchSize,
      firstSample: o.from,
      divergence: { method: o.method, probes: o.probes, probe: o.probe, jacobianMaxDim: o.jacobianMaxDim, fdStep: o.fdStep, seed: o.seed },
      onBatch: (done, total) => log(`  ${done}/${total} samples, ${((performance.now() - t0) / 1000).toFixed(1)} s`),
    });
    const wallTimeMs = performance.now() - t0;
    const mixture = trueMixture(config, built.card?.data?.mixture as GaussianMixtureSpec | undefined);
    const trueLogp = mixture && !quantization && (built.labels?.scale ?? 1) === 1 ? trueLogDensity(mixture, r.input, built.labels?.labels, o.from) : undefined;
    const summary = describe(config, o, r, { n, shape, built, model, wallTimeMs, trueLogp, totalTimeMs: 0 });
    // Staged and renamed into place: a crash leaves no half folder, a rerun no stale files.
    const folder = new RunFolder(o.outDir, o.claimed ?? false);
    try {
      writeNpy(folder.file('logp.npy'), r.logp, [n], 'float64');
      if (r.bpd) writeNpy(folder.file('bpd.npy'), r.bpd, [n], 'float64');
      if (r.logpStderr) writeNpy(folder.file('logp-stderr.npy'), r.logpStderr, [n], 'float64');
      if (trueLogp) writeNpy(folder.file('true-logp.npy'), trueLogp, [n], 'float64');
      writeNpy(folder.file('latents.npy'), r.latents, [n, ...shape], 'float32');
      summary.totalTimeMs = performance.now() - started;
      writeJsonAtomic(folder.file('likelihood.json'), summary);
      folder.publish();
    } catch (err) {
      folder.discard();
      throw err;
    }
    return summary;
  } finally {
    await built.model.dispose?.();
  }
}

/**
 * --labels: the data rows' classes become sampling.labels (row i of the data file is sample i, and
 * the likelihood hands the model each row's global index), so the model is the conditional one
 * (γ = 1 unless the config sets guidance). Checked here: integers, one per data row.
 */
function withDataLabels(config: ExperimentConfig, o: LikelihoodRunOptions): ExperimentConfig {
  if (o.labels === undefined) return config;
  if (!fs.existsSync(o.labels)) throw new UsageError(`--labels: file not found: ${o.labels}`);
  const labels = Array.from(npyToFloat64(readNpy(o.labels)));
  const rows = fs.existsSync(o.data) ? readNpyHeader(o.data).shape[0] : undefined;
  if (rows !== undefined && labels.length !== rows) throw new UsageError(`--labels ${o.labels} has ${labels.length} labels, but --data has ${rows} rows (one label per row)`);
  const bad = labels.findIndex((l) => !Number.isInteger(l) || l < 0);
  if (bad >= 0) throw new UsageError(`--labels ${o.labels}: entry ${bad} is ${labels[bad]}, not a class index`);
  return { ...config, sampling: { ...config.sampling, labels } };
}

/** Dequantize where asked, by default where the card gives a data range (images). */
function quantizationFor(asked: boolean | undefined, range: [number, number] | undefined): Quantization | undefined {
  if (asked === false) return undefined;
  if (!range) {
    if (asked) throw new UsageError("--dequantize needs a data range: the model card's dataRange (images quantized to 256 levels in it)");
    return undefined;
  }
  return { range, levels: 256 };
}

/**
 * The data's true log-density: the mixture's, or with labels (a class-conditional mixture,
 * component k = class k) component y_i's for row i. The null label K (the whole mixture) and
 * guidance scales other than 1 have no closed form here: undefined.
 */
function trueLogDensity(spec: GaussianMixtureSpec, x: Float64Array, labels: readonly number[] | undefined, from: number): Float64Array | undefined {
  const mixture = new GaussianMixture(spec);
  if (!labels) return mixture.logDensity(x);
  const D = mixture.D;
  const n = x.length / D;
  const slice = (a: Float64Array, k: number) => Array.from(a.subarray(k * D, (k + 1) * D));
  const components = Array.from({ length: mixture.K }, (_, k) => new GaussianMixture({ means: [slice(mixture.means, k)], stds: [slice(mixture.stds, k)] }));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const k = labels[(from + i) % labels.length];
    if (k >= mixture.K) return undefined;
    out[i] = components[k].logDensity(x.subarray(i * D, (i + 1) * D))[0];
  }
  return out;
}

/** The data distribution's own mixture, where it is known: an inline model's, or the card's data.mixture. */
function trueMixture(config: ExperimentConfig, cardMixture: GaussianMixtureSpec | undefined): GaussianMixtureSpec | undefined {
  return inlineMixture(config.model) ?? cardMixture;
}

function describe(
  config: ExperimentConfig,
  o: LikelihoodRunOptions,
  r: LikelihoodResult,
  c: { n: number; shape: number[]; built: BuiltModel; model: CountingScoreModel; wallTimeMs: number; totalTimeMs: number; trueLogp?: Float64Array },
) {
  const cpus = os.cpus();
  const files = ['logp.npy', r.bpd && 'bpd.npy', r.logpStderr && 'logp-stderr.npy', c.trueLogp && 'true-logp.npy', 'latents.npy', 'likelihood.json'].filter(Boolean) as string[];
  return {
    format: LIKELIHOOD_FORMAT,
    name: config.name ?? 'run',
    createdAt: new Date().toISOString(),
    configFile: o.configFile,
    data: { file: o.data, from: o.from, n: c.n, sampleShape: c.shape, labels: o.labels },
    guidance: c.built.labels ? { scale: c.built.labels.scale, conditional: 'log p(x | y) with y the --labels of each row' } : undefined,
    model: {
      type: config.model.type,
      path: config.model.type === 'onnx' ? config.model.path : undefined,
      card: c.built.cardSource,
      executionProvider: c.built.executionProvider,
    },
    sde: { ...c.built.sdeSpec },
    n: c.n,
    /** Mean ± standard error over samples (data spread and Hutchinson noise together). */
    logp: stat(r.logp),
    bpd: r.bpd ? stat(r.bpd) : undefined,
    /** Mean per-sample Hutchinson standard error (2 or more probes). */
    hutchinsonStderr: r.logpStderr ? stat(r.logpStderr).mean : undefined,
    truth: c.trueLogp ? { source: 'mixture', logp: stat(c.trueLogp), gap: stat(r.logp.map((v, i) => v - c.trueLogp![i])) } : undefined,
    divergence: r.settings.divergence,
    solver: { name: 'rk45 (Dormand–Prince 5(4), error norm per sample)', eps: r.settings.eps, T: r.settings.T, rtol: r.settings.rtol, atol: r.settings.atol, maxSteps: r.settings.maxSteps },
    quantization: r.settings.quantization ? { ...r.settings.quantization, convention: 'bpd = −log p(y)/(D ln 2) + log2(levels) − log2(hi − lo), y = lo + (hi − lo)(k + u)/levels' } : undefined,
    batchSize: o.batchSize,
    /** Vector-field evaluations per sample (score_sde's nfe), and model evaluations per sample (counted). */
    nfe: r.nfe,
    modelEvaluations: c.model.evaluations / c.n,
    wallTimeMs: c.wallTimeMs,
    timePerSampleMs: c.wallTimeMs / c.n,
    totalTimeMs: c.totalTimeMs,
    files,
    versions: { package: packageJson().version, node: process.version, onnxruntime: onnxruntimeVersions() },
    environment: { platform: process.platform, arch: process.arch, cores: cpus.length, cpu: cpus[0]?.model ?? 'unknown' },
  };
}
