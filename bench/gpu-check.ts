/**
 * `npm run gpu-check`: on a machine with an NVIDIA GPU, one command turns "not measured on a GPU"
 * into figures:
 *   1. enables CUDA (`score-sde enable-cuda`, unless the provider libraries are already in place)
 *      and proves that a CUDA session starts;
 *   2. runs every shipped network on CUDA and on the CPU on the same inputs and compares the
 *      scores (max |CUDA − CPU|, also relative to max |CPU|), with the time of one call on each;
 *   3. runs the overhead and PyTorch parts of the benchmark with both sides on CUDA;
 *   4. writes gpu-check.{json,md} (and step 3's bench.{json,md}) to bench/results/gpu-check/.
 * Where there is no GPU, or CUDA cannot start, it says which of these it could not do and why
 * (the CUDA diagnosis: missing libraries by name, device), writes that report, and exits 1.
 *
 *   npm run gpu-check -- [--out DIR] [--reps N] [--quick] [--threads N]
 */
import { mkdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NoiseSource, Stream } from '../core/noise';
import { writeFileAtomic } from '../core/files';
import { listShipped } from '../models/shipped';
import { CudaDiagnosis, formatCudaDiagnosis } from '../models/onnx/cuda-diagnosis';
import { cudaDiagnosis, probeCudaSession } from '../models/onnx/execution-provider';
import { loadOnnxScoreModel } from '../models/onnx/load';
import { enableCuda } from '../cli/enable-cuda';
import { BenchResult, runBench } from './main';
import { median } from './timing';
import { ROOT } from './root';

/** CUDA and CPU scores agree when max |diff| ≤ this × max |CPU score| (float32; TF32 convolutions on recent GPUs). */
export const AGREEMENT = 1e-2;

export interface NetworkComparison {
  name: string;
  batch: number;
  maxAbsDiff: number;
  maxAbsCpu: number;
  relDiff: number;
  agree: boolean;
  cpuMs: number;
  cudaMs: number;
}

export interface GpuCheckReport {
  status: 'measured' | 'not-run';
  /** What could not be done, and why (status 'not-run'). */
  notDone?: string[];
  date: string;
  machine: { cores: number; cpu: string; node: string; gpu?: string };
  cuda: CudaDiagnosis;
  session?: { ok: boolean; reason: string };
  networks: NetworkComparison[];
  bench?: BenchResult;
}

export interface GpuCheckOptions {
  out: string;
  reps: number;
  quick: boolean;
  threads: number;
  log: (line: string) => void;
}

/** Max |a − b| and max |b|. */
export function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): { maxAbsDiff: number; maxAbs: number } {
  let maxAbsDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i] - b[i]));
    maxAbs = Math.max(maxAbs, Math.abs(b[i]));
  }
  return { maxAbsDiff, maxAbs };
}

/** One shipped network on CUDA and on the CPU: same x (prior-like noise) and t in [0.2, 0.9]·T. */
async function compareNetwork(name: string, file: string, reps: number): Promise<NetworkComparison> {
  const quiet = { log: () => {} };
  const cpu = await loadOnnxScoreModel(file, { ...quiet, device: 'cpu' });
  const cuda = await loadOnnxScoreModel(file, { ...quiet, device: 'cuda' });
  try {
    const batch = 8;
    const dim = cpu.sampleShape.reduce((a, b) => a * b, 1);
    const x = new Float64Array(batch * dim);
    new NoiseSource(2024).normal(x, dim, 0, Stream.prior);
    const T = cpu.sde.T;
    const t = Float64Array.from({ length: batch }, (_, i) => T * (0.2 + (0.7 * i) / (batch - 1)));
    const outCpu = new Float64Array(x.length);
    const outCuda = new Float64Array(x.length);
    const time = async (model: typeof cpu, out: Float64Array) => {
      await model.score(x, t, out); // warm-up (CUDA: kernels, allocations)
      const ms: number[] = [];
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        await model.score(x, t, out);
        ms.push(performance.now() - t0);
      }
      return median(ms);
    };
    const cpuMs = await time(cpu, outCpu);
    const cudaMs = await time(cuda, outCuda);
    const { maxAbsDiff, maxAbs } = maxDifference(outCuda, outCpu);
    const relDiff = maxAbsDiff / Math.max(maxAbs, Number.MIN_VALUE);
    return { name, batch, maxAbsDiff, maxAbsCpu: maxAbs, relDiff, agree: relDiff <= AGREEMENT, cpuMs, cudaMs };
  } finally {
    await cpu.dispose();
    await cuda.dispose();
  }
}

export async function runGpuCheck(o: GpuCheckOptions): Promise<GpuCheckReport> {
  const report: GpuCheckReport = {
    status: 'not-run',
    date: new Date().toISOString(),
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', node: process.version },
    cuda: cudaDiagnosis(),
    networks: [],
  };
  const networks = listShipped();
  const everything = [
    'enable CUDA',
    `compare the ${networks.length} shipped networks on CUDA against the CPU`,
    'run the overhead benchmark on CUDA',
    'run the PyTorch-on-CUDA comparison',
  ];
  const stop = (why: string[]) => {
    report.notDone = [`could not ${everything.join(', ')}: ${why.join('; ')}`];
    return finish(report, o);
  };
  if (!report.cuda.platformSupported) return stop(report.cuda.problems);
  if (!report.cuda.device.present) return stop([`no NVIDIA GPU on this machine (no /dev/nvidia*; ${report.cuda.device.nvidiaSmi.output})`]);
  report.machine.gpu = report.cuda.device.nvidiaSmi.output;

  if (!report.cuda.providerLibs.every((l) => l.state === 'present')) {
    o.log('gpu-check: enabling CUDA (score-sde enable-cuda)');
    try {
      const enabled = await enableCuda({ check: false, log: o.log });
      report.cuda = enabled.diagnosis;
    } catch (err) {
      return stop([`enable-cuda failed: ${(err as Error).message}`]);
    }
  }
  report.session = await probeCudaSession();
  if (!report.session.ok) {
    everything.shift();
    return stop([`CUDA does not start: ${report.session.reason}`]);
  }

  for (const m of networks) {
    o.log(`gpu-check: ${m.name} on CUDA and on the CPU`);
    report.networks.push(await compareNetwork(m.name, m.path, o.reps));
  }
  o.log('gpu-check: overhead and PyTorch benchmarks on CUDA');
  const quiet = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write; // runBench prints its markdown; ours follows
  try {
    report.bench = await runBench({ quick: o.quick, threads: o.threads, reps: o.quick ? 1 : 5, out: o.out, only: ['overhead', 'torch'], device: 'cuda' });
  } finally {
    process.stdout.write = quiet;
  }
  report.status = 'measured';
  return finish(report, o);
}

function finish(report: GpuCheckReport, o: GpuCheckOptions): GpuCheckReport {
  mkdirSync(o.out, { recursive: true });
  writeFileAtomic(path.join(o.out, 'gpu-check.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileAtomic(path.join(o.out, 'gpu-check.md'), gpuCheckMarkdown(report));
  return report;
}

const e = (x: number) => x.toExponential(2);

/** The report as markdown: verdict, CUDA diagnosis, CUDA-vs-CPU table; the benchmark is in bench.md beside it. */
export function gpuCheckMarkdown(r: GpuCheckReport): string {
  let md = `# score-sde gpu-check\n\n${r.date} · ${r.machine.cores} cores (${r.machine.cpu}) · Node ${r.machine.node}${r.machine.gpu ? ` · ${r.machine.gpu}` : ''}\n\n`;
  if (r.status === 'not-run') md += `**Nothing measured.** ${r.notDone?.join(' ')}\n\n`;
  md += `## CUDA on this machine\n\n\`\`\`\n${formatCudaDiagnosis(r.cuda).join('\n')}\n\`\`\`\n\n`;
  if (r.session) md += `CUDA session: ${r.session.ok ? 'created' : `failed (${r.session.reason})`}\n\n`;
  if (r.networks.length) {
    md += `## Shipped networks, CUDA against CPU (score of 8 samples, t from 0.2 T to 0.9 T; agree: max |diff| ≤ ${AGREEMENT} × max |CPU|)\n\n`;
    md += '| network | max abs diff | max abs CPU | relative | agree | CPU ms / call | CUDA ms / call |\n| --- | --- | --- | --- | --- | --- | --- |\n';
    for (const n of r.networks) md += `| ${n.name} | ${e(n.maxAbsDiff)} | ${e(n.maxAbsCpu)} | ${e(n.relDiff)} | ${n.agree ? 'yes' : '**NO**'} | ${n.cpuMs.toFixed(2)} | ${n.cudaMs.toFixed(2)} |\n`;
    md += '\n';
  }
  if (r.bench) md += 'Overhead and PyTorch on CUDA: see bench.md beside this file.\n';
  return md;
}

function parseArgs(argv: string[]): GpuCheckOptions {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  return {
    quick,
    reps: Number(get('reps') ?? (quick ? 2 : 5)),
    threads: Number(get('threads') ?? os.cpus().length),
    out: path.resolve(get('out') ?? path.join(ROOT, 'bench', 'results', 'gpu-check')),
    log: (line) => process.stderr.write(`${line}\n`),
  };
}

if (require.main === module) {
  const o = parseArgs(process.argv.slice(2));
  runGpuCheck(o).then(
    (r) => {
      process.stdout.write(gpuCheckMarkdown(r));
      process.stderr.write(`gpu-check: report in ${path.relative(process.cwd(), o.out) || '.'}/gpu-check.{md,json}\n`);
      if (r.status !== 'measured') {
        process.stderr.write(`gpu-check: ${r.notDone?.join(' ')}\n`);
        process.exitCode = 1;
      } else if (r.networks.some((n) => !n.agree)) {
        process.stderr.write('gpu-check: some networks differ between CUDA and the CPU beyond the agreement threshold (see the table)\n');
        process.exitCode = 1;
      }
    },
    (err) => {
      process.stderr.write(`gpu-check failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

