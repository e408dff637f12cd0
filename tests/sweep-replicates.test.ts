/**
 * Sweeps with replicates (`seeds`) and object-valued axes: one results row per cell over its
 * seeds (mean and 95% CI, recomputed here from the per-run rows), every run's row kept in
 * results-cells.csv, no column twice, bands in the plot; and the plot's floor line and log axes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cli as runCli } from './support/cli';
import { lineChartSvg } from '../cli/plot';
import { t975 } from '../cli/replicates';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-sweep-replicates-'));
  fs.writeFileSync(path.join(tmp, 'base.yaml'), BASE);
  fs.writeFileSync(path.join(tmp, 'sweep.yaml'), SWEEP);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = (args: string[]) => runCli(args, tmp);

const BASE = `name: tiny
sde: {kind: vp}
model:
  type: mixture
  means: [[-2.0, 0.0], [2.0, 1.0]]
  stds: [0.4, 0.6]
solver: {name: pc, snr: 0.1, norm: batch}
sampling: {n: 200, seed: 3}
output: {preview: false}
`;

// Cells that are no cartesian product (fixed-step solvers at steps, RK45 at a tolerance), 3 seeds each.
const SWEEP = `name: reps
base: base.yaml
axes:
  solver:
    - {name: euler_maruyama, steps: 5}
    - {name: euler_maruyama, steps: 20}
    - {name: ode_rk45, rtol: 1.0e-3}
seeds: [0, 1, 2]
plot: {metric: sw, series: [solver.name]}
`;

function csv(file: string): Record<string, string>[] {
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  const split = (line: string) => line.match(/("[^"]*"|[^,]*)(,|$)/g)!.map((f) => f.replace(/,$/, '').replace(/^"|"$/g, '')).slice(0, -1);
  const head = split(lines[0]);
  return lines.slice(1).map((l) => Object.fromEntries(split(l).map((v, i) => [head[i], v])));
}

describe('sweep replicates', () => {
  test('seeds: mean ± 95% CI per cell, every run kept, no repeated columns, bands in the plot', async () => {
    const r = await cli(['sweep', 'sweep.yaml', '--out', 'out', '-q']);
    expect(r.code).toBe(0);
    const dir = path.join(tmp, 'out');
    expect(fs.readdirSync(path.join(dir, 'cells')).sort()).toEqual(
      ['name=euler_maruyama,steps=5', 'name=euler_maruyama,steps=20', 'name=ode_rk45,rtol=0.001'].flatMap((c) => [0, 1, 2].map((s) => `${c},seed=${s}`)).sort(),
    );
    const res = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8'));
    expect(new Set(res.columns).size).toBe(res.columns.length);
    expect(res.columns.slice(0, 5)).toEqual(['cell', 'solver.name', 'solver.steps', 'solver.rtol', 'seeds']);
    expect(res.columns).toContain('sw.ci95');
    expect(res.columns).not.toContain('solver');
    expect(res.rows.map((row: { cell: string }) => row.cell)).toEqual(['name=euler_maruyama,steps=5', 'name=euler_maruyama,steps=20', 'name=ode_rk45,rtol=0.001']);

    const cells = csv(path.join(dir, 'results-cells.csv'));
    expect(cells).toHaveLength(9);
    expect(cells.map((c) => c['sampling.seed'])).toEqual(['0', '1', '2', '0', '1', '2', '0', '1', '2']);
    const rows = csv(path.join(dir, 'results.csv'));
    for (let g = 0; g < 3; g++) {
      const sw = cells.slice(3 * g, 3 * g + 3).map((c) => Number(c.sw));
      expect(new Set(sw).size).toBe(3); // the seeds gave different samples
      const mean = (sw[0] + sw[1] + sw[2]) / 3;
      const sd = Math.sqrt(sw.reduce((s, v) => s + (v - mean) ** 2, 0) / 2);
      expect(Number(rows[g].sw)).toBeCloseTo(mean, 12);
      expect(Number(rows[g]['sw.ci95'])).toBeCloseTo((t975(2) * sd) / Math.sqrt(3), 12);
      expect(rows[g].seeds).toBe('3');
    }
    expect(rows[2]['solver.steps']).toBe(''); // RK45 picks its own steps
    expect(rows[2]['solver.rtol']).toBe('0.001');

    const svg = fs.readFileSync(path.join(dir, 'quality-vs-nfe.svg'), 'utf8');
    expect((svg.match(/<polyline/g) ?? []).length).toBe(2); // euler_maruyama, ode_rk45
    expect((svg.match(/<polygon/g) ?? []).length).toBe(1); // the band of the 2-point line
    expect(svg).toContain('bands: 95% CI over seeds');
    expect(r.stdout).toMatch(/│ name +│ steps │ rtol +│ nfe │ time \(s\) │ sw +│/);
    expect(r.stdout).toMatch(/\d ± \d/);
  });

  test('seeds and a sampling.seed axis together are a config error; a plot.series outside the axes too', async () => {
    fs.writeFileSync(path.join(tmp, 'both.yaml'), `base: base.yaml\naxes:\n  sampling.seed: [1, 2]\nseeds: [0, 1]\n`);
    const r = await cli(['sweep', 'both.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/both\.yaml:4:\d+: seeds: give either seeds or an axis sampling\.seed, not both/);
    fs.writeFileSync(path.join(tmp, 'series.yaml'), `base: base.yaml\naxes:\n  solver: [{name: pc, steps: 5}]\nplot: {series: [solver.snr]}\n`);
    const s = await cli(['sweep', 'series.yaml']);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/plot\.series: 'solver\.snr' is not an axis; axes: solver, solver\.name, solver\.steps/);
  });

  test('an unknown plot.metric fails after the results are written, naming the metrics there are', async () => {
    fs.writeFileSync(path.join(tmp, 'metric.yaml'), `base: base.yaml\naxes:\n  solver.steps: [5]\nplot: {metric: fid}\n`);
    const r = await cli(['sweep', 'metric.yaml', '--out', 'metric', '-q']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/plot\.metric 'fid' was not computed by this sweep's runs; metrics: sw, mmd2, meanError, covError/);
    expect(fs.existsSync(path.join(tmp, 'metric', 'results.csv'))).toBe(true);
    expect(fs.existsSync(path.join(tmp, 'metric', 'results.json'))).toBe(true);
    // Only the plots are missing, and the message says so (not that the results could not be written).
    expect(r.stderr).toMatch(/no plots: plot\.metric/);
    expect(r.stderr).not.toMatch(/cannot write the results/);
    expect(fs.existsSync(path.join(tmp, 'metric', 'quality-vs-nfe.svg'))).toBe(false);
  });
});

describe('plot: floor line, bands, log axes', () => {
  const series = [{ name: 'a', points: [10, 100, 1000].map((x, i) => ({ x, y: 50 / (i + 1) ** 2, lo: 40 / (i + 1) ** 2, hi: 60 / (i + 1) ** 2 })) }];

  test('a floor draws a dashed line with its label; the y range takes it in', () => {
    const svg = lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series, logX: 'auto', lines: [{ y: 0.5, sd: 0.1, label: 'data floor (n=1000)' }] });
    expect(svg).toContain('stroke-dasharray');
    expect(svg).toContain('data floor (n=1000)');
    expect(svg).toContain('x (log)'); // NFE spans two decades
    expect(svg).toContain('y (log)'); // 0.4 … 60
    expect((svg.match(/<polygon/g) ?? []).length).toBe(1);
  });

  test('linear axes where the data span less than a decade, or a value is ≤ 0 (negative control)', () => {
    const narrow = [{ name: 'a', points: [{ x: 10, y: 1 }, { x: 20, y: 2 }] }];
    const svg = lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: narrow, logX: 'auto' });
    expect(svg).not.toContain('(log)');
    const withZero = lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series, logX: 'auto', lines: [{ y: -0.01, label: 'floor' }] });
    expect(withZero).not.toContain('y (log)');
  });
});
