import { basename } from 'path';
import { ort } from './ort';
import { SDE } from '../../sdes/sde';
import { ParameterError } from '../../core/errors';
import { ModelCard, TimeConvention } from '../card';
import { toScore } from '../../sdes/parameterization';
import { ClassConditioning, ConditionalScoreModel, Parameterization, ScoreModel, sampleSize } from '../../core/score';
import { ModelFileError } from './errors';
import { floatBuffer, labelBuffer, makeTensor, noop, timeBuffer } from './tensors';
import type { FloatBuffer, FloatType, LabelBuffer, LabelType } from './tensor-types';
import { shortReason } from './execution-provider';
import { fromFloat16, toFloat16 } from './float16';
import { TimeBuffer, TimeInputType, fillTimeInput } from './time-convention';

/** @internal session.run as the model calls it: the seam an instrumenting wrapper (bench/) replaces. */
export type SessionRun = (feeds: Record<string, ort.Tensor>, fetches: Record<string, ort.Tensor>) => Promise<unknown>;

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { min } = Math;

/** Everything one batch size needs, allocated once and reused while that size recurs. */
interface ChunkBuffers {
  rows: number;
  x: FloatBuffer;
  t: TimeBuffer;
  out: FloatBuffer;
  /** The output as numbers: `out` itself unless float16 (then converted into this). */
  y: Float32Array | Float64Array;
  /** The label input's values, for a conditional network. */
  label?: LabelBuffer;
  feeds: Record<string, ort.Tensor>;
  fetches: Record<string, ort.Tensor>;
}

/** The per-sample label input of a conditional network (the card's conditioning). */
export interface LabelInput {
  name: string;
  type: LabelType;
  rank: 1 | 2;
  conditioning: ClassConditioning;
}

/**
 * An ONNX network as a ScoreModel: score() converts the network's output to the score with the
 * model's SDE; predict() returns the output itself, in the card's parameterization (see
 * sdes/predict.ts). The SDE is the one the sampler uses (configs/model-loader.ts passes it in).
 * A conditional network (card `conditioning`) takes a label per row through scoreWithLabels() and
 * predictWithLabels(); its score() and predict() feed the null label (the unconditional output).
 */
export class OnnxScoreModel implements ScoreModel, Omit<ConditionalScoreModel, 'conditioning'> {
  readonly sde: SDE;
  readonly sampleShape: readonly number[];
  /** The network's native output: what predict() returns. */
  readonly parameterization: Parameterization;
  /** Where the card came from (see ./card-source.ts). */
  readonly cardSource: string;
  /** Batch size the graph is fixed to (inputs are padded and split to it), or undefined if dynamic. */
  readonly staticBatch: number | undefined;
  /** Largest batch one session.run gets. */
  readonly chunkSize: number;
  /** The classes and null label of a conditional network; undefined for an unconditional one. */
  readonly conditioning?: ClassConditioning;

  private readonly dim: number;
  private readonly runSession: SessionRun;
  private readonly convention: TimeConvention;
  private readonly timesteps: number | undefined;
  private readonly xType: FloatType;
  private readonly tType: TimeInputType;
  private readonly outType: FloatType;
  private readonly tDims: (rows: number) => number[];
  private readonly constants: Record<string, { data: number[]; dims: number[]; type: 'float32' | 'int64' | 'int32' }>;
  private readonly fixedConstants: Record<string, ort.Tensor> = {};
  private readonly label: LabelInput | undefined;
  private nullLabels = new Int32Array(0);
  private readonly chunks = new Map<number, ChunkBuffers>();
  private tail: Promise<void> = Promise.resolve();
  private disposed = false;

  /**
   * Use loadOnnxScoreModel. Internal: left out of the published declarations, so that a consumer's
   * type check never reaches onnxruntime-common's types (which need the DOM lib).
   * @internal
   */
  constructor(
    readonly path: string,
    readonly card: ModelCard,
    private readonly session: ort.InferenceSession,
    readonly executionProvider: 'cuda' | 'cpu',
    readonly deviceReason: string,
    readonly inputNames: { x: string; t: string },
    readonly outputName: string,
    info: {
      sde: SDE;
      cardSource: string;
      /** Replaces session.run (instrumentation); default session.run itself. */
      run?: SessionRun;
      xType: FloatType;
      tType: TimeInputType;
      outType: FloatType;
      tRank: 1 | 2;
      staticBatch: number | undefined;
      maxBatch: number | undefined;
      constants: OnnxScoreModel['constants'];
      label?: LabelInput;
    },
  ) {
    this.sde = info.sde;
    this.cardSource = info.cardSource;
    this.runSession = info.run ?? ((feeds, fetches) => session.run(feeds, fetches));
    this.sampleShape = card.sampleShape;
    this.dim = sampleSize(card.sampleShape);
    this.parameterization = card.parameterization;
    this.convention = card.timeInput;
    this.timesteps = card.timesteps;
    this.xType = info.xType;
    this.tType = info.tType;
    this.outType = info.outType;
    this.tDims = info.tRank === 2 ? (rows) => [rows, 1] : (rows) => [rows];
    this.staticBatch = info.staticBatch;
    this.chunkSize = min(info.maxBatch ?? Infinity, info.staticBatch ?? Infinity);
    this.constants = info.constants;
    this.label = info.label;
    if (info.label) this.conditioning = info.label.conditioning;
    for (const [name, c] of Object.entries(this.constants)) {
      if (!c.dims.includes(-1)) this.fixedConstants[name] = makeTensor(c.type, c.data, c.dims);
    }
  }

  /**
   * The score of a batch: x is n × prod(sampleShape), t has one time per sample. Calls are
   * serialized. A conditional network gets the null label: the unconditional score.
   */
  score(x: Float64Array, t: Float64Array, out: Float64Array): Promise<void> {
    return this.serialized(x, t, undefined, out, true);
  }

  /** The network's own output for the batch (card.parameterization), converted to float64 only. */
  predict(x: Float64Array, t: Float64Array, out: Float64Array): Promise<void> {
    return this.serialized(x, t, undefined, out, false);
  }

  /** The score with row i conditioned on labels[i] (a class index or the null label). */
  async scoreWithLabels(x: Float64Array, t: Float64Array, labels: Int32Array, out: Float64Array): Promise<void> {
    return this.serialized(x, t, this.checkedLabels(labels, t.length), out, true);
  }

  /** predict() with a label per row. */
  async predictWithLabels(x: Float64Array, t: Float64Array, labels: Int32Array, out: Float64Array): Promise<void> {
    return this.serialized(x, t, this.checkedLabels(labels, t.length), out, false);
  }

  private checkedLabels(labels: Int32Array, n: number): Int32Array {
    if (!this.label) throw new ParameterError(`${basename(this.path)}: the network takes no class label (its card has no conditioning)`);
    if (labels.length < n) throw new ParameterError(`${basename(this.path)}: ${labels.length} labels for ${n} rows`);
    const { classes, nullLabel } = this.label.conditioning;
    for (let i = 0; i < n; i++) {
      const l = labels[i];
      if (l !== nullLabel && !(l >= 0 && l < classes.length)) {
        throw new ParameterError(`${basename(this.path)}: label ${l} of row ${i} is neither a class (0 … ${classes.length - 1}) nor the null label ${nullLabel}`);
      }
    }
    return labels;
  }

  /** The null label for n rows (plain score() of a conditional network). */
  private unconditional(n: number): Int32Array | undefined {
    if (!this.label) return undefined;
    if (this.nullLabels.length < n) this.nullLabels = new Int32Array(n).fill(this.label.conditioning.nullLabel);
    return this.nullLabels;
  }

  private serialized(x: Float64Array, t: Float64Array, labels: Int32Array | undefined, out: Float64Array, asScore: boolean): Promise<void> {
    const run = this.tail.then(() => this.evaluate(x, t, labels ?? this.unconditional(t.length), out, asScore));
    this.tail = run.then(noop, noop);
    return run;
  }

  private async evaluate(x: Float64Array, t: Float64Array, labels: Int32Array | undefined, out: Float64Array, asScore: boolean): Promise<void> {
    if (this.disposed) throw new ParameterError(`${this.path}: score() after dispose()`);
    const n = t.length;
    const dim = this.dim;
    if (x.length !== n * dim) {
      throw new ParameterError(
        `${basename(this.path)}: x has ${x.length} values, expected n × sample size = ${n} × ${dim} = ${n * dim} ` +
          `(sampleShape [${this.sampleShape.join(', ')}], n = t.length)`,
      );
    }
    if (out.length !== x.length) {
      throw new ParameterError(`${basename(this.path)}: out has ${out.length} values, expected ${x.length} like x`);
    }
    if (n === 0) return;
    const chunk = this.chunkSize < n ? this.chunkSize : n;
    for (let start = 0; start < n; start += chunk) {
      const m = n - start < chunk ? n - start : chunk;
      const rows = this.staticBatch ?? m;
      const c = this.buffersFor(rows);
      const off = start * dim;
      const len = m * dim;
      // float64 → network type, one loop.
      const xb = c.x;
      if (this.xType === 'float16') toFloat16(x, off, len, xb as Uint16Array);
      else for (let j = 0; j < len; j++) xb[j] = x[off + j];
      fillTimeInput(this.convention, this.sde, t, start, m, c.t, this.tType, this.timesteps);
      if (c.label && labels) {
        const lb = c.label;
        if (lb instanceof BigInt64Array) for (let i = 0; i < m; i++) lb[i] = BigInt(labels[start + i]);
        else for (let i = 0; i < m; i++) lb[i] = labels[start + i];
      }
      if (rows > m) this.pad(c, m);
      await this.run(c, rows);
      if (this.outType === 'float16') fromFloat16(c.out as Uint16Array, len, c.y);
      const y = c.y.length === len ? c.y : c.y.subarray(0, len);
      if (!asScore) out.set(y, off);
      else if (m === n) toScore(this.parameterization, this.sde, x, t, y, out);
      else {
        toScore(
          this.parameterization,
          this.sde,
          x.subarray(off, off + len),
          t.subarray(start, start + m),
          y,
          out.subarray(off, off + len),
        );
      }
    }
  }

  /** Rows m.. of a padded static batch: copies of the first row (valid inputs; outputs discarded). */
  private pad(c: ChunkBuffers, m: number): void {
    const dim = this.dim;
    for (let i = m; i < c.rows; i++) {
      for (let d = 0; d < dim; d++) c.x[i * dim + d] = c.x[d];
      (c.t as Float32Array)[i] = (c.t as Float32Array)[0];
      if (c.label) (c.label as Int32Array)[i] = (c.label as Int32Array)[0];
    }
  }

  private async run(c: ChunkBuffers, rows: number): Promise<void> {
    try {
      await this.runSession(c.feeds, c.fetches);
    } catch (e) {
      throw new ModelFileError(
        this.path,
        `onnxruntime failed on a batch of ${rows} (inputs '${this.inputNames.x}' [${[rows, ...this.sampleShape].join(', ')}], ` +
          `'${this.inputNames.t}' [${this.tDims(rows).join(', ')}]` +
          `${this.label ? `, '${this.label.name}' [${this.labelDims(rows).join(', ')}]` : ''}; output '${this.outputName}' expected ` +
          `[${[rows, ...this.sampleShape].join(', ')}]): ${shortReason(e)}`,
      );
    }
  }

  private buffersFor(rows: number): ChunkBuffers {
    let c = this.chunks.get(rows);
    if (c) return c;
    const size = rows * this.dim;
    const xDims = [rows, ...this.sampleShape];
    const x = floatBuffer(this.xType, size);
    const t = timeBuffer(this.tType, rows);
    const out = floatBuffer(this.outType, size);
    const y = this.outType === 'float16' ? new Float32Array(size) : (out as Float32Array | Float64Array);
    const feeds: Record<string, ort.Tensor> = {
      [this.inputNames.x]: new ort.Tensor(this.xType, x, xDims),
      [this.inputNames.t]: new ort.Tensor(this.tType, t, this.tDims(rows)),
      ...this.fixedConstants,
    };
    for (const [name, k] of Object.entries(this.constants)) {
      if (!k.dims.includes(-1)) continue;
      const per = k.data.length;
      const data = new Array<number>(per * rows);
      for (let i = 0; i < rows; i++) for (let j = 0; j < per; j++) data[i * per + j] = k.data[j];
      feeds[name] = makeTensor(k.type, data, k.dims.map((d) => (d === -1 ? rows : d)));
    }
    let label: LabelBuffer | undefined;
    if (this.label) {
      label = labelBuffer(this.label.type, rows);
      feeds[this.label.name] = new ort.Tensor(this.label.type, label, this.labelDims(rows));
    }
    const fetches = { [this.outputName]: new ort.Tensor(this.outType, out, xDims) };
    c = { rows, x, t, out, y, feeds, fetches, label };
    this.chunks.set(rows, c);
    return c;
  }

  private labelDims(rows: number): number[] {
    return this.label?.rank === 2 ? [rows, 1] : [rows];
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.tail;
    this.chunks.clear();
    await this.session.release();
  }
}

