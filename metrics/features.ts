import { basename, resolve } from 'path';
import { ort } from '../models/onnx/ort';
import { ClassifierCard, readClassifierCard } from '../models/classifier-card';
import { ModelFileError } from '../models/onnx/errors';
import { createSession } from '../models/onnx/session';
import { Samples } from './rows';

export { readClassifierCard };

/**
 * A feature classifier run through onnxruntime: images in, penultimate-layer features and class
 * logits out, in batches. Its card (ONNX metadata `score_sde_classifier`, else
 * `<classifier>.card.json` beside it) names the graph's input and outputs and the reference
 * statistics; see models/classifier-card.ts.
 */

export interface ClassifierOutputs {
  /** n × featureDim. */
  features: Float32Array;
  /** n × classes. */
  logits: Float32Array;
  n: number;
}

export interface FeatureClassifierOptions {
  /** 'auto' (CUDA where it loads, else CPU), 'cuda' or 'cpu'. Default 'cpu': metrics are cheap next to sampling. */
  device?: 'auto' | 'cuda' | 'cpu';
  threads?: number;
  /** Images per session call. Default 500. */
  batch?: number;
}

export class FeatureClassifier {
  private constructor(
    readonly file: string,
    readonly card: ClassifierCard,
    readonly cardPath: string,
    private readonly session: ort.InferenceSession,
    readonly executionProvider: 'cuda' | 'cpu',
    private readonly batch: number,
  ) {}

  static async load(file: string, opts: FeatureClassifierOptions = {}): Promise<FeatureClassifier> {
    const abs = resolve(file);
    const { card, cardPath } = readClassifierCard(abs);
    const { session, ep } = await createSession(abs, opts.device ?? 'cpu', opts.threads);
    const missing = [
      ...(session.inputNames.includes(card.input) ? [] : [`input '${card.input}' (inputs: ${session.inputNames.join(', ')})`]),
      ...[card.features, card.logits].filter((o) => !session.outputNames.includes(o)).map((o) => `output '${o}' (outputs: ${session.outputNames.join(', ')})`),
    ];
    if (missing.length) {
      await session.release();
      throw new ModelFileError(abs, `the graph lacks what its card names: ${missing.join('; ')}`);
    }
    return new FeatureClassifier(abs, card, cardPath, session, ep, opts.batch ?? 500);
  }

  get featureDim(): number {
    return this.card.featureDim;
  }

  get classes(): number {
    return this.card.classes.length;
  }

  /** Values per image. */
  get imageSize(): number {
    return this.card.sampleShape.reduce((a, b) => a * b, 1);
  }

  /** Features and logits of n images (row-major n × sampleShape, in the card's data range). */
  async run(images: Samples, n = images.length / this.imageSize): Promise<ClassifierOutputs> {
    const size = this.imageSize;
    if (!Number.isInteger(n) || images.length < n * size) {
      throw new RangeError(`classifier ${basename(this.file)}: ${images.length} values are not ${n} images of [${this.card.sampleShape.join(', ')}]`);
    }
    const d = this.featureDim;
    const k = this.classes;
    const features = new Float32Array(n * d);
    const logits = new Float32Array(n * k);
    for (let start = 0; start < n; start += this.batch) {
      const b = Math.min(this.batch, n - start);
      const x = new Float32Array(b * size);
      for (let i = 0; i < b * size; i++) x[i] = images[start * size + i];
      const out = await this.session.run({ [this.card.input]: new ort.Tensor('float32', x, [b, ...this.card.sampleShape]) });
      const f = out[this.card.features].data as Float32Array;
      const l = out[this.card.logits].data as Float32Array;
      if (f.length !== b * d || l.length !== b * k) {
        throw new ModelFileError(this.file, `outputs have ${f.length / b} features and ${l.length / b} logits per image; the card says ${d} and ${k}`);
      }
      features.set(f, start * d);
      logits.set(l, start * k);
    }
    return { features, logits, n };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
