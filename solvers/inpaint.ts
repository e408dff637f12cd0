import { SDE } from '../sdes/sde';
import { ParameterError } from '../core/errors';
import { sampleSize } from '../core/score';
import { getSolver } from './registry';
import { SolverDefinition } from './solver';
import { ResampleOptions } from './resample';
import { SampleRequest, StateTransform } from './request';

/**
 * Inpainting (imputation) with an unconditional model: the values where mask = 1 are known (the
 * images'), the others are sampled.
 *
 *   'replace'  Song et al. 2021 (score SDE, §5 and App. I.2): after every solver step to time t,
 *              the known values are replaced by the images perturbed to t with the forward kernel,
 *              x ← m⊙(α(t)·y + σ(t)·z) + (1 − m)⊙x, z fresh noise of the run (so the unknown part
 *              follows the joint score with the known part at its right noise level).
 *   'repaint'  the same replacement, plus RePaint's resampling (Lugmayr et al. 2022): every block
 *              of `jump` steps is solved `rounds` times, jumping back through the forward kernel in
 *              between (./resample.ts), which harmonizes the unknown part with the known one.
 * Both finish by pasting the images' known values exactly: x ← m⊙y + (1 − m)⊙x.
 *
 * Both need a fixed time grid: every fixed-step solver works (stochastic and ODE alike); adaptive
 * ones (ode_rk45: per-sample times and FSAL slopes that a replaced state would invalidate) are
 * refused. Neither is exact: on correlated Gaussian data the replacement method leaves a bias in
 * the conditional mean and covariance that resampling reduces (tests/inpaint-gaussian.test.ts).
 */
export const INPAINT_METHODS = ['replace', 'repaint'] as const;
export type InpaintMethod = (typeof INPAINT_METHODS)[number];

/** The aux index of SolverNoise.atTime reserved for the perturbation of the known values. */
export const INPAINT_NOISE_INDEX = 255;

export interface InpaintOptions {
  /** Known values: row i is the image of sample i of the run (at least n rows of the sample size). */
  images: Float64Array;
  /** 1 where a value is known, 0 where it is sampled: one mask (sample size) or one per image row. */
  mask: Float64Array;
  method: InpaintMethod;
  /** For 'repaint': rounds per block (RePaint's U) and steps per block (j). Default {rounds: 10, jump: 10} (RePaint's). */
  resample?: Partial<ResampleOptions>;
}

export const DEFAULT_RESAMPLE: ResampleOptions = { rounds: 10, jump: 10 };

/**
 * The request with inpainting added: its state transforms (the replacement, and the final paste)
 * and, for 'repaint', the driver's resampling. Checks the solver, the mask and the image rows.
 */
export function withInpainting<R extends SampleRequest>(req: R, opts: InpaintOptions): R {
  const dim = sampleSize(req.model.sampleShape);
  const parts = inpainting(req.sde, req.solver, opts, dim, (req.firstSample ?? 0) + req.n);
  return { ...req, stateTransforms: [...(req.stateTransforms ?? []), ...parts.stateTransforms], resample: parts.resample };
}

/**
 * What inpainting adds to a sample() request (withInpainting, or every block of a streamed run):
 * the replacement transform and, for 'repaint', the resampling. `samples`: how many samples of the
 * run need images (row i of opts.images is sample i's).
 */
export function inpainting(
  sde: SDE,
  solverRef: SampleRequest['solver'],
  opts: InpaintOptions,
  dim: number,
  samples: number,
): { stateTransforms: StateTransform[]; resample?: ResampleOptions } {
  const solver: SolverDefinition = typeof solverRef === 'string' ? getSolver(solverRef) : (solverRef as SolverDefinition);
  checkInpaintSolver(solver, opts.method);
  checkInpaintData(opts, dim, samples);
  const resample = opts.method === 'repaint' ? { ...DEFAULT_RESAMPLE, ...opts.resample } : undefined;
  return { stateTransforms: [replacement(sde, opts.images, opts.mask, dim)], resample };
}

export function checkInpaintSolver(solver: SolverDefinition, method: InpaintMethod): void {
  if (!(INPAINT_METHODS as readonly string[]).includes(method)) throw new ParameterError(`unknown inpainting method '${String(method)}': expected ${INPAINT_METHODS.join(' or ')}`);
  if (solver.adaptive) {
    throw new ParameterError(
      `inpainting ('${method}') replaces the known values after every step of a fixed time grid; solver '${solver.name}' is adaptive ` +
        '(per-sample times, and step slopes that a replaced state would invalidate): use a fixed-step solver',
    );
  }
}

/** Mask values 0/1 of the sample size (or rows × sample size), and images for every sample. */
export function checkInpaintData(opts: Pick<InpaintOptions, 'images' | 'mask'>, dim: number, samples: number): void {
  const { images, mask } = opts;
  const rows = images.length / dim;
  if (!Number.isInteger(rows)) throw new ParameterError(`inpainting images hold ${images.length} values, not rows of the sample size ${dim}`);
  if (rows < samples) throw new ParameterError(`inpainting needs an image per sample: ${rows} image rows for ${samples} samples`);
  const maskRows = mask.length / dim;
  if (maskRows !== 1 && maskRows !== rows) {
    throw new ParameterError(`the mask holds ${mask.length} values: expected one mask of ${dim} values, or one per image (${rows} × ${dim})`);
  }
  for (let j = 0; j < mask.length; j++) {
    if (mask[j] !== 0 && mask[j] !== 1) throw new ParameterError(`the mask must hold 0 (sample) or 1 (known) only; value ${j} is ${mask[j]}`);
  }
  for (let j = 0; j < images.length; j++) {
    if (!Number.isFinite(images[j])) throw new ParameterError(`inpainting images must be finite; value ${j % dim} of row ${Math.floor(j / dim)} is ${images[j]}`);
  }
}

/** x ← m⊙(α(t)·y + σ(t)·z) + (1 − m)⊙x after each step; x ← m⊙y + (1 − m)⊙x at the end. */
function replacement(sde: SDE, images: Float64Array, mask: Float64Array, dim: number): StateTransform {
  const perImage = mask.length !== dim;
  let z = new Float64Array(0);
  return (x, ctx) => {
    const a = ctx.final ? 1 : sde.meanCoef(ctx.t);
    const s = ctx.final ? 0 : sde.std(ctx.t);
    if (!ctx.final) {
      if (z.length !== x.length) z = new Float64Array(x.length);
      ctx.noise.atTime(ctx.t, INPAINT_NOISE_INDEX, z);
    }
    for (let r = 0; r < ctx.n; r++) {
      const row = r * dim;
      const image = (ctx.first + r) * dim;
      const m = perImage ? image : 0;
      for (let d = 0; d < dim; d++) {
        if (mask[m + d] === 0) continue;
        x[row + d] = s === 0 ? a * images[image + d] : a * images[image + d] + s * z[row + d];
      }
    }
  };
}
