/**
 * `npm run gpu-check` where there is no GPU (this project's machines): it must say what it could
 * not do and why, write that report, and not pretend to have measured anything. Where a GPU is
 * present the check itself is the measurement (minutes), so it is not run as a test.
 */
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { maxDifference, runGpuCheck } from '../bench/gpu-check';
import { cudaDiagnosis } from '../models/onnx/execution-provider';

const noGpu = !cudaDiagnosis().device.present;

test('maxDifference: max |a - b| and max |b|', () => {
  expect(maxDifference([1, -2, 3], [1, -2.5, 2])).toEqual({ maxAbsDiff: 1, maxAbs: 2.5 });
  expect(maxDifference([0, 0], [0, 0])).toEqual({ maxAbsDiff: 0, maxAbs: 0 });
});

(noGpu ? test : test.skip)('without a GPU: status not-run, every part named as not done with the reason, report written', async () => {
  const out = mkdtempSync(join(tmpdir(), 'score-sde-gpu-check-'));
  try {
    const lines: string[] = [];
    const r = await runGpuCheck({ out, reps: 1, quick: true, threads: 1, log: (l) => lines.push(l) });
    expect(r.status).toBe('not-run');
    expect(r.networks).toEqual([]);
    expect(r.bench).toBeUndefined();
    const notDone = r.notDone!.join(' ');
    for (const part of ['enable CUDA', 'shipped networks on CUDA against the CPU', 'overhead benchmark on CUDA', 'PyTorch-on-CUDA']) expect(notDone).toContain(part);
    expect(notDone).toMatch(/no NVIDIA GPU on this machine/);
    const md = readFileSync(join(out, 'gpu-check.md'), 'utf8');
    expect(md).toMatch(/\*\*Nothing measured\.\*\*/);
    expect(md).toMatch(/NVIDIA device: none/);
    expect(JSON.parse(readFileSync(join(out, 'gpu-check.json'), 'utf8')).status).toBe('not-run');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
