/**
 * Core tests of the forward SDEs (sdes/): kernels against independently written closed forms,
 * the g² ↔ kernel-variance consistency, priors, a forward simulation written here, perturb()
 * (parameterization round trips: tests/sde-parameterization.test.ts; time grids:
 * tests/solver-grids.test.ts).
 *
 * Every closed form below is written out in this file from the paper's formulas, not taken from
 * the classes under test, so a wrong sign or a missing square root in sdes/ shows up as a
 * mismatch rather than being reproduced by the test.
 */
import {
  CosineBetaSchedule,
  NoiseSource,
  SDE,
  Stream,
  SubVPSDE,
  VESDE,
  VPSDE,
  perturb,
  priorLogProb,
} from '../index';
import { pooledMeanVar } from './support/stats';

const { abs, cos, acos, exp, log, max, sqrt, PI } = Math;

const TIMES = [1e-5, 1e-3, 0.01, 0.1, 0.25, 0.37, 0.5, 0.75, 0.9, 0.999, 1];

// ---------- independent closed forms ----------

interface ClosedForm {
  name: string;
  sde: SDE;
  mean(t: number): number;
  std(t: number): number;
  drift(t: number): number;
  g(t: number): number;
}

function veForm(sigmaMin: number, sigmaMax: number, T = 1): ClosedForm {
  const sigma = (t: number) => sigmaMin * (sigmaMax / sigmaMin) ** (t / T);
  return {
    name: `VE(σ=${sigmaMin}..${sigmaMax}, T=${T})`,
    sde: new VESDE({ sigmaMin, sigmaMax, T }),
    mean: () => 1,
    std: sigma,
    drift: () => 0,
    // d σ²/dt = 2 σ² ln(σmax/σmin)/T, so g = σ sqrt(2 ln(σmax/σmin)/T).
    g: (t) => sigma(t) * sqrt((2 * log(sigmaMax / sigmaMin)) / T),
  };
}

/** m(t) = −¼t²(βmax−βmin) − ½tβmin; VP std = sqrt(1 − e^{2m}); sub-VP std = 1 − e^{2m}. */
function linearVpForm(kind: 'vp' | 'subvp', betaMin: number, betaMax: number): ClosedForm {
  const m = (t: number) => -0.25 * t * t * (betaMax - betaMin) - 0.5 * t * betaMin;
  const beta = (t: number) => betaMin + t * (betaMax - betaMin);
  return {
    name: `${kind}(linear β=${betaMin}..${betaMax})`,
    sde: kind === 'vp' ? new VPSDE({ betaMin, betaMax }) : new SubVPSDE({ betaMin, betaMax }),
    mean: (t) => exp(m(t)),
    std: kind === 'vp' ? (t) => sqrt(1 - exp(2 * m(t))) : (t) => 1 - exp(2 * m(t)),
    drift: (t) => -0.5 * beta(t),
    g: kind === 'vp' ? (t) => sqrt(beta(t)) : (t) => sqrt(beta(t) * (1 - exp(4 * m(t)))),
  };
}

/**
 * Nichol & Dhariwal: ᾱ(u) = cos²(π/2·(u+s)/(1+s)) / cos²(π/2·s/(1+s)), with u = t·uEnd/T and uEnd
 * solved here from ᾱ(uEnd) = alphaBarMin. β is not written in closed form: it is checked against
 * −d/dt log ᾱ by finite differences in its own test.
 */
function cosineAlphaBar(s: number, alphaBarMin: number, T: number): (t: number) => number {
  const f = (u: number) => cos(((u + s) / (1 + s)) * (PI / 2)) ** 2;
  const uEnd = ((2 * (1 + s)) / PI) * acos(sqrt(alphaBarMin * f(0))) - s;
  return (t: number) => f((t / T) * uEnd) / f(0);
}

const FORMS: ClosedForm[] = [
  veForm(0.01, 50),
  veForm(0.05, 20, 2),
  linearVpForm('vp', 0.1, 20),
  linearVpForm('vp', 0.5, 5),
  linearVpForm('subvp', 0.1, 20),
  linearVpForm('subvp', 0.5, 5),
];

function rel(a: number, b: number): number {
  return abs(a - b) / max(abs(b), 1e-300);
}

describe('kernels against closed forms', () => {
  test.each(FORMS.map((f) => [f.name, f] as const))('%s: meanCoef, std, driftCoef, diffusion', (_name, f) => {
    // Tolerance 1e-10 relative: the two sides differ only by rounding (the classes use exp/expm1,
    // the closed forms pow/exp). The worst case is 1 − e^{2m} at t = 1e-5, where the naive
    // closed form itself loses ~1e-16/1e-6 = 1e-10 to cancellation; every other t is ~1e-15.
    for (const tau of TIMES) {
      const t = tau * f.sde.T;
      expect(rel(f.sde.meanCoef(t), f.mean(t))).toBeLessThan(1e-10);
      expect(rel(f.sde.std(t), f.std(t))).toBeLessThan(tau < 1e-4 ? 1e-9 : 1e-10);
      expect(abs(f.sde.driftCoef(t) - f.drift(t))).toBeLessThanOrEqual(1e-12 * max(1, abs(f.drift(t))));
      expect(rel(f.sde.diffusion(t), f.g(t))).toBeLessThan(tau < 1e-4 ? 1e-9 : 1e-10);
    }
  });

  test('sub-VP std is 1 − e^{2m} (no square root) and VP std is its square root', () => {
    // The one place where VP and sub-VP differ in the kernel; at t = 0.5 they differ by 4%.
    const vp = new VPSDE();
    const sub = new SubVPSDE();
    for (const t of [0.1, 0.5, 0.9]) {
      expect(rel(sub.std(t), vp.std(t) ** 2)).toBeLessThan(1e-12);
      expect(sub.meanCoef(t)).toBe(vp.meanCoef(t));
    }
    expect(abs(sub.std(0.5) - vp.std(0.5))).toBeGreaterThan(0.03);
  });

  describe('cosine schedule', () => {
    const cases = [
      { s: 0.008, alphaBarMin: 1e-4, T: 1 },
      { s: 0.02, alphaBarMin: 1e-3, T: 2 },
    ];
    test.each(cases)('ᾱ(t) closed form, ᾱ(0) = 1, ᾱ(T) = alphaBarMin (s=$s, ᾱmin=$alphaBarMin, T=$T)', ({ s, alphaBarMin, T }) => {
      const sde = new VPSDE({ schedule: 'cosine', cosineS: s, alphaBarMin, T });
      const abar = cosineAlphaBar(s, alphaBarMin, T);
      // ᾱ = meanCoef², std² = 1 − ᾱ; 1e-9 relative covers rounding of acos/cos near ᾱ(T).
      expect(sde.meanCoef(0)).toBeCloseTo(1, 14);
      expect(rel(sde.meanCoef(T) ** 2, alphaBarMin)).toBeLessThan(1e-9);
      for (const tau of TIMES) {
        const t = tau * T;
        expect(rel(sde.meanCoef(t) ** 2, abar(t))).toBeLessThan(1e-9);
        expect(abs(sde.std(t) ** 2 - (1 - abar(t)))).toBeLessThan(1e-12);
      }
    });

    test.each(cases)('β(t) = −d/dt log ᾱ(t) by central differences (s=$s, ᾱmin=$alphaBarMin, T=$T)', ({ s, alphaBarMin, T }) => {
      const sched = new CosineBetaSchedule(s, alphaBarMin, T);
      const abar = cosineAlphaBar(s, alphaBarMin, T);
      // Central difference with h = 1e-6·T: truncation h²·|d³ log ᾱ|/6 and rounding
      // 1e-16/h are both < 1e-7 relative to β, which runs from ~0.03 to ~400 here.
      const h = 1e-6 * T;
      for (const tau of [0.01, 0.2, 0.5, 0.8, 0.95, 0.999]) {
        const t = tau * T;
        const fd = -(log(abar(t + h)) - log(abar(t - h))) / (2 * h);
        expect(rel(sched.beta(t), fd)).toBeLessThan(2e-6);
        expect(rel(-2 * sched.logMeanCoef(t), -log(abar(t)))).toBeLessThan(1e-9);
      }
    });
  });

  /**
   * For any linear SDE dx = a(t)x dt + g(t) dw the variance of x_t when x_0 has variance σ_d²
   * obeys d/dt Var = 2a(t)·Var + g(t)², and the kernel says Var(t) = std(t)² + meanCoef(t)²σ_d².
   * So the diffusion has to match the kernel: this catches e.g. g = β instead of √β, or sub-VP's
   * (1 − e^{−2∫β}) discount written with the wrong exponent.
   */
  describe('g² consistency: d/dt Var = 2a Var + g²', () => {
    const sdes: [string, SDE][] = [
      ['VE', new VESDE()],
      ['VE T=2', new VESDE({ sigmaMin: 0.05, sigmaMax: 20, T: 2 })],
      ['VP linear', new VPSDE()],
      ['VP cosine', new VPSDE({ schedule: 'cosine' })],
      ['sub-VP linear', new SubVPSDE()],
      ['sub-VP cosine', new SubVPSDE({ schedule: 'cosine' })],
    ];
    /** Worst relative residual of the ODE over t, with g scaled by gScale (1 = as implemented). */
    function worstResidual(sde: SDE, gScale: number): number {
      let worst = 0;
      for (const sd2 of [0, 0.25, 4]) {
        const V = (t: number) => sde.std(t) ** 2 + sde.meanCoef(t) ** 2 * sd2;
        for (const tau of [0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99]) {
          const t = tau * sde.T;
          const h = 1e-5 * sde.T;
          const dV = (V(t + h) - V(t - h)) / (2 * h);
          const a = sde.driftCoef(t);
          const g = sde.diffusion(t) * gScale;
          const rhs = 2 * a * V(t) + g * g;
          worst = max(worst, abs(dV - rhs) / (abs(2 * a * V(t)) + g * g));
        }
      }
      return worst;
    }
    test.each(sdes)('%s', (_name, sde) => {
      // Central differences with h = 1e-5·T: truncation h²·V'''/(6V') is below 1e-7 for every
      // schedule here (the steepest is the cosine near T, β ≈ 300); rounding 1e-16·V/h below 1e-10.
      // Tolerance 1e-6 relative to |2aV| + g².
      expect(worstResidual(sde, 1)).toBeLessThan(1e-6);
      // The check has teeth: g off by 0.1% gives a residual ~2e-3, far above 1e-6.
      expect(worstResidual(sde, 1.001)).toBeGreaterThan(1e-4);
    });
  });

  describe('prior', () => {
    test('std(T) matches priorStd: VE σmax exactly, VP family ≈ 1', () => {
      const ve = new VESDE({ sigmaMin: 0.01, sigmaMax: 50 });
      expect(ve.priorStd).toBe(50);
      expect(rel(ve.std(ve.T), 50)).toBeLessThan(1e-13);
      // VP linear: std(1)² = 1 − e^{−10.05}: 1 − std = 2.2e-5. Cosine: 1 − sqrt(1 − 1e-4) = 5e-5.
      // Sub-VP: 1 − e^{−10.05} = 1 − 4.3e-5. All within 1e-4 of the N(0, I) prior.
      for (const sde of [new VPSDE(), new VPSDE({ schedule: 'cosine' }), new SubVPSDE()]) {
        expect(sde.priorStd).toBe(1);
        expect(abs(sde.std(sde.T) - 1)).toBeLessThan(1e-4);
        expect(sde.meanCoef(sde.T)).toBeLessThan(0.011);
      }
    });

    test('priorLogProb is log N(x; 0, priorStd² I)', () => {
      const dim = 3;
      const x = new Float64Array(5 * dim);
      new NoiseSource(3).normal(x, dim, 0, Stream.data);
      for (const sde of [new VESDE(), new VPSDE(), new SubVPSDE()]) {
        const s = sde.priorStd;
        const xs = x.map((v) => v * s * 1.3);
        const lp = priorLogProb(sde, xs, dim);
        expect(lp.length).toBe(5);
        for (let i = 0; i < 5; i++) {
          let expected = 0;
          for (let j = 0; j < dim; j++) {
            const v = xs[i * dim + j];
            expected += -0.5 * log(2 * PI) - log(s) - (v * v) / (2 * s * s);
          }
          expect(rel(lp[i], expected)).toBeLessThan(1e-12);
        }
      }
    });
  });
});

// ---------- forward simulation ----------

/**
 * Euler–Maruyama of the FORWARD SDE written here: x ← x + a(t)x·dt + g(t)·√dt·z, z from
 * NoiseSource, started from x0 ~ N(μ0, σ0²) and compared at t = 0.5 and t = 1 with the kernel:
 * E x_t = meanCoef·μ0, Var x_t = meanCoef²σ0² + std².
 *
 * Expected = kernel moments (from the classes) + the scheme's exact discretization bias; tolerance
 * 4 standard errors. The bias is the difference between the moments of the discrete EM recursion
 * (m ← (1 + a dt)m, v ← (1 + a dt)²v + g²dt) and the continuous kernel, both evaluated from the
 * closed forms in this file, never from the classes under test, so a wrong
 * driftCoef/diffusion/meanCoef/std cannot shift or widen its own target. With 200 steps the bias is at most 4.2% of the variance (VE at
 * t = 1: left-point g² underestimates ∫g²) and 23% for the cosine schedule at t = 1 (β(1) ≈ 300,
 * a·dt ≈ −0.75); everywhere else it is below 2.5%.
 */
describe('forward Euler–Maruyama reproduces the kernel moments', () => {
  const cosineForm = (): ClosedForm => {
    const sde = new VPSDE({ schedule: 'cosine' });
    const abar = cosineAlphaBar(0.008, 1e-4, 1);
    const h = 1e-6;
    const beta = (t: number) => -(log(abar(t + h)) - log(abar(max(t - h, 0)))) / (t > h ? 2 * h : h + t);
    return { name: 'VP cosine', sde, mean: (t) => sqrt(abar(t)), std: (t) => sqrt(1 - abar(t)), drift: (t) => -0.5 * beta(t), g: (t) => sqrt(beta(t)) };
  };
  const forms: ClosedForm[] = [veForm(0.01, 50), linearVpForm('vp', 0.1, 20), cosineForm(), linearVpForm('subvp', 0.1, 20)];
  const steps = 200;
  const rows = 8000;
  const dim = 4; // 4 iid coordinates per row: one Philox block each; 32000 draws per moment.
  const mu0 = 1.5;
  const sd0 = 0.5;
  const checkpoints = [steps / 2, steps];

  test('VE, VP linear, VP cosine, sub-VP at t = 0.5 and t = 1', () => {
    const noise = new NoiseSource(2024);
    const x0 = new Float64Array(rows * dim);
    noise.normal(x0, dim, 0, Stream.data);
    for (let j = 0; j < x0.length; j++) x0[j] = mu0 + sd0 * x0[j];
    const xs = forms.map(() => Float64Array.from(x0));
    // Exact moments of the discrete recursion, from the closed forms.
    const disc = forms.map(() => ({ m: mu0, v: sd0 * sd0 }));
    const z = new Float64Array(rows * dim);
    const dt = 1 / steps;
    const sqrtDt = sqrt(dt);
    const report: string[] = [];
    for (let k = 0; k < steps; k++) {
      const t = k * dt;
      noise.normal(z, dim, k + 1, Stream.kernel); // common noise for the four SDEs
      forms.forEach((f, s) => {
        const a = f.sde.driftCoef(t);
        const g = f.sde.diffusion(t);
        const x = xs[s];
        for (let j = 0; j < x.length; j++) x[j] += a * x[j] * dt + g * sqrtDt * z[j];
        const A = 1 + f.drift(t) * dt;
        const gc = f.g(t);
        disc[s].m *= A;
        disc[s].v = A * A * disc[s].v + gc * gc * dt;
      });
      if (!checkpoints.includes(k + 1)) continue;
      const tk = (k + 1) * dt;
      forms.forEach((f, s) => {
        const mean = f.sde.meanCoef(tk) * mu0;
        const variance = f.sde.meanCoef(tk) ** 2 * sd0 * sd0 + f.sde.std(tk) ** 2;
        const meanC = f.mean(tk) * mu0;
        const varC = f.mean(tk) ** 2 * sd0 * sd0 + f.std(tk) ** 2;
        const biasM = disc[s].m - meanC;
        const biasV = disc[s].v - varC;
        const st = pooledMeanVar(xs[s]);
        const zM = (st.mean - (mean + biasM)) / st.meanSE;
        const zV = (st.variance - (variance + biasV)) / st.varianceSE;
        report.push(
          `${f.name} t=${tk}: mean ${st.mean.toFixed(4)} vs kernel ${mean.toFixed(4)} + bias ${biasM.toExponential(1)} (${zM.toFixed(1)} SE); ` +
            `var ${st.variance.toPrecision(5)} vs kernel ${variance.toPrecision(5)} + bias ${(biasV / varC).toFixed(4)} rel (${zV.toFixed(1)} SE, SE ${(st.varianceSE / variance).toFixed(4)} rel)`,
        );
        expect(abs(zM)).toBeLessThanOrEqual(4);
        expect(abs(zV)).toBeLessThanOrEqual(4);
      });
    }
    console.log(report.join('\n'));
  });
});

// ---------- perturb ----------

describe('perturb()', () => {
  test('draws have the kernel moments N(meanCoef(t)·x0, std(t)²) at per-sample t', () => {
    // 3 groups of 6000 rows at different t in one call, so a kernel that ignored per-sample t
    // would fail. 12000 draws per group (2 coordinates): mean SE = std/110, variance SE = 1.3%;
    // tolerance 4 SE (no discretization: the kernel is exact).
    const groups = [0.05, 0.4, 0.95];
    const per = 6000;
    const dim = 2;
    const n = per * groups.length;
    const x0row = [1.5, -0.7];
    for (const sde of [new VESDE(), new VPSDE(), new VPSDE({ schedule: 'cosine' }), new SubVPSDE()]) {
      const x0 = new Float64Array(n * dim);
      const t = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        t[i] = groups[Math.floor(i / per)];
        x0.set(x0row, i * dim);
      }
      const z = new Float64Array(n * dim);
      new NoiseSource(77).normal(z, dim, 0, Stream.kernel);
      const out = new Float64Array(n * dim);
      perturb(sde, x0, t, z, out);
      groups.forEach((tg, gi) => {
        const a = sde.meanCoef(tg);
        const s = sde.std(tg);
        for (let j = 0; j < dim; j++) {
          const col = new Float64Array(per);
          for (let i = 0; i < per; i++) col[i] = out[(gi * per + i) * dim + j];
          const st = pooledMeanVar(col);
          expect(abs(st.mean - a * x0row[j])).toBeLessThanOrEqual(4 * st.meanSE);
          expect(abs(st.variance - s * s)).toBeLessThanOrEqual(4 * st.varianceSE);
        }
      });
      // out may alias x0.
      const alias = Float64Array.from(x0);
      perturb(sde, alias, t, z, alias);
      expect(alias).toEqual(out);
    }
  });
});
