/**
 * `npm run bench`: overhead of the sampler over the bare network, throughput against a PyTorch
 * sampler loop on the same weights, and accuracy per NFE on the exact mixture. Ratios measured
 * in one run are the headline; absolute times depend on the machine and are recorded with it.
 *
 *   npm run bench -- [--quick] [--threads N] [--reps N] [--out DIR] [--only noise,overhead,torch,accuracy,likelihood,features] [--device cpu|cuda]
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { accuracyPerNfe, AccuracyResult } from './accuracy';
import { measureOverhead, OverheadRow } from './overhead';
import { benchNoise, NoiseBench } from './noise';
import { compareWithTorch, TorchResult } from './torch';
import { LikelihoodBenchRow, likelihoodTimes } from './likelihood';
import { FeatureBench, measureImageMetrics } from './features';
import { ROOT } from './root';
import { markdownReport } from './report';

export interface BenchOptions {
  quick: boolean;
  threads: number;
  reps: number;
  out: string;
  only: string[];
  /** Where both sides run: 'cpu' (default) or 'cuda' (gpu-check: onnxruntime's CUDA provider, torch on CUDA). */
  device?: 'cpu' | 'cuda';
}

export interface BenchResult {
  machine: { cores: number; cpu: string; node: string; onnxruntime: string; date: string; threads: number; reps: number; quick: boolean; device: 'cpu' | 'cuda' };
  overhead: OverheadRow[];
  noise?: NoiseBench;
  torch?: TorchResult;
  accuracy?: AccuracyResult;
  likelihood?: LikelihoodBenchRow[];
  imageMetrics?: FeatureBench;
}

const MLP = 'models/toy2d/mixture-vp.onnx';
const UNET = 'models/fashion-mnist/unet-vp.onnx';

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const { ort } = await import('../models/onnx');
  const result: BenchResult = {
    machine: {
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      node: process.version,
      onnxruntime: ort.env.versions.node ?? ort.env.versions.common ?? 'unknown',
      date: new Date().toISOString(),
      threads: o.threads,
      reps: o.reps,
      quick: o.quick,
      device: o.device ?? 'cpu',
    },
    overhead: [],
  };
  const cases = o.quick
    ? [{ model: MLP, batch: 64, nfe: 4 }]
    : [
        { model: MLP, batch: 1024, nfe: 100 },
        { model: MLP, batch: 4096, nfe: 50 },
        { model: UNET, batch: 64, nfe: 20 },
      ];
  if (o.only.includes('noise')) {
    log('noise: normals and Brownian paths');
    result.noise = benchNoise(o.quick ? 1 : o.reps);
  }
  if (o.only.includes('overhead')) {
    for (const c of cases) {
      log(`overhead: ${c.model} batch ${c.batch}`);
      result.overhead.push(...(await measureOverhead(c, o.reps, { threads: o.threads, device: o.device ?? 'cpu' })));
    }
  }
  if (o.only.includes('torch')) {
    log('pytorch comparison');
    result.torch = await compareWithTorch(cases, { threads: o.threads, reps: o.reps, device: o.device ?? 'cpu' });
    if (!result.torch.available) log(result.torch.message!);
  }
  if (o.only.includes('accuracy')) {
    log('accuracy per NFE (exact mixture)');
    result.accuracy = await accuracyPerNfe(o.quick);
  }
  if (o.only.includes('likelihood')) {
    log('likelihood: time per sample');
    result.likelihood = await likelihoodTimes(o.quick, o.threads);
  }
  if (o.only.includes('features')) {
    log('image metrics: classifier features, FD, KID');
    result.imageMetrics = await measureImageMetrics(o);
  }
  mkdirSync(o.out, { recursive: true });
  atomicWrite(path.join(o.out, 'bench.json'), JSON.stringify(result, null, 2) + '\n');
  const md = markdownReport(result);
  atomicWrite(path.join(o.out, 'bench.md'), md);
  process.stdout.write(md);
  return result;
}

function atomicWrite(file: string, text: string): void {
  writeFileSync(file + '.tmp', text);
  renameSync(file + '.tmp', file);
}

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

function parseArgs(argv: string[]): BenchOptions {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const device = get('device') ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') throw new Error(`--device must be cpu or cuda, got ${device}`);
  return {
    device,
    quick,
    threads: Number(get('threads') ?? os.cpus().length),
    reps: Number(get('reps') ?? (quick ? 1 : 5)),
    out: path.resolve(get('out') ?? path.join(ROOT, 'bench', 'results')),
    only: (get('only') ?? 'noise,overhead,torch,accuracy,likelihood,features').split(','),
  };
}

if (require.main === module) {
  runBench(parseArgs(process.argv.slice(2))).catch((err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
