import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { npyToFloat64, readNpy, writeNpy } from '../core/npy';
import { loadOnnxScoreModel } from '../models/onnx';
import { sample } from '../solvers/sample';
import { ROOT } from './root';

/**
 * The fast solvers on the shipped Fashion-MNIST VP U-Net at 10 and 20 evaluations against
 * predictor–corrector with 1000 steps (2000 evaluations), all from the same seed (so the same
 * x_T): the samples of each entry, cached as .npy under `cacheDir` (the PC run is the expensive
 * one: n × 2000 U-Net evaluations), then scored by ./fast-images-quality.ts.
 */
export const UNET_VP = path.join(ROOT, 'models', 'fashion-mnist', 'unet-vp.onnx');

export interface ImageEntry {
  label: string;
  solver: string;
  settings: Record<string, unknown>;
}

/** The reference and the fast solvers at budgets 10 and 20 (each on its default grid). */
export function imageEntries(budgets: readonly number[] = [10, 20]): ImageEntry[] {
  const fast: [string, Record<string, unknown>][] = [
    ['ddim', {}],
    ['dpm_solver', { order: 2 }],
    ['dpm_solver', { order: 3 }],
    ['dpmpp_2m', {}],
    ['dpmpp_3m', {}],
    ['dpmpp_2m_sde', {}],
    ['unipc', {}],
    ['edm', {}],
  ];
  return [
    { label: 'pc-1000', solver: 'pc', settings: { steps: 1000, denoise: true } },
    ...budgets.flatMap((nfe) =>
      fast.map(([solver, s]) => ({ label: `${solver}${s.order ? `-${s.order}` : ''}-nfe${nfe}`, solver, settings: { ...s, nfe } })),
    ),
  ];
}

export interface ImageSamples {
  entry: ImageEntry;
  images: Float64Array;
  nfe: number;
  /** Sampling time of the run that made them. */
  seconds: number;
}

/**
 * Samples of each entry: read from cacheDir/<label>-n<n>-seed<seed>.npy (with its .json: NFE and
 * time), else drawn and written there.
 */
export async function imageSamples(entries: readonly ImageEntry[], o: { n: number; seed: number; cacheDir: string; batchSize?: number; threads?: number; log?: (line: string) => void }): Promise<ImageSamples[]> {
  mkdirSync(o.cacheDir, { recursive: true });
  const model = await loadOnnxScoreModel(UNET_VP, { device: 'cpu', threads: o.threads, maxBatch: o.batchSize ?? 250, log: () => {} });
  const out: ImageSamples[] = [];
  try {
    for (const entry of entries) {
      const file = path.join(o.cacheDir, `${entry.label}-n${o.n}-seed${o.seed}.npy`);
      if (existsSync(file) && existsSync(file + '.json')) {
        const info = JSON.parse(readFileSync(file + '.json', 'utf8')) as { nfe: number; seconds: number };
        out.push({ entry, images: npyToFloat64(readNpy(file)), ...info });
        continue;
      }
      const started = performance.now();
      const r = await sample({ sde: model.sde, model, n: o.n, batchSize: o.batchSize ?? 250, seed: o.seed, solver: entry.solver, settings: entry.settings });
      const seconds = (performance.now() - started) / 1000;
      writeNpy(file + '.tmp', r.samples.data, [o.n, ...model.sampleShape], 'float64');
      renameSync(file + '.tmp', file);
      writeFileSync(file + '.json', JSON.stringify({ nfe: r.nfe, seconds }) + '\n');
      o.log?.(`${entry.label}: NFE ${r.nfe}, ${seconds.toFixed(0)} s`);
      out.push({ entry, images: r.samples.data, nfe: r.nfe, seconds });
    }
  } finally {
    await model.dispose();
  }
  return out;
}
