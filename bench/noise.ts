import { NoiseSource, Stream, philox4x32 } from '../core/noise';
import { BROWNIAN_DEPTH } from '../core/brownian';
import { median } from './timing';

/**
 * What the stochastic solvers pay for their noise, measured in one process: nanoseconds per
 * standard normal (the ziggurat now, Box–Muller over the same Philox words as before, as the
 * baseline), and per coordinate and step of a time-addressed Brownian path against one per-step
 * draw, at a few step counts. Sizes are the 2-D MLP's batch of 1024 (2048 coordinates).
 */
export interface NoiseBench {
  elements: number;
  /** ns per normal. */
  ziggurat: number;
  boxMuller: number;
  /** ns per coordinate and step: 'step' noise (one normal) and 'path' noise (the Brownian tree). */
  paths: { steps: number; stepNs: number; pathNs: number; ratio: number }[];
  depth: number;
}

export function benchNoise(reps: number, elements = 2048): NoiseBench {
  const out = new Float64Array(elements);
  const source = new NoiseSource(1);
  const perNormal = (fill: (step: number) => void, calls: number) => {
    fill(0);
    const times: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      for (let c = 0; c < calls; c++) fill(c);
      times.push(((performance.now() - t0) * 1e6) / (calls * elements));
    }
    return median(times);
  };
  const ziggurat = perNormal((step) => source.normal(out, 1, step, Stream.predictor), 200);
  const boxMuller = perNormal((step) => boxMullerFill(out, step), 200);
  const paths = [10, 100, 1000].map((steps) => {
    const grid = Array.from({ length: steps + 1 }, (_, i) => 1 + (1e-3 - 1) * (i / steps));
    const run = (mode: 'step' | 'path') => {
      const times: number[] = [];
      for (let r = 0; r < reps; r++) {
        const path = mode === 'path' ? new NoiseSource(r).brownian(elements, 1, 1) : undefined;
        const t0 = performance.now();
        for (let i = 0; i <= steps; i++) {
          if (path) path.valueAt(grid[i], out);
          else source.normal(out, 1, i, Stream.predictor);
        }
        times.push(((performance.now() - t0) * 1e6) / ((steps + 1) * elements));
      }
      return median(times);
    };
    const stepNs = run('step');
    const pathNs = run('path');
    return { steps, stepNs, pathNs, ratio: pathNs / stepNs };
  });
  return { elements, ziggurat, boxMuller, paths, depth: BROWNIAN_DEPTH };
}

const block = new Uint32Array(4);
const INV_2_32 = 1 / 4294967296;

/** The previous transform, kept here only as the baseline: Box–Muller on each Philox block. */
function boxMullerFill(out: Float64Array, step: number): void {
  for (let e = 0; e < out.length; e += 4) {
    philox4x32(e / 4, 0, step, Stream.predictor, 1, 0, block);
    const r1 = Math.sqrt(-2 * Math.log((block[0] + 0.5) * INV_2_32));
    const a1 = 2 * Math.PI * ((block[1] + 0.5) * INV_2_32);
    const r2 = Math.sqrt(-2 * Math.log((block[2] + 0.5) * INV_2_32));
    const a2 = 2 * Math.PI * ((block[3] + 0.5) * INV_2_32);
    out[e] = r1 * Math.cos(a1);
    out[e + 1] = r1 * Math.sin(a1);
    out[e + 2] = r2 * Math.cos(a2);
    out[e + 3] = r2 * Math.sin(a2);
  }
}
