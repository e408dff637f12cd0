import * as fs from 'fs';
import * as path from 'path';
import { ModelCard } from '../models/card';
import { CudaDiagnosis, formatCudaDiagnosis } from '../models/onnx/cuda-diagnosis';
import { listShipped, shipped } from '../models/shipped';
import { UsageError } from './exit-codes';
import { readModelCard } from '../models/onnx/card-source';

/**
 * `score-sde inspect <model.onnx | shipped name>`: the graph's inputs and outputs (names, element
 * types, shapes), the model card and whether the model loads as a score model with it, and which
 * execution providers work on this machine, with what is missing for CUDA.
 * `score-sde inspect` (no model): the execution providers and the CUDA diagnosis only.
 * `score-sde inspect --list`: the shipped networks by name.
 */

export interface TensorInfo {
  name: string;
  type?: string;
  shape?: (number | string)[];
}

export interface InspectReport {
  path: string;
  bytes: number;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  card?: ModelCard;
  cardSource?: string;
  /** Whether models/onnx loads it as a score model with its card (and why not). */
  scoreModel: { ok: boolean; detail: string };
  executionProviders: ExecutionProviders;
  /** What stands between this machine and CUDA (provider files, missing libraries, device). */
  cudaDiagnosis?: CudaDiagnosis;
  onnxruntime?: Record<string, string>;
}

type ExecutionProviders = { cpu: boolean; cuda: { ok: boolean; reason: string } } | { error: string };

/** What `score-sde inspect` without a model reports: this machine's execution providers. */
export interface EnvironmentReport {
  executionProviders: ExecutionProviders;
  cudaDiagnosis?: CudaDiagnosis;
  onnxruntime?: Record<string, string>;
}

/** A model argument: an existing file, else the name of a shipped network, else the path as given. */
export function resolveModelArgument(arg: string, cwd: string): string {
  const abs = path.resolve(cwd, arg);
  if (fs.existsSync(abs) || path.isAbsolute(arg)) return abs;
  try {
    return shipped(arg);
  } catch {
    return abs;
  }
}

async function probeProviders(): Promise<{ executionProviders: ExecutionProviders; cudaDiagnosis?: CudaDiagnosis }> {
  try {
    const loader = require('../configs/model-loader') as typeof import('../configs/model-loader');
    const { cpu, cuda, cudaDiagnosis } = await loader.onnxModule().availableExecutionProviders();
    return { executionProviders: { cpu, cuda }, cudaDiagnosis };
  } catch (err) {
    return { executionProviders: { error: (err as Error).message.split('\n')[0] } };
  }
}

export async function inspectEnvironment(): Promise<EnvironmentReport> {
  const { ort } = require('../models/onnx/ort') as typeof import('../models/onnx/ort');
  return { ...(await probeProviders()), onnxruntime: { ...(ort.env.versions as Record<string, string>) } };
}

function metadata(list: readonly unknown[] | undefined, names: readonly string[]): TensorInfo[] {
  return names.map((name) => {
    const m = (list ?? []).find((x) => (x as { name?: string }).name === name) as { isTensor?: boolean; type?: string; shape?: (number | string)[] } | undefined;
    return m && m.isTensor ? { name, type: m.type, shape: [...(m.shape ?? [])] } : { name };
  });
}

export async function inspectModel(file: string): Promise<InspectReport> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new UsageError(`${file}: model file not found`);
  const { ort } = require('../models/onnx/ort') as typeof import('../models/onnx/ort');
  let session: import('onnxruntime-node').InferenceSession;
  try {
    session = await ort.InferenceSession.create(abs, { executionProviders: ['cpu'], logSeverityLevel: 3 });
  } catch (err) {
    // A file onnxruntime cannot parse is bad input (exit 2), not a failed run.
    throw new UsageError(`${file}: not a loadable ONNX model (onnxruntime: ${(err as Error).message.split('\n')[0]})`);
  }
  const report: InspectReport = {
    path: abs,
    bytes: fs.statSync(abs).size,
    inputs: metadata(session.inputMetadata, session.inputNames),
    outputs: metadata(session.outputMetadata, session.outputNames),
    scoreModel: { ok: false, detail: 'not checked' },
    executionProviders: { error: 'not checked' },
    onnxruntime: { ...(ort.env.versions as Record<string, string>) },
  };
  await session.release();

  let loader: typeof import('../configs/model-loader') | undefined;
  try {
    loader = require('../configs/model-loader') as typeof import('../configs/model-loader');
    loader.onnxModule();
  } catch (err) {
    report.scoreModel = { ok: false, detail: `models/onnx is not available: ${(err as Error).message.split('\n')[0]}` };
    loader = undefined;
  }
  if (loader) {
    try {
      const model = await loader.onnxModule().loadOnnxScoreModel(abs, { device: 'cpu', log: () => undefined });
      report.card = model.card;
      report.cardSource = model.cardSource;
      report.scoreModel = { ok: true, detail: `loads as a score model: sampleShape [${model.sampleShape.join(', ')}], ${model.card.parameterization} output, time input '${model.card.timeInput}'` };
      await model.dispose();
    } catch (err) {
      report.scoreModel = { ok: false, detail: (err as Error).message };
    }
    Object.assign(report, await probeProviders());
  }
  if (!report.card) {
    // The model does not load as a score model: show the card the loader would use, or why none.
    try {
      const reading = readModelCard(abs);
      report.card = reading.card;
      report.cardSource = reading.source;
    } catch (err) {
      report.cardSource = `none usable: ${(err as Error).message}`;
    }
  }
  if ('error' in report.executionProviders) {
    const backends = ort.listSupportedBackends?.() ?? [];
    report.executionProviders = {
      cpu: backends.some((b) => b.name === 'cpu'),
      cuda: { ok: false, reason: `not probed (${report.executionProviders.error}); onnxruntime lists: ${backends.map((b) => b.name).join(', ')}` },
    };
  }
  return report;
}

export function formatInspect(r: InspectReport): string {
  const lines: string[] = [];
  const t = (i: TensorInfo) => `  ${i.name}: ${i.type ?? '?'} [${(i.shape ?? []).join(', ')}]`;
  lines.push(`${r.path} (${(r.bytes / 1024).toFixed(1)} KiB, onnxruntime ${r.onnxruntime?.node ?? r.onnxruntime?.common ?? '?'})`);
  lines.push('inputs:', ...r.inputs.map(t));
  lines.push('outputs:', ...r.outputs.map(t));
  if (r.card) {
    const c = r.card;
    lines.push(`card (${r.cardSource}):`);
    lines.push(`  name: ${c.name}`);
    lines.push(`  sde: ${JSON.stringify(c.sde)}`);
    lines.push(`  parameterization: ${c.parameterization}, timeInput: ${c.timeInput}${c.timesteps ? ` (${c.timesteps} steps)` : ''}`);
    lines.push(`  sampleShape: [${c.sampleShape.join(', ')}]${c.dataRange ? `, dataRange: [${c.dataRange.join(', ')}]` : ''}`);
    if (c.data) lines.push(`  data: ${c.data.name}${c.data.reference ? `, reference ${c.data.reference}` : ''}${c.data.mixture ? `, mixture of ${c.data.mixture.means.length}` : ''}`);
    if (c.conditioning) {
      const k = c.conditioning;
      lines.push(`  conditioning: label input '${k.input}', classes ${k.classes.map((name, i) => `${i} ${name}`).join(', ')}; null label ${k.nullLabel} (sampling.labels, guidance)`);
    }
    if (c.description) lines.push(`  description: ${c.description}`);
  } else {
    lines.push(`card: none found${r.cardSource ? ` (${r.cardSource})` : ''}`);
  }
  lines.push(`score model: ${r.scoreModel.ok ? 'ok' : 'NO'}: ${r.scoreModel.detail}`);
  lines.push(...formatProviders(r));
  return lines.join('\n');
}

/** The execution-provider line, and the CUDA diagnosis where CUDA does not work. */
export function formatProviders(r: EnvironmentReport): string[] {
  const ep = r.executionProviders;
  if ('error' in ep) return [`execution providers: ${ep.error}`];
  const lines = [`execution providers: cpu ${ep.cpu ? 'yes' : 'no'}; cuda ${ep.cuda.ok ? 'yes' : 'no'} (${ep.cuda.reason})`];
  if (!ep.cuda.ok && r.cudaDiagnosis) lines.push(...formatCudaDiagnosis(r.cudaDiagnosis));
  return lines;
}

/** `inspect --list`: one line per shipped network, name then its card's summary. */
export function formatShippedList(): string {
  const list = listShipped();
  const width = Math.max(...list.map((m) => m.name.length));
  return list.map((m) => `${m.name.padEnd(width)}  ${m.summary}`).join('\n');
}

/** The `inspect` command: --list, no model (providers only), or a model file / shipped name. */
export async function cmdInspect(args: Record<string, unknown>, io: { cwd: string; stdout(s: string): void }): Promise<number> {
  const print = (value: unknown, text: string) => io.stdout(args.json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
  if (args.list) {
    print(listShipped().map(({ name, path: file, summary }) => ({ name, path: file, summary })), formatShippedList());
  } else if (args.model === undefined) {
    const env = await inspectEnvironment();
    print(env, formatProviders(env).join('\n'));
  } else {
    const report = await inspectModel(resolveModelArgument(String(args.model), io.cwd));
    print(report, formatInspect(report));
  }
  return 0;
}
