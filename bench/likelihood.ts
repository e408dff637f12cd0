import * as path from 'node:path';
import { CountingScoreModel, ScoreModel } from '../core/score';
import { npyToFloat64, readNpy } from '../core/npy';
import { GaussianMixture, GaussianMixtureScore } from '../models/gaussian-mixture';
import { VPSDE } from '../sdes';
import { SDE } from '../sdes/sde';
import { DivergenceMethod, logLikelihood, meanAndStderr } from '../likelihood';
import { BENCH_MIXTURE } from './accuracy';
import { InstrumentedModel } from './instrumented-model';
import { ROOT } from './root';

export interface LikelihoodBenchRow {
  model: string;
  method: DivergenceMethod;
  n: number;
  /** Vector-field evaluations and model evaluations per sample. */
  nfe: number;
  modelEvaluations: number;
  msPerSample: number;
  /** Wall time / time inside session.run (ONNX models): the JavaScript share. */
  inRunRatio?: number;
  /** Mean log p (nats) and bits/dim where the data are images: a sanity figure, not a benchmark. */
  logp: number;
  bpd?: number;
}

/**
 * Time per sample of `score-sde likelihood` (RK45 at rtol = atol = 1e-5 from eps = 1e-5): the
 * exact mixture in JavaScript (exact divergence), the shipped 2-D network (full Jacobian trace,
 * 5 evaluations per field evaluation) and the shipped VP U-Net (Hutchinson, one Rademacher probe,
 * 3 evaluations per field evaluation) on dequantized test images.
 */
export async function likelihoodTimes(quick: boolean, threads: number): Promise<LikelihoodBenchRow[]> {
  const rows: LikelihoodBenchRow[] = [];
  const sde = new VPSDE();
  const mixture = new GaussianMixture(BENCH_MIXTURE);
  rows.push(await timeOne('exact mixture (JS)', sde, new GaussianMixtureScore(sde, mixture), mixture.sample(quick ? 64 : 1000, 3), undefined));
  const cases: [string, number, boolean][] = [
    ['models/toy2d/mixture-vp.onnx', quick ? 16 : 200, false],
    ['models/fashion-mnist/unet-vp.onnx', quick ? 2 : 16, true],
  ];
  for (const [file, n, images] of cases) {
    const timed = await InstrumentedModel.load(path.join(ROOT, file), { device: 'cpu', threads, log: () => {} });
    try {
      const reference = path.join(ROOT, path.dirname(file), timed.model.card.data!.reference!);
      const dim = timed.model.sampleShape.reduce((a, b) => a * b, 1);
      const data = npyToFloat64(readNpy(reference)).slice(0, n * dim);
      rows.push(await timeOne(file, timed.model.sde, timed.model, data, images ? [-1, 1] : undefined, timed));
    } finally {
      await timed.dispose();
    }
  }
  return rows;
}

async function timeOne(label: string, sde: SDE, inner: ScoreModel, data: Float64Array, range: [number, number] | undefined, timed?: InstrumentedModel): Promise<LikelihoodBenchRow> {
  const model = new CountingScoreModel(inner);
  timed?.reset();
  const started = performance.now();
  const r = await logLikelihood({ sde, model, data, quantization: range ? { range, levels: 256 } : undefined });
  const ms = performance.now() - started;
  const n = r.logp.length;
  return {
    model: label,
    method: r.method,
    n,
    nfe: r.nfe,
    modelEvaluations: model.evaluations / n,
    msPerSample: ms / n,
    inRunRatio: timed ? ms / timed.sessionRunMs : undefined,
    logp: meanAndStderr(r.logp)[0],
    bpd: r.bpd ? meanAndStderr(r.bpd)[0] : undefined,
  };
}
