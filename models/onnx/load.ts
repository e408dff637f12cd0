import { existsSync, statSync } from 'fs';
import { basename, resolve } from 'path';
import { ort } from './ort';
import { SDE, sameKernel } from '../../sdes/sde';
import { makeSDE } from '../../sdes/registry';
import { ParameterError, requireInteger } from '../../core/errors';
import { ModelCard, TimeConvention } from '../card';
import { Parameterization, sampleSize } from '../../core/score';
import { checkCard } from './card-io';
import { ModelCardReading, readModelCard } from './card-source';
import { ModelCardMismatchError, ModelFileError, show } from './errors';
import { FloatType, LabelType, floatBuffer, labelBuffer, makeTensor, noop, timeBuffer } from './tensors';
import { LabelInput, OnnxScoreModel, SessionRun } from './onnx-score-model';
import { Device, shortReason } from './execution-provider';
import { createSession } from './session';
import { OnnxTopLevel, readOnnxTopLevelFile } from './onnx-file';
import { TimeInputType, fillTimeInput, isIntegerConvention } from './time-convention';

export interface OnnxModelOptions {
  /** 'auto' (default) tries CUDA and falls back to CPU; 'cuda' fails if CUDA is unavailable. */
  device?: 'auto' | 'cuda' | 'cpu';
  /** Intra-op threads (default: onnxruntime's). */
  threads?: number;
  /** Split larger batches into chunks of this size. */
  maxBatch?: number;
  /**
   * A card object or the path of a card JSON. Default: '<model>.card.json' beside the file
   * (foo.onnx → foo.card.json), else the card in the ONNX metadata key 'score_sde_card'. Where the
   * model embeds a card, the card used must agree with it (see ./card-source.ts).
   */
  card?: ModelCard | string;
  /**
   * The SDE the sampler uses: the model then converts its output with this very object, so the
   * network and the solver share one α(t), σ(t). Its kernel must be the card's (kind, schedule,
   * T, α, σ; N and eps may differ), else ModelCardMismatchError. Default: built from the card.
   */
  sde?: SDE;
  /** @internal
   * Instrumentation seam (bench/): wraps the session's run. Unset, the model calls session.run
   * directly and this costs nothing.
   */
  instrument?: (session: ort.InferenceSession) => SessionRun;
  /** Expected settings: given and contradicting the card → ModelCardMismatchError. */
  timeInput?: TimeConvention;
  parameterization?: Parameterization;
  /** Override the input/output names (else the card's, else discovered from the graph). */
  inputs?: { x?: string; t?: string; label?: string };
  output?: string;
  /**
   * Extra inputs fed as constants (class labels, guidance). A -1 in dims stands for the batch
   * axis: data then holds one sample's values and is repeated for every row.
   */
  constants?: Record<string, { data: number[]; dims: number[]; type?: 'float32' | 'int64' | 'int32' }>;
  /** Gets one line saying which execution provider was used and why. Default: console.error. */
  log?: (line: string) => void;
}

interface TensorInfo {
  name: string;
  type: string;
  /** Empty when the graph does not say. */
  shape: readonly (number | string)[];
}

const X_NAMES = ['x', 'x_t', 'xt', 'sample', 'samples', 'input', 'inputs', 'noisy', 'x_noisy', 'image', 'images', 'data'];
const T_NAMES = ['t', 'time', 'times', 'timestep', 'timesteps', 'sigma', 'sigmas', 'noise_labels', 'noise_level', 'c_noise', 'temb'];

/**
 * Loads an ONNX score network with its model card: finds the card, checks the graph's inputs and
 * output against it, picks the execution provider, and returns a ScoreModel whose SDE,
 * parameterization and time convention come from the card.
 */
export async function loadOnnxScoreModel(path: string, opts: OnnxModelOptions = {}): Promise<OnnxScoreModel> {
  const file = resolve(path);
  const device: Device = opts.device ?? 'auto';
  if (!['auto', 'cuda', 'cpu'].includes(device)) {
    throw new ParameterError(`device must be 'auto', 'cuda' or 'cpu', got '${String(device)}'`);
  }
  if (opts.threads !== undefined) requireInteger('threads', opts.threads, 1);
  if (opts.maxBatch !== undefined) requireInteger('maxBatch', opts.maxBatch, 1);

  // 1. The file: there, and an ONNX model.
  if (!existsSync(file)) throw new ModelFileError(file, 'model file not found');
  if (!statSync(file).isFile()) throw new ModelFileError(file, 'not a file');
  let top: OnnxTopLevel;
  try {
    top = readOnnxTopLevelFile(file);
  } catch (e) {
    throw new ModelFileError(file, `not an ONNX model (expected a serialized onnx ModelProto: ${(e as Error).message})`);
  }

  // 2. The card, and the one SDE the model and its sampler use.
  const reading = readModelCard(file, opts.card, top);
  const card = reading.card;
  checkCard(card, { timeInput: opts.timeInput, parameterization: opts.parameterization }, `loading ${basename(file)}`);
  const sde = modelSde(file, card, opts.sde);

  // 3. The session, on the chosen execution provider.
  const { session, ep, reason } = await createSession(file, device, opts.threads);
  try {
    const model = await buildModel(file, reading, sde, session, ep, reason, opts);
    (opts.log ?? defaultLog)(`score-sde: execution provider ${ep} (${reason})`);
    return model;
  } catch (e) {
    await session.release().catch(noop);
    throw e;
  }
}

function defaultLog(line: string): void {
  console.error(line);
}

/** The card's SDE, or the given one where its kernel is the card's. */
function modelSde(file: string, card: ModelCard, given: SDE | undefined): SDE {
  let own: SDE;
  try {
    own = makeSDE(card.sde);
  } catch (e) {
    throw new ModelFileError(file, `the card's sde ${JSON.stringify(card.sde)} is invalid: ${(e as Error).message}`);
  }
  if (!given) return own;
  const same = sameKernel(given, own);
  if (!same.same) throw new ModelCardMismatchError('sde', card.sde, `an SDE whose kernel differs (${same.why})`, `loading ${basename(file)}`);
  return given;
}

function tensorInfo(meta: readonly ort.InferenceSession.ValueMetadata[], name: string): TensorInfo | undefined {
  const m = meta.find((v) => v.name === name);
  if (!m) return undefined;
  if (!m.isTensor) return { name, type: 'non-tensor', shape: [] };
  return { name, type: m.type, shape: m.shape };
}

function showShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

async function buildModel(
  file: string,
  reading: ModelCardReading,
  sde: SDE,
  session: ort.InferenceSession,
  ep: 'cuda' | 'cpu',
  reason: string,
  opts: OnnxModelOptions,
): Promise<OnnxScoreModel> {
  const card = reading.card;
  const constants: OnnxScoreModel['constants'] = {};
  for (const [name, c] of Object.entries(opts.constants ?? {})) {
    if (!session.inputNames.includes(name)) {
      throw new ModelFileError(file, `constant '${name}' is not an input of the model; its inputs are ${show(session.inputNames)}`);
    }
    const meta = tensorInfo(session.inputMetadata, name);
    const type = c.type ?? (meta?.type === 'int64' || meta?.type === 'int32' ? meta.type : 'float32');
    const per = c.dims.reduce((a, d) => (d === -1 ? a : a * d), 1);
    if (c.dims.filter((d) => d === -1).length > 1 || c.data.length !== per) {
      throw new ParameterError(`constant '${name}': data has ${c.data.length} values, dims [${c.dims.join(', ')}] need ${per} (at most one -1)`);
    }
    constants[name] = { data: c.data, dims: c.dims, type };
  }

  const label = labelInput(file, card, session, opts.inputs?.label, constants);
  // Names: option, else card, else discovered.
  const free = session.inputNames.filter((n) => !(n in constants) && n !== label?.name);
  const rankOf = (n: string) => tensorInfo(session.inputMetadata, n)?.shape.length ?? -1;
  const xRank = 1 + card.sampleShape.length;
  const pick = (role: 'x' | 't', given: string | undefined, names: string[], rankOk: (r: number) => boolean, taken?: string) => {
    if (given !== undefined) {
      if (!session.inputNames.includes(given)) {
        throw new ModelFileError(file, `input '${given}' (for ${role}) is not in the model; its inputs are ${show(session.inputNames)}`);
      }
      return given;
    }
    const pool = free.filter((n) => n !== taken);
    const byName = pool.filter((n) => names.includes(n.toLowerCase()));
    if (byName.length === 1) return byName[0];
    const byRank = pool.filter((n) => rankOk(rankOf(n)));
    if (byRank.length === 1) return byRank[0];
    if (pool.length === 1) return pool[0];
    throw new ModelFileError(
      file,
      `cannot tell which input is ${role} among ${show(pool)}: name them in the card ('inputs': {"x": ..., "t": ...}) or the inputs option`,
    );
  };
  const xName = pick('x', opts.inputs?.x ?? card.inputs?.x, X_NAMES, (r) => r === xRank);
  const tName = pick('t', opts.inputs?.t ?? card.inputs?.t, T_NAMES, (r) => r === 1 || r === 0, xName);
  if (xName === tName) throw new ModelFileError(file, `x and t both name input '${xName}'`);
  if (label && (label.name === xName || label.name === tName)) throw new ModelFileError(file, `the label input '${label.name}' is also named as x or t`);
  const unfed = session.inputNames.filter((n) => n !== xName && n !== tName && n !== label?.name && !(n in constants));
  if (unfed.length) {
    throw new ModelFileError(
      file,
      `the model has inputs ${show(unfed)} besides x ('${xName}') and t ('${tName}'): feed them with the constants option, ` +
        `or, for a per-sample class label, declare it in the card ('conditioning': {input, classes, nullLabel})`,
    );
  }
  let outName = opts.output ?? card.output;
  if (outName === undefined) {
    if (session.outputNames.length !== 1) {
      throw new ModelFileError(file, `the model has outputs ${show(session.outputNames)}: name the score output in the card ('output') or the output option`);
    }
    outName = session.outputNames[0];
  } else if (!session.outputNames.includes(outName)) {
    throw new ModelFileError(file, `output '${outName}' is not in the model; its outputs are ${show(session.outputNames)}`);
  }

  // Types and shapes against the card.
  const x = tensorInfo(session.inputMetadata, xName)!;
  const t = tensorInfo(session.inputMetadata, tName)!;
  const out = tensorInfo(session.outputMetadata, outName)!;
  const wantX = ['batch', ...card.sampleShape];
  const floats = ['float32', 'float16', 'float64'];
  if (!floats.includes(x.type)) throw new ModelFileError(file, `input '${xName}' has type ${x.type}, expected float32, float16 or float64`);
  if (!floats.includes(out.type)) throw new ModelFileError(file, `output '${outName}' has type ${out.type}, expected float32, float16 or float64`);
  const tTypes = isIntegerConvention(card.timeInput) ? [...floats, 'int64', 'int32'] : floats;
  if (!tTypes.includes(t.type)) {
    throw new ModelFileError(file, `time input '${tName}' has type ${t.type}, but timeInput '${card.timeInput}' needs one of ${tTypes.join(', ')}`);
  }
  const checkData = (what: string, info: TensorInfo) => {
    if (info.shape.length === 0) return; // rank not declared
    const ok =
      info.shape.length === wantX.length &&
      info.shape.every((d, i) => i === 0 || typeof d === 'string' || d === wantX[i]);
    if (!ok) {
      throw new ModelFileError(
        file,
        `${what} '${info.name}' has shape ${showShape(info.shape)}, but the card's sampleShape [${card.sampleShape.join(', ')}] needs ${showShape(wantX)}`,
      );
    }
  };
  checkData('input', x);
  checkData('output', out);
  let tRank: 1 | 2 = 1;
  if (t.shape.length === 2 && (t.shape[1] === 1 || typeof t.shape[1] === 'string')) tRank = 2;
  else if (t.shape.length !== 1 && t.shape.length !== 0) {
    throw new ModelFileError(file, `time input '${tName}' has shape ${showShape(t.shape)}, expected [batch] (one time per sample) or [batch, 1]`);
  }
  const labelShape = label ? tensorInfo(session.inputMetadata, label.name)!.shape : [];
  const batchDims = [x.shape[0], t.shape[0], out.shape[0], labelShape[0]].filter((d): d is number => typeof d === 'number');
  const staticBatch = batchDims.length ? batchDims[0] : undefined;
  if (batchDims.some((d) => d !== staticBatch)) {
    throw new ModelFileError(
      file,
      `the batch axes disagree: x ${showShape(x.shape)}, t ${showShape(t.shape)}, output ${showShape(out.shape)}${label ? `, label ${showShape(labelShape)}` : ''}`,
    );
  }

  const model = new OnnxScoreModel(file, card, session, ep, reason, { x: xName, t: tName }, outName, {
    sde,
    cardSource: reading.source,
    run: opts.instrument?.(session),
    xType: x.type as FloatType,
    tType: t.type as TimeInputType,
    outType: out.type as FloatType,
    tRank,
    staticBatch,
    maxBatch: opts.maxBatch,
    constants,
    label,
  });

  // Where the graph leaves the output's shape open, one probe run shows it before any sampling.
  const open = out.shape.length === 0 || out.shape.slice(1).some((d) => typeof d === 'string');
  if (open) {
    await probeOutputShape(file, session, card, model.sde, outName, staticBatch ?? 1, {
      x: new ort.Tensor(x.type as FloatType, floatBuffer(x.type as FloatType, (staticBatch ?? 1) * sampleSize(card.sampleShape)), [
        staticBatch ?? 1,
        ...card.sampleShape,
      ]),
      t: { name: tName, type: t.type as TimeInputType, dims: tRank === 2 ? [staticBatch ?? 1, 1] : [staticBatch ?? 1] },
      xName,
      constants,
      label,
    });
  }
  return model;
}

/**
 * The per-sample label input of a conditional network: named by the inputs option, else the
 * card's inputs.label or conditioning.input; it must be an input of the graph, integer (or
 * float32) with one value per sample ([batch] or [batch, 1]), and not fed as a constant.
 */
function labelInput(
  file: string,
  card: ModelCard,
  session: ort.InferenceSession,
  given: string | undefined,
  constants: Record<string, unknown>,
): LabelInput | undefined {
  const cond = card.conditioning;
  if (!cond) {
    if (given !== undefined) throw new ModelFileError(file, `a label input ('${given}') needs a card with 'conditioning' (classes, nullLabel)`);
    return undefined;
  }
  const name = given ?? card.inputs?.label ?? cond.input;
  if (!session.inputNames.includes(name)) {
    throw new ModelFileError(file, `the card's label input '${name}' (conditioning.input) is not in the model; its inputs are ${show(session.inputNames)}`);
  }
  if (name in constants) throw new ModelFileError(file, `constant '${name}' is the model's label input: give labels per sample (sampling.labels), not as a constant`);
  const info = tensorInfo(session.inputMetadata, name)!;
  const types: LabelType[] = ['int64', 'int32', 'float32'];
  if (!types.includes(info.type as LabelType)) throw new ModelFileError(file, `label input '${name}' has type ${info.type}, expected int64, int32 or float32`);
  const shape = info.shape;
  let rank: 1 | 2 = 1;
  if (shape.length === 2 && (shape[1] === 1 || typeof shape[1] === 'string')) rank = 2;
  else if (shape.length !== 1 && shape.length !== 0) {
    throw new ModelFileError(file, `label input '${name}' has shape ${showShape(shape)}, expected [batch] (one label per sample) or [batch, 1]`);
  }
  return { name, type: info.type as LabelType, rank, conditioning: { classes: cond.classes, nullLabel: cond.nullLabel } };
}

async function probeOutputShape(
  file: string,
  session: ort.InferenceSession,
  card: ModelCard,
  sde: SDE,
  outName: string,
  rows: number,
  inputs: {
    x: ort.Tensor;
    xName: string;
    t: { name: string; type: TimeInputType; dims: number[] };
    constants: Record<string, { data: number[]; dims: number[]; type: 'float32' | 'int64' | 'int32' }>;
    label?: LabelInput;
  },
): Promise<void> {
  const tData = timeBuffer(inputs.t.type, rows);
  fillTimeInput(card.timeInput, sde, new Float64Array(rows).fill(0.5 * sde.T), 0, rows, tData, inputs.t.type, card.timesteps);
  const feeds: Record<string, ort.Tensor> = {
    [inputs.xName]: inputs.x,
    [inputs.t.name]: new ort.Tensor(inputs.t.type, tData, inputs.t.dims),
  };
  if (inputs.label) {
    const { name, type, rank, conditioning } = inputs.label;
    const labels = labelBuffer(type, rows);
    for (let i = 0; i < rows; i++) (labels as Int32Array)[i] = (type === 'int64' ? BigInt(conditioning.nullLabel) : conditioning.nullLabel) as number;
    feeds[name] = new ort.Tensor(type, labels, rank === 2 ? [rows, 1] : [rows]);
  }
  for (const [name, k] of Object.entries(inputs.constants)) {
    const per = k.data.length;
    const data = k.dims.includes(-1) ? Array.from({ length: per * rows }, (_, j) => k.data[j % per]) : k.data;
    feeds[name] = makeTensor(k.type, data, k.dims.map((d) => (d === -1 ? rows : d)));
  }
  let dims: readonly number[];
  try {
    dims = (await session.run(feeds))[outName].dims;
  } catch (e) {
    throw new ModelFileError(file, `a probe run on a batch of ${rows} failed: ${shortReason(e)}`);
  }
  const want = [rows, ...card.sampleShape];
  if (dims.length !== want.length || dims.some((d, i) => d !== want[i])) {
    throw new ModelFileError(
      file,
      `output '${outName}' has shape [${dims.join(', ')}] for a batch of ${rows}, but the card's sampleShape [${card.sampleShape.join(', ')}] needs [${want.join(', ')}]`,
    );
  }
}
