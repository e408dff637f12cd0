import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runBench } from '../bench';

// The benchmark's plumbing on a tiny setting: it runs, and writes JSON and markdown with every
// section filled. No timing is asserted (timings belong to `npm run bench`, not to tests).
test('npm run bench --quick writes its JSON and markdown report', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'score-sde-bench-'));
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  const stderr = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await runBench({ quick: true, threads: 1, reps: 1, out, only: ['noise', 'overhead', 'torch', 'accuracy', 'likelihood', 'features'] });
  } finally {
    process.stdout.write = write;
    process.stderr.write = stderr;
  }
  const json = JSON.parse(readFileSync(path.join(out, 'bench.json'), 'utf8'));
  expect(json.machine.cores).toBeGreaterThan(0);
  expect(json.overhead).toHaveLength(6);
  for (const row of json.overhead) {
    // The ratios are what the report says they are, and a sampler run contains its network runs.
    expect(row.ratio).toBeCloseTo(row.samplerMs / (row.nfe * row.rawRunMs), 10);
    expect(row.inRunRatio).toBeGreaterThanOrEqual(1);
    if (!row.solver.startsWith('ode_rk45')) expect(row.nfe).toBe(4); // --quick: 4 evaluations
  }
  expect(json.accuracy.ode.length).toBeGreaterThan(0);
  expect(json.accuracy.sde.length).toBeGreaterThan(0);
  // Torch is optional: either a row per solver, or a message saying why it was skipped.
  if (json.torch.available) {
    expect(json.torch.rows).toHaveLength(3);
    expect(json.torch.probeMaxDiff).toBeLessThan(1e-4);
  } else expect(json.torch.message).toMatch(/skipped/);
  // A path query costs more normals than a per-step draw, and more at fewer steps (longer jumps).
  expect(json.noise.paths.map((p: { steps: number }) => p.steps)).toEqual([10, 100, 1000]);
  // Likelihood: one row per model; the U-Net's model evaluations are 3 per NFE (one probe).
  expect(json.likelihood.map((l: { model: string; method: string }) => [l.model, l.method])).toEqual([
    ['exact mixture (JS)', 'exact'],
    ['models/toy2d/mixture-vp.onnx', 'jacobian'],
    ['models/fashion-mnist/unet-vp.onnx', 'hutchinson'],
  ]);
  expect(json.likelihood[2].modelEvaluations).toBeCloseTo(3 * json.likelihood[2].nfe, 6);
  expect(json.likelihood[2].inRunRatio).toBeGreaterThanOrEqual(1);
  const md = readFileSync(path.join(out, 'bench.md'), 'utf8');
  expect(md).toMatch(/## Noise/);
  expect(md).toMatch(/## Likelihood: time per sample/);
  expect(json.imageMetrics.n).toBe(500);
  expect(json.imageMetrics.fdTotalMs).toBeGreaterThan(0);
  expect(md).toMatch(/## Image metrics: classifier features \+ Fréchet distance/);
  expect(md).toMatch(/## Overhead/);
  expect(md).toMatch(/## Accuracy per NFE/);
});
