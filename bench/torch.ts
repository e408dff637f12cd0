import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { InstrumentedModel } from './instrumented-model';
import { sample } from '../solvers/sample';
import { median } from './timing';
import { ROOT } from './root';

/** The python with Debian's python3-torch; the first python3 on PATH may lack it. */
const PYTHON = process.env.SCORE_SDE_TORCH_PYTHON ?? '/usr/bin/python3';

/** The same loops on both sides: torch sampler name → our solver and settings at that NFE. */
const PAIRS = [
  { torch: 'euler_maruyama', solver: 'euler_maruyama', settings: (nfe: number) => ({ steps: nfe }) },
  { torch: 'pc', solver: 'pc', settings: (nfe: number) => ({ steps: nfe / 2, norm: 'batch' }) },
  { torch: 'heun', solver: 'ode_heun', settings: (nfe: number) => ({ steps: nfe / 2 }) },
];

export interface TorchRow {
  model: string;
  batch: number;
  solver: string;
  nfe: number;
  threads: number;
  scoreSdePerSecond: number;
  torchPerSecond: number;
  /** score-sde throughput / torch throughput: > 1 means score-sde is faster. */
  ratio: number;
}

export interface TorchResult {
  available: boolean;
  message?: string;
  torchVersion?: string;
  /** Max |torch − onnxruntime| of the network on a fixed probe input: same weights on both sides. */
  probeMaxDiff?: number;
  rows: TorchRow[];
}

export async function compareWithTorch(
  cases: { model: string; batch: number; nfe: number }[],
  opts: { threads: number; reps: number; device?: 'cpu' | 'cuda' },
): Promise<TorchResult> {
  const device = opts.device ?? 'cpu';
  const check = spawnSync(PYTHON, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
  if (check.status !== 0) {
    return { available: false, message: `skipped: ${PYTHON} cannot import torch and onnx (apt install python3-torch python3-onnx)`, rows: [] };
  }
  const rows: TorchRow[] = [];
  let torchVersion: string | undefined;
  let probeMaxDiff = 0;
  for (const c of cases) {
    const args = { model: c.model, batch: c.batch, nfe: c.nfe, threads: opts.threads, reps: opts.reps, solvers: PAIRS.map((p) => p.torch), device };
    const run = spawnSync(PYTHON, [path.join(ROOT, 'bench', 'torch_sampler.py'), JSON.stringify(args)], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
    const noCuda = device === 'cuda' && /has no CUDA here/.test(run.stderr);
    if (noCuda) return { available: false, message: `skipped: ${run.stderr.trim().split('\n').pop()} (set SCORE_SDE_TORCH_PYTHON to a python with a CUDA build of torch)`, rows: [] };
    if (run.status !== 0) throw new Error(`torch baseline failed for ${c.model}: ${run.stderr.slice(-2000)}`);
    const out = JSON.parse(run.stdout) as { torch: string; probe: number[]; rows: { solver: string; samplesPerSecond: number }[] };
    torchVersion = out.torch;

    const timed = await InstrumentedModel.load(path.join(ROOT, c.model), { device, threads: opts.threads, log: () => {} });
    const model = timed.model;
    try {
      probeMaxDiff = Math.max(probeMaxDiff, await probeDiff(timed, out.probe));
      for (const pair of PAIRS) {
        const walls: number[] = [];
        await sample({ sde: model.sde, model, solver: pair.solver, settings: pair.settings(4), n: c.batch, seed: 0 });
        for (let r = 0; r < opts.reps; r++) {
          const res = await sample({ sde: model.sde, model, solver: pair.solver, settings: pair.settings(c.nfe), n: c.batch, seed: r });
          walls.push(res.wallTimeMs);
        }
        const ours = c.batch / (median(walls) / 1000);
        const theirs = out.rows.find((row) => row.solver === pair.torch)!.samplesPerSecond;
        rows.push({ model: c.model, batch: c.batch, solver: pair.solver, nfe: c.nfe, threads: opts.threads, scoreSdePerSecond: ours, torchPerSecond: theirs, ratio: ours / theirs });
      }
    } finally {
      await model.dispose();
    }
  }
  return { available: true, torchVersion, probeMaxDiff, rows };
}

/** The network on torch_sampler.py's probe input (linspace(−2, 2) over 4 samples, t = 0.3). */
async function probeDiff(timed: InstrumentedModel, probe: number[]): Promise<number> {
  const dim = timed.model.sampleShape.reduce((a, b) => a * b, 1);
  const total = 4 * dim;
  const x = new Float32Array(total);
  for (let i = 0; i < total; i++) x[i] = -2 + (4 * i) / (total - 1);
  const out = await timed.runRaw(x, new Float32Array(4).fill(0.3), 4);
  let max = 0;
  for (let i = 0; i < total; i++) max = Math.max(max, Math.abs(out[i] - probe[i]));
  return max;
}
