/**
 * Time grids (solvers/grids.ts) against closed forms written here: VE σ(t) = σmin(σmax/σmin)^t;
 * VP ᾱ(t) = exp(−½t²Δβ − tβmin), σ_EDM = √(1/ᾱ − 1) = e^{−λ}, λ = ½log(ᾱ/(1 − ᾱ)).
 */
import { GRIDS, GRID_NAMES, SubVPSDE, VESDE, VPSDE, sample, GaussianMixtureScore, timeGrid } from '../index';

const { abs, exp, log, sqrt } = Math;
const rel = (a: number, b: number) => abs(a - b) / abs(b);
const vpAlphaBar = (t: number) => exp(-0.5 * t * t * 19.9 - 0.1 * t);

describe('time grids', () => {
  test('the registry: every grid gives N + 1 points from exactly T to exactly eps, strictly decreasing', () => {
    expect(GRID_NAMES).toEqual(['uniform', 'quadratic', 'edm', 'logsnr']);
    for (const sde of [new VESDE(), new VPSDE(), new SubVPSDE({ T: 2 }), new VPSDE({ schedule: 'cosine' })]) {
      for (const g of GRIDS) {
        for (const [steps, eps] of [[1, 1e-3], [10, 1e-5], [300, 0.01]] as const) {
          const grid = timeGrid(sde, steps, eps, g.name);
          expect(grid.length).toBe(steps + 1);
          expect(grid[0]).toBe(sde.T);
          expect(grid[steps]).toBe(eps);
          for (let i = 0; i < steps; i++) expect(grid[i + 1]).toBeLessThan(grid[i]);
        }
      }
    }
  });

  test('uniform: equal steps; nested grids share their points bitwise', () => {
    const sde = new VPSDE();
    const g10 = timeGrid(sde, 10, 1e-3);
    const g40 = timeGrid(sde, 40, 1e-3);
    for (let i = 0; i < 10; i++) expect(abs(g10[i] - g10[i + 1] - (1 - 1e-3) / 10)).toBeLessThan(1e-15);
    for (let i = 0; i <= 10; i++) expect(g40[4 * i]).toBe(g10[i]);
  });

  test('quadratic: t_i − eps = (T − eps)(1 − i/N)², steps growing towards T', () => {
    const sde = new VESDE();
    const g = timeGrid(sde, 20, 1e-5, 'quadratic');
    for (let i = 0; i <= 20; i++) expect(abs(g[i] - (1e-5 + (1 - 1e-5) * (1 - i / 20) ** 2))).toBeLessThan(1e-15);
    expect(g[19] - g[20]).toBeLessThan(g[0] - g[1]);
  });

  test('edm for VE: σ(t_i) = (σmax^{1/ρ} + i/N (σmin^{1/ρ} − σmax^{1/ρ}))^ρ', () => {
    for (const rho of [7, 3]) {
      const steps = 40;
      const eps = 1e-5;
      const g = timeGrid(new VESDE({ sigmaMin: 0.01, sigmaMax: 50 }), steps, eps, 'edm', { rho });
      const sMax = 0.01 * 5000 ** 1;
      const sMin = 0.01 * 5000 ** eps;
      for (let i = 0; i <= steps; i++) {
        const want = (sMax ** (1 / rho) + (i / steps) * (sMin ** (1 / rho) - sMax ** (1 / rho))) ** rho;
        expect(rel(0.01 * 5000 ** g[i], want)).toBeLessThan(1e-10);
      }
    }
  });

  test("edm for VP: EDM's σ = √(1/ᾱ − 1) (not the kernel std) follows the ρ-formula; default ρ = 7", () => {
    const sde = new VPSDE();
    const steps = 30;
    const eps = 1e-3;
    const sigma = (t: number) => sqrt(1 / vpAlphaBar(t) - 1);
    for (const [params, rho] of [[{ rho: 5 }, 5], [{}, 7]] as const) {
      const g = timeGrid(sde, steps, eps, 'edm', params);
      const hi = sigma(1) ** (1 / rho);
      const lo = sigma(eps) ** (1 / rho);
      for (let i = 1; i < steps; i++) expect(rel(sigma(g[i]), (hi + (i / steps) * (lo - hi)) ** rho)).toBeLessThan(1e-9);
    }
  });

  test('logsnr: λ(t_i) equally spaced between λ(T) and λ(eps), for VP, sub-VP, cosine VP and VE', () => {
    for (const sde of [new VPSDE(), new SubVPSDE(), new VPSDE({ schedule: 'cosine' }), new VESDE()]) {
      const eps = sde.defaultEps;
      const g = timeGrid(sde, 25, eps, 'logsnr');
      const l0 = sde.lambda(sde.T);
      const l1 = sde.lambda(eps);
      for (let i = 1; i < 25; i++) expect(abs(sde.lambda(g[i]) - (l0 + (i / 25) * (l1 - l0)))).toBeLessThan(1e-9 * (1 + abs(l1)));
    }
    // λ against the closed form for VP.
    expect(abs(new VPSDE().lambda(0.4) - 0.5 * log(vpAlphaBar(0.4) / (1 - vpAlphaBar(0.4))))).toBeLessThan(1e-12);
  });

  test('grid parameters only with their grid; unknown grids name the registry', async () => {
    const sde = new VPSDE();
    const model = new GaussianMixtureScore(sde, { means: [[0, 0]] });
    const run = (settings: Record<string, unknown>) => sample({ sde, model, solver: 'ode_euler' as string, settings: { steps: 3, ...settings }, n: 2 });
    await expect(run({ rho: 5 })).rejects.toThrow(/rho applies to grid 'edm' only \(grid is 'uniform'\)/);
    await expect(run({ grid: 'logsnr', rho: 5 })).rejects.toThrow(/rho applies to grid 'edm' only/);
    await expect(run({ grid: 'edm', rho: 5 })).resolves.toBeDefined();
    await expect(run({ grid: 'cosine' })).rejects.toThrow(/grid.*uniform.*quadratic.*edm.*logsnr/s);
    expect(() => timeGrid(sde, 5, 1e-3, 'uniform', { rho: 3 })).toThrow(/grid 'uniform' takes no parameter 'rho'/);
    expect(() => timeGrid(sde, 5, 1e-3, 'log')).toThrow(/unknown time grid 'log': expected one of uniform, quadratic, edm, logsnr/);
  });
});
