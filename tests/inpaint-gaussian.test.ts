/**
 * Inpainting on Gaussian data, where everything has a closed form. Data: 8-D AR(1), Σ_ij = ρ^|i−j|
 * with ρ = 0.8, mean 0; the left half is known (y), the right half sampled. The truth is the
 * conditional Gaussian p(x_u | x_k = y) (GaussianScore.conditional).
 *
 * Two kinds of check, with tolerances of 4 standard errors of the sample moments (SE from the
 * samples' own fourth moments, tests/support/stats.ts):
 *  - implementation: Euler–Maruyama with replacement (and with RePaint's jumps) is affine plus
 *    Gaussian noise, so its output moments propagate exactly (tests/support/inpaint-moments.ts);
 *    the samples must match them. Controls: no replacement, and a replacement by the clean values
 *    (known ← y, not perturbed to t), fail the same tolerance.
 *  - against the truth: both methods are approximations, and the propagation gives their bias
 *    exactly. Replacement alone: 0.35 in the conditional mean, 0.16 in the covariance (100 steps);
 *    RePaint (100 steps, 20 passes per step): 0.025 and 0.049, and not monotone in the passes
 *    (40 passes: 0.057, 0.054). The samples must lie within that bias plus 4 SE of the truth
 *    for RePaint; replacement alone and no replacement fail the same threshold.
 */
import {
  GaussianScore,
  SOLVERS,
  StateTransform,
  VPSDE,
  jumpBack,
  namedMask,
  sample,
  timeGrid,
  withInpainting,
} from '../index';
import { moments } from './support/stats';
import { propagateInpainting, unknownBlock } from './support/inpaint-moments';

const { abs, max } = Math;
const vp = new VPSDE();
const D = 8;
const RHO = 0.8;
const COV = Array.from({ length: D }, (_, i) => Array.from({ length: D }, (_, j) => RHO ** abs(i - j)));
const MEAN = new Array(D).fill(0);
const model = new GaussianScore(vp, MEAN, COV);
const MASK = namedMask('left', [D]);
const KNOWN = Array.from(MASK, (v) => v === 1);
const Y = [0.5, -1, 1.5, 1];
const TRUTH = model.conditional(KNOWN, Y);
const K = 4; // per-entry tolerance in standard errors

function images(n: number): Float64Array {
  const x = new Float64Array(n * D);
  for (let i = 0; i < n; i++) Y.forEach((v, d) => (x[i * D + d] = v));
  return x;
}

/** The unknown coordinates of the samples (n × 4). */
function unknownPart(x: Float64Array): Float64Array {
  const n = x.length / D;
  const u = new Float64Array(n * 4);
  for (let i = 0; i < n; i++) for (let d = 0; d < 4; d++) u[i * 4 + d] = x[i * D + 4 + d];
  return u;
}

/** Largest |sample − target| in units of its standard error, for means and covariance entries. */
function zScores(u: Float64Array, target: { mean: number[]; cov: number[][] }): { mean: number; cov: number; meanErr: number; covErr: number } {
  const m = moments(u, 4);
  let zm = 0;
  let zc = 0;
  let em = 0;
  let ec = 0;
  for (let j = 0; j < 4; j++) {
    zm = max(zm, abs(m.mean[j] - target.mean[j]) / m.meanSE[j]);
    em = max(em, abs(m.mean[j] - target.mean[j]));
    for (let k = 0; k < 4; k++) {
      zc = max(zc, abs(m.cov[j * 4 + k] - target.cov[j][k]) / m.covSE[j * 4 + k]);
      ec = max(ec, abs(m.cov[j * 4 + k] - target.cov[j][k]));
    }
  }
  return { mean: zm, cov: zc, meanErr: em, covErr: ec };
}

function largestGap(a: { mean: number[]; cov: number[][] }, b: { mean: number[]; cov: number[][] }): { mean: number; cov: number } {
  let gm = 0;
  let gc = 0;
  a.mean.forEach((v, j) => (gm = max(gm, abs(v - b.mean[j]))));
  a.cov.forEach((row, j) => row.forEach((v, k) => (gc = max(gc, abs(v - b.cov[j][k])))));
  return { mean: gm, cov: gc };
}

async function inpaintEM(n: number, steps: number, opts: { method: 'replace' | 'repaint'; rounds?: number; jump?: number; seed?: number }): Promise<Float64Array> {
  const req = withInpainting(
    { sde: vp, model, solver: 'euler_maruyama', settings: { steps }, n, seed: opts.seed ?? 1 },
    { images: images(n), mask: MASK, method: opts.method, resample: { rounds: opts.rounds, jump: opts.jump } },
  );
  return (await sample(req)).samples.data as Float64Array;
}

function propagated(steps: number, extra: { rounds?: number; jump?: number; replace?: boolean } = {}) {
  const grid = timeGrid(vp, steps, vp.defaultEps);
  const full = propagateInpainting({ sde: vp, grid, mean: MEAN, cov: COV, known: KNOWN, values: Y, ...extra });
  return unknownBlock(KNOWN, full.mean, full.cov);
}

describe('inpainting on Gaussian data: the implementation against exact moment propagation', () => {
  const n = 4000;
  const steps = 100;

  test('replace (Euler–Maruyama, 100 steps): moments within 4 SE of the propagated ones; controls fail', async () => {
    const target = propagated(steps);
    const z = zScores(unknownPart(await inpaintEM(n, steps, { method: 'replace' })), target);
    console.log(`replace vs propagation: mean ${z.mean.toFixed(2)} SE, cov ${z.cov.toFixed(2)} SE`);
    expect(z.mean).toBeLessThan(K);
    expect(z.cov).toBeLessThan(K);

    // Control 1: no replacement at all (the unconditional sampler).
    const plain = (await sample({ sde: vp, model, solver: 'euler_maruyama', settings: { steps }, n, seed: 1 })).samples.data as Float64Array;
    const z1 = zScores(unknownPart(plain), target);
    // Control 2: the known part replaced by the clean values y, not perturbed to the step's t.
    const clean: StateTransform = (x, c) => {
      for (let i = 0; i < c.n; i++) Y.forEach((v, d) => (x[i * D + d] = v));
    };
    const wrong = (await sample({ sde: vp, model, solver: 'euler_maruyama', settings: { steps }, n, seed: 1, stateTransforms: [clean] })).samples.data as Float64Array;
    const z2 = zScores(unknownPart(wrong), target);
    console.log(`controls: no replacement mean ${z1.mean.toFixed(1)} SE; clean values mean ${z2.mean.toFixed(1)} SE, cov ${z2.cov.toFixed(1)} SE`);
    expect(max(z1.mean, z1.cov)).toBeGreaterThan(K);
    expect(max(z2.mean, z2.cov)).toBeGreaterThan(K);
  });

  test('repaint (Euler–Maruyama, 50 steps, 5 passes over blocks of 2): moments within 4 SE of the propagated ones', async () => {
    const target = propagated(50, { rounds: 5, jump: 2 });
    const z = zScores(unknownPart(await inpaintEM(n, 50, { method: 'repaint', rounds: 5, jump: 2 })), target);
    console.log(`repaint vs propagation: mean ${z.mean.toFixed(2)} SE, cov ${z.cov.toFixed(2)} SE`);
    expect(z.mean).toBeLessThan(K);
    expect(z.cov).toBeLessThan(K);
    // Control: the same samples against the plain replacement's propagated moments (no jumps).
    const zr = zScores(unknownPart(await inpaintEM(n, 50, { method: 'repaint', rounds: 5, jump: 2 })), propagated(50));
    expect(max(zr.mean, zr.cov)).toBeGreaterThan(K);
  });

  test('the jump back is the forward kernel: N(α_t y, σ_t²) goes to N(α_s y, σ_s²); the marginal std instead fails', () => {
    const n = 20000;
    const t = 0.3;
    const s = 0.5;
    const y = 1.3;
    const z0 = new Float64Array(n);
    const z1 = new Float64Array(n);
    const noise = model.sample(2 * n, 5); // any standard normals: whiten a Gaussian sample
    for (let i = 0; i < n; i++) {
      z0[i] = noise[2 * i * D];
      z1[i] = noise[(2 * i + 1) * D];
    }
    const x = Float64Array.from(z0, (v) => vp.meanCoef(t) * y + vp.std(t) * v);
    jumpBack(vp, x, t, s, z1);
    const m = moments(x, 1);
    expect(abs(m.mean[0] - vp.meanCoef(s) * y) / m.meanSE[0]).toBeLessThan(K);
    expect(abs(m.cov[0] - vp.std(s) ** 2) / m.covSE[0]).toBeLessThan(K);
    // Control: adding σ_s·z (the marginal std, not the transition's) overshoots the variance.
    const wrong = Float64Array.from(z0, (v, i) => (vp.meanCoef(s) / vp.meanCoef(t)) * (vp.meanCoef(t) * y + vp.std(t) * v) + vp.std(s) * z1[i]);
    const mw = moments(wrong, 1);
    expect(abs(mw.cov[0] - vp.std(s) ** 2) / mw.covSE[0]).toBeGreaterThan(K);
  });
});

describe('inpainting on Gaussian data: against the true conditional', () => {
  const REPAINT = { steps: 100, rounds: 20, jump: 1 };

  test('the exact bias: RePaint (100 steps, 20 passes per step) ≤ 0.03 in the mean and 0.05 in the covariance; replacement alone over 0.3', () => {
    const bias = {
      repaint: largestGap(propagated(REPAINT.steps, REPAINT), TRUTH),
      replace: largestGap(propagated(100), TRUTH),
      none: largestGap(propagated(100, { replace: false }), TRUTH),
    };
    console.log(`exact bias against the true conditional (mean, cov): ${Object.entries(bias).map(([k, b]) => `${k} ${b.mean.toFixed(3)}, ${b.cov.toFixed(3)}`).join('; ')}`);
    expect(bias.repaint.mean).toBeLessThan(0.03);
    expect(bias.repaint.cov).toBeLessThan(0.05);
    expect(bias.replace.mean).toBeGreaterThan(0.3);
    expect(bias.none.mean).toBeGreaterThan(0.7);
  });

  test('RePaint samples lie within its bias + 4 SE of p(x_u | x_k = y); replacement alone and no replacement do not', async () => {
    const n = 2000;
    const allowance = propagated(REPAINT.steps, REPAINT);
    /** Largest |sample − truth| / SE after subtracting the entry's RePaint bias. */
    const excess = (x: Float64Array) => {
      const m = moments(unknownPart(x), 4);
      let z = 0;
      for (let j = 0; j < 4; j++) {
        z = max(z, (abs(m.mean[j] - TRUTH.mean[j]) - abs(allowance.mean[j] - TRUTH.mean[j])) / m.meanSE[j]);
        for (let k = 0; k < 4; k++) z = max(z, (abs(m.cov[j * 4 + k] - TRUTH.cov[j][k]) - abs(allowance.cov[j][k] - TRUTH.cov[j][k])) / m.covSE[j * 4 + k]);
      }
      return z;
    };
    const repaint = excess(await inpaintEM(n, REPAINT.steps, { method: 'repaint', rounds: REPAINT.rounds, jump: REPAINT.jump }));
    const replace = excess(await inpaintEM(n, 100, { method: 'replace' }));
    const none = excess((await sample({ sde: vp, model, solver: 'euler_maruyama', settings: { steps: 100 }, n, seed: 1 })).samples.data as Float64Array);
    console.log(`beyond RePaint's bias, in SE: repaint ${repaint.toFixed(2)}, replace ${replace.toFixed(1)}, none ${none.toFixed(1)}`);
    expect(repaint).toBeLessThan(K);
    expect(replace).toBeGreaterThan(K);
    expect(none).toBeGreaterThan(K);
  });
});

describe('inpainting with every solver', () => {
  const FIXED = SOLVERS.filter((s) => !s.adaptive);
  const n = 37;

  test.each(FIXED.map((s) => s.name))('%s: the known values come back exactly, with replace and with repaint', async (name) => {
    for (const method of ['replace', 'repaint'] as const) {
      const imgs = images(n);
      for (let j = 0; j < imgs.length; j++) if (MASK[j % D] === 0) imgs[j] = 0.1 * (j % 7);
      const req = withInpainting({ sde: vp, model, solver: name, settings: { steps: 12 }, n, batchSize: 16 }, { images: imgs, mask: MASK, method, resample: { rounds: 2, jump: 3 } });
      const x = (await sample(req)).samples.data as Float64Array;
      for (let j = 0; j < x.length; j++) if (MASK[j % D] === 1) expect(x[j]).toBe(imgs[j]);
    }
  });

  test('RePaint with a solver that ends with a step to t = 0: that step once, at the very end (NFE), not after every block', async () => {
    const run = (denoiseToZero: boolean) =>
      sample(withInpainting({ sde: vp, model, solver: 'ddim', settings: { steps: 12, denoiseToZero }, n, seed: 3 }, { images: images(n), mask: MASK, method: 'repaint', resample: { rounds: 2, jump: 3 } }));
    const plain = await run(false);
    const toZero = await run(true);
    // 4 blocks × 2 rounds × 3 steps = 24 evaluations; the step to 0 adds exactly one (it added 8, one per block and round).
    expect(plain.nfe).toBe(24);
    expect(toZero.nfe).toBe(25);
  });

  test('adaptive solvers are refused by name', () => {
    for (const s of SOLVERS.filter((d) => d.adaptive)) {
      expect(() => withInpainting({ sde: vp, model, solver: s.name, n }, { images: images(n), mask: MASK, method: 'replace' })).toThrow(
        new RegExp(`solver '${s.name}' is adaptive.*fixed-step solver`),
      );
    }
  });

  test('repaint with one pass is the plain replacement, bit for bit; repaint does not depend on the batch size', async () => {
    const a = await inpaintEM(50, 20, { method: 'replace' });
    const b = await inpaintEM(50, 20, { method: 'repaint', rounds: 1, jump: 3 });
    expect(b).toEqual(a);
    const whole = withInpainting({ sde: vp, model, solver: 'pc', settings: { steps: 10 }, n: 50 }, { images: images(50), mask: MASK, method: 'repaint', resample: { rounds: 3, jump: 2 } });
    const x1 = (await sample(whole)).samples.data;
    const x2 = (await sample({ ...whole, batchSize: 7 })).samples.data;
    expect(x2).toEqual(x1);
  });
});

describe('named masks', () => {
  test('halves, centre square and border on 28 × 28 images (and 1-D halves); complements add up', () => {
    const shape = [1, 28, 28];
    const count = (m: Float64Array) => m.reduce((a, b) => a + b, 0);
    const at = (m: Float64Array, i: number, j: number) => m[i * 28 + j];
    const left = namedMask('left', shape);
    expect([count(left), at(left, 5, 13), at(left, 5, 14)]).toEqual([392, 1, 0]);
    const top = namedMask('top', shape);
    expect([count(top), at(top, 13, 5), at(top, 14, 5)]).toEqual([392, 1, 0]);
    const right = namedMask('right', shape);
    const bottom = namedMask('bottom', shape);
    for (let d = 0; d < 784; d++) {
      expect(left[d] + right[d]).toBe(1);
      expect(top[d] + bottom[d]).toBe(1);
    }
    const centre = namedMask('centre', shape);
    const border = namedMask('border', shape);
    expect([count(centre), at(centre, 7, 7), at(centre, 20, 20), at(centre, 21, 21), at(centre, 6, 14)]).toEqual([196, 1, 1, 0, 0]);
    for (let d = 0; d < 784; d++) expect(centre[d] + border[d]).toBe(1);
    expect(Array.from(namedMask('right', [5]))).toEqual([0, 0, 0, 1, 1]);
    expect(() => namedMask('centre', [5])).toThrow(/mask 'centre' needs an image shape/);
  });
});
