import { OnnxModelOptions, OnnxScoreModel, SessionRun, float16Bits, fromFloat16, loadOnnxScoreModel, ort } from '../models/onnx';
import { FloatType, convertFloats, timeBuffer } from '../models/onnx/tensors';
import { TimeBuffer, TimeInputType } from '../models/onnx/time-convention';

/**
 * The benchmark's view of an ONNX model: the model as the samplers use it, plus what only a
 * benchmark needs, kept out of the hot-path class: the time spent inside session.run (through the
 * loader's `instrument` seam, which costs nothing when unset) and a bare session.run on prepared
 * inputs (the raw-cost baseline).
 */
export class InstrumentedModel {
  /** Milliseconds inside session.run by the model's own calls since reset(), and their count. */
  sessionRunMs = 0;
  sessionRuns = 0;
  private session!: ort.InferenceSession;

  private constructor(readonly model: OnnxScoreModel) {}

  static async load(path: string, opts: OnnxModelOptions = {}): Promise<InstrumentedModel> {
    let self: InstrumentedModel | undefined;
    let session: ort.InferenceSession | undefined;
    const timed = (s: ort.InferenceSession): SessionRun => {
      session = s;
      return async (feeds, fetches) => {
        const started = performance.now();
        const out = await s.run(feeds, fetches);
        if (self) {
          self.sessionRunMs += performance.now() - started;
          self.sessionRuns++;
        }
        return out;
      };
    };
    const model = await loadOnnxScoreModel(path, { ...opts, instrument: timed });
    self = new InstrumentedModel(model);
    self.session = session!;
    return self;
  }

  reset(): void {
    this.sessionRunMs = 0;
    this.sessionRuns = 0;
  }

  /**
   * One bare session.run on already-prepared inputs (x: n × sampleShape, tInput: the network's
   * time input), outside the model's timer. Returns the raw network output (not the score). A
   * float16 model's inputs and output are converted; n must be the static batch if any. Models
   * with inputs besides x and t (constants) are not supported.
   */
  async runRaw(x: Float32Array, tInput: Float32Array | BigInt64Array, n: number): Promise<Float32Array> {
    const m = this.model;
    const dim = m.sampleShape.reduce((a, b) => a * b, 1);
    if (m.staticBatch !== undefined && n !== m.staticBatch) throw new Error(`runRaw needs n = ${m.staticBatch} (the graph's static batch), got ${n}`);
    if (x.length !== n * dim || tInput.length !== n) throw new Error(`runRaw got x of ${x.length} and tInput of ${tInput.length} values, expected ${n * dim} and ${n}`);
    const extra = this.session.inputNames.filter((k) => k !== m.inputNames.x && k !== m.inputNames.t);
    if (extra.length) throw new Error(`runRaw does not feed the constant inputs ${extra.join(', ')}`);
    const meta = (name: string) => this.session.inputMetadata.find((v) => v.name === name) as { type: string; shape: readonly (number | string)[] };
    const xType = meta(m.inputNames.x).type as FloatType;
    const tMeta = meta(m.inputNames.t);
    const tType = tMeta.type as TimeInputType;
    const xTensor = new ort.Tensor(xType, xType === 'float32' ? x : convertFloats(xType, x), [n, ...m.sampleShape]);
    let tData: TimeBuffer = tInput;
    if (!(tType === 'float32' && tInput instanceof Float32Array) && !(tType === 'int64' && tInput instanceof BigInt64Array)) {
      tData = timeBuffer(tType, n);
      for (let i = 0; i < n; i++) {
        const v = Number(tInput[i]);
        if (tType === 'int64') (tData as BigInt64Array)[i] = BigInt(Math.round(v));
        else if (tType === 'float16') (tData as Uint16Array)[i] = float16Bits(v);
        else (tData as Float32Array)[i] = v;
      }
    }
    const tDims = tMeta.shape.length === 2 ? [n, 1] : [n];
    const result = await this.session.run({ [m.inputNames.x]: xTensor, [m.inputNames.t]: new ort.Tensor(tType, tData, tDims) });
    const y = result[m.outputName].data;
    if (y instanceof Float32Array) return y;
    if (y instanceof Uint16Array) {
      const f = new Float32Array(y.length);
      fromFloat16(y, y.length, f);
      return f;
    }
    return Float32Array.from(y as Float64Array);
  }

  dispose(): Promise<void> {
    return this.model.dispose();
  }
}
