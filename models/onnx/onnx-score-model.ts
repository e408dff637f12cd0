import { basename } from 'path';
import { ort } from './ort';
import { SDE } from '../../sdes/sde';
import { SdeSpec, makeSDE } from '../../sdes/make';
import { ParameterError } from '../../core/errors';
import { ModelCard, TimeConvention } from '../card';
import { Parameterization, toScore } from '../../sdes/parameterization';
import { ScoreModel, sampleSize } from '../../core/score';
import { ModelFileError } from './errors';
import { FloatBuffer, FloatType, convertFloats, floatBuffer, makeTensor, noop, timeBuffer } from './tensors';
import { shortReason } from './execution-provider';
import { float16Bits, fromFloat16, toFloat16 } from './float16';
import { TimeBuffer, TimeInputType, fillTimeInput } from './time-convention';

// Module-level aliases: inside vm contexts (jest) every global lookup is ~50x slower.
const { min } = Math;

/** Everything one batch size needs, allocated once and reused while that size recurs. */
interface ChunkBuffers {
  rows: number;
  x: FloatBuffer;
  t: TimeBuffer;
  out: FloatBuffer;
  /** The output as numbers: `out` itself unless float16 (then converted into this). */
  y: Float32Array | Float64Array;
  feeds: Record<string, ort.Tensor>;
  fetches: Record<string, ort.Tensor>;
}

export class OnnxScoreModel implements ScoreModel {
  readonly sde: SDE;
  readonly sampleShape: readonly number[];
  /** Batch size the graph is fixed to (inputs are padded and split to it), or undefined if dynamic. */
  readonly staticBatch: number | undefined;
  /** Largest batch one session.run gets. */
  readonly chunkSize: number;

  private readonly dim: number;
  private readonly param: Parameterization;
  private readonly convention: TimeConvention;
  private readonly timesteps: number | undefined;
  private readonly xType: FloatType;
  private readonly tType: TimeInputType;
  private readonly outType: FloatType;
  private readonly tDims: (rows: number) => number[];
  private readonly constants: Record<string, { data: number[]; dims: number[]; type: 'float32' | 'int64' | 'int32' }>;
  private readonly fixedConstants: Record<string, ort.Tensor> = {};
  private readonly chunks = new Map<number, ChunkBuffers>();
  private tail: Promise<void> = Promise.resolve();
  private disposed = false;
  /** Milliseconds spent inside session.run by score(), and its calls: what the network cost. */
  sessionRunMs = 0;
  sessionRuns = 0;

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
      xType: FloatType;
      tType: TimeInputType;
      outType: FloatType;
      tRank: 1 | 2;
      staticBatch: number | undefined;
      maxBatch: number | undefined;
      constants: OnnxScoreModel['constants'];
    },
  ) {
    this.sde = makeSDE(card.sde as SdeSpec);
    this.sampleShape = card.sampleShape;
    this.dim = sampleSize(card.sampleShape);
    this.param = card.parameterization;
    this.convention = card.timeInput;
    this.timesteps = card.timesteps;
    this.xType = info.xType;
    this.tType = info.tType;
    this.outType = info.outType;
    this.tDims = info.tRank === 2 ? (rows) => [rows, 1] : (rows) => [rows];
    this.staticBatch = info.staticBatch;
    this.chunkSize = min(info.maxBatch ?? Infinity, info.staticBatch ?? Infinity);
    this.constants = info.constants;
    for (const [name, c] of Object.entries(this.constants)) {
      if (!c.dims.includes(-1)) this.fixedConstants[name] = makeTensor(c.type, c.data, c.dims);
    }
  }

  /** The score of a batch: x is n × prod(sampleShape), t has one time per sample. Calls are serialized. */
  score(x: Float64Array, t: Float64Array, out: Float64Array): Promise<void> {
    const run = this.tail.then(() => this.scoreNow(x, t, out));
    this.tail = run.then(noop, noop);
    return run;
  }

  private async scoreNow(x: Float64Array, t: Float64Array, out: Float64Array): Promise<void> {
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
      if (rows > m) this.pad(c, m);
      await this.run(c, rows);
      if (this.outType === 'float16') fromFloat16(c.out as Uint16Array, len, c.y);
      if (m === n) toScore(this.param, this.sde, x, t, c.y, out);
      else {
        toScore(
          this.param,
          this.sde,
          x.subarray(off, off + len),
          t.subarray(start, start + m),
          c.y,
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
    }
  }

  private async run(c: ChunkBuffers, rows: number): Promise<void> {
    const started = performance.now();
    try {
      await this.session.run(c.feeds, c.fetches);
      this.sessionRunMs += performance.now() - started;
      this.sessionRuns++;
    } catch (e) {
      throw new ModelFileError(
        this.path,
        `onnxruntime failed on a batch of ${rows} (inputs '${this.inputNames.x}' [${[rows, ...this.sampleShape].join(', ')}], ` +
          `'${this.inputNames.t}' [${this.tDims(rows).join(', ')}]; output '${this.outputName}' expected ` +
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
    const fetches = { [this.outputName]: new ort.Tensor(this.outType, out, xDims) };
    c = { rows, x, t, out, y, feeds, fetches };
    this.chunks.set(rows, c);
    return c;
  }

  /**
   * One bare session.run on already-prepared inputs (x: n × sampleShape, tInput: the network's
   * time input), for a benchmark's raw-cost baseline. Returns the raw network output (not the
   * score). A float16 model's inputs and output are converted; n must be the static batch if any.
   */
  async runRaw(x: Float32Array, tInput: Float32Array | BigInt64Array, n: number): Promise<Float32Array> {
    if (this.staticBatch !== undefined && n !== this.staticBatch) {
      throw new ParameterError(`${basename(this.path)}: runRaw needs n = ${this.staticBatch} (the graph's static batch), got ${n}`);
    }
    if (x.length !== n * this.dim || tInput.length !== n) {
      throw new ParameterError(
        `${basename(this.path)}: runRaw got x of ${x.length} and tInput of ${tInput.length} values, expected ${n * this.dim} and ${n}`,
      );
    }
    const xTensor =
      this.xType === 'float32'
        ? new ort.Tensor('float32', x, [n, ...this.sampleShape])
        : new ort.Tensor(this.xType, convertFloats(this.xType, x), [n, ...this.sampleShape]);
    let tData: TimeBuffer = tInput;
    if (!(this.tType === 'float32' && tInput instanceof Float32Array) && !(this.tType === 'int64' && tInput instanceof BigInt64Array)) {
      tData = timeBuffer(this.tType, n);
      for (let i = 0; i < n; i++) {
        const v = Number(tInput[i]);
        if (this.tType === 'int64') (tData as BigInt64Array)[i] = BigInt(Math.round(v));
        else if (this.tType === 'float16') (tData as Uint16Array)[i] = float16Bits(v);
        else (tData as Float32Array)[i] = v;
      }
    }
    const feeds: Record<string, ort.Tensor> = {
      [this.inputNames.x]: xTensor,
      [this.inputNames.t]: new ort.Tensor(this.tType, tData, this.tDims(n)),
      ...this.fixedConstants,
    };
    for (const [name, k] of Object.entries(this.constants)) {
      if (k.dims.includes(-1)) feeds[name] = this.buffersFor(n).feeds[name];
    }
    const result = await this.session.run(feeds);
    const y = result[this.outputName].data;
    if (y instanceof Float32Array) return y;
    if (y instanceof Uint16Array) {
      const f = new Float32Array(y.length);
      fromFloat16(y, y.length, f);
      return f;
    }
    return Float32Array.from(y as Float64Array);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.tail;
    this.chunks.clear();
    await this.session.release();
  }
}

