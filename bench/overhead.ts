import { OnnxScoreModel } from '../models/onnx';
import { InstrumentedModel } from './instrumented-model';
import { NoiseSource, Stream } from '../core/noise';
import { sample } from '../solvers/sample';
import * as path from 'node:path';
import { median, timeRuns } from './timing';
import { ROOT } from './root';

/** One solver family's configuration for the overhead measurement, sized to `nfe` evaluations. */
export interface OverheadSolver {
  label: string;
  solver: string;
  settings: (nfe: number) => Record<string, unknown>;
}

export const OVERHEAD_SOLVERS: OverheadSolver[] = [
  { label: 'euler_maruyama', solver: 'euler_maruyama', settings: (nfe) => ({ steps: nfe }) },
  // The time-addressed Brownian path costs ~log2(step/leaf) + 1 normals per coordinate and step.
  { label: 'euler_maruyama (noise: path)', solver: 'euler_maruyama', settings: (nfe) => ({ steps: nfe, noise: 'path' }) },
  { label: 'pc (reverse_diffusion + langevin)', solver: 'pc', settings: (nfe) => ({ steps: nfe / 2 }) },
  { label: 'ode_heun', solver: 'ode_heun', settings: (nfe) => ({ steps: nfe / 2 }) },
  // Per-sample step sizes (the default) split the batch into ever smaller calls as samples
  // finish at different times; one batch-wide step size keeps every call full.
  { label: 'ode_rk45 (rtol 1e-3, per-sample steps)', solver: 'ode_rk45', settings: () => ({ rtol: 1e-3, atol: 1e-3 }) },
  { label: 'ode_rk45 (rtol 1e-3, batch steps)', solver: 'ode_rk45', settings: () => ({ rtol: 1e-3, atol: 1e-3, norm: 'batch' }) },
];

export interface OverheadCase {
  model: string;
  batch: number;
  /** Evaluations per fixed-step run. */
  nfe: number;
}

export interface OverheadRow {
  model: string;
  batch: number;
  solver: string;
  calls: number;
  /** Network evaluations per sample: full-batch calls' worth of work (RK45 packs active samples). */
  nfe: number;
  /** Median milliseconds of one bare session.run at this batch. */
  rawRunMs: number;
  /** Median milliseconds of the whole sampler run. */
  samplerMs: number;
  /** samplerMs / (nfe × rawRunMs): 1.00 means the framework adds nothing. */
  ratio: number;
  /** samplerMs / time spent inside the run's own session.run calls: the JS share, measured in-run. */
  inRunRatio: number;
  executionProvider: string;
}

/**
 * The sampler's wall time against the bare network cost it implies, measured in one process:
 * a run's time divided by (its NFE per sample × the median time of one bare `session.run` on
 * prepared float32 tensors of the whole batch). NFE rather than calls, because an adaptive
 * solver's later calls hold only its still-active samples. Raw and sampler runs are interleaved so that
 * drift in machine load hits both.
 */
export async function measureOverhead(c: OverheadCase, reps: number, opts: { threads?: number; device?: 'auto' | 'cpu' | 'cuda' }): Promise<OverheadRow[]> {
  const timed = await InstrumentedModel.load(path.join(ROOT, c.model), { device: opts.device ?? 'cpu', threads: opts.threads, log: () => {} });
  const model = timed.model;
  try {
    const { x, t } = rawInputs(model, c.batch);
    const rows: OverheadRow[] = [];
    for (const s of OVERHEAD_SOLVERS) {
      const raw: number[] = [];
      const wall: number[] = [];
      const inRun: number[] = [];
      let calls = 0;
      let nfe = 0;
      await sample({ sde: model.sde, model, solver: s.solver, settings: s.settings(c.nfe), n: c.batch, seed: 1 }); // warm-up
      for (let r = 0; r < reps; r++) {
        raw.push(median(await timeRuns(() => timed.runRaw(x, t, c.batch), 20, 2)));
        timed.reset();
        const res = await sample({ sde: model.sde, model, solver: s.solver, settings: s.settings(c.nfe), n: c.batch, seed: 1 + r });
        wall.push(res.wallTimeMs);
        inRun.push(res.wallTimeMs / timed.sessionRunMs);
        calls = res.calls;
        nfe = res.nfe;
      }
      const rawRunMs = median(raw);
      const samplerMs = median(wall);
      rows.push({
        model: c.model,
        batch: c.batch,
        solver: s.label,
        calls,
        nfe,
        rawRunMs,
        samplerMs,
        ratio: samplerMs / (nfe * rawRunMs),
        inRunRatio: median(inRun),
        executionProvider: model.executionProvider,
      });
    }
    return rows;
  } finally {
    await model.dispose();
  }
}

/** Prior-like float32 inputs at t = 0.5, prepared once: what a bare session.run is timed on. */
function rawInputs(model: OnnxScoreModel, batch: number): { x: Float32Array; t: Float32Array } {
  const dim = model.sampleShape.reduce((a, b) => a * b, 1);
  const x64 = new Float64Array(batch * dim);
  new NoiseSource(99).normal(x64, dim, 0, Stream.prior);
  return { x: Float32Array.from(x64), t: new Float32Array(batch).fill(0.5) };
}
