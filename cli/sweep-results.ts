import * as path from 'path';
import { BUDGET_AXES, LoadedSweep, REPLICATE_AXIS, flattenValues } from '../configs/sweep';
import { writeFileAtomic, writeJsonAtomic } from '../core/files';
import { formatNumber } from './format';
import { Series, lineChartSvg, svgToPng } from './plot';
import { spread } from './replicates';

/**
 * A sweep's results: one row per cell (in cell order) as results.json and results.csv, and the
 * quality-vs-NFE and quality-vs-time plots (.svg and .png), one line per series.
 *
 * Axis values that are objects (an axis `solver: [{name: pc, steps: 10}, …]`) are spread into
 * dotted columns (solver.name, solver.steps); the solver's name and steps appear once, from the
 * axes where they vary, else from each run. With replicates (the sweep's `seeds`), a row is a cell
 * over its seeds: each metric is the mean, with `<metric>.ci95` the half-width of its 95%
 * confidence interval; results-cells.csv and results.json's `cells` keep every run's own row.
 */

export const SWEEP_RESULTS_FORMAT = 'score-sde-sweep/2';
/** Columns that differ between identical runs. */
export const TIMING_COLUMNS = ['wallTimeMs'];
const METRIC_ORDER = [
  'fd', 'kid', 'kidStd', 'classTV', 'confidence', 'sw', 'mmd2', 'meanError', 'covError', 'pixelHist', 'pixelMean', 'pixelStd',
  'refPixelMean', 'refPixelStd', 'fdFloor', 'fdFloorSd', 'kidFloor', 'kidFloorSd', 'classTVFloor', 'refConfidence', 'swFloor',
  'labelAccuracy', 'labelAccuracyFloor',
];
/** Metrics the summary table leaves out (they describe the reference, not the cell). */
const REFERENCE_METRICS = ['refPixelMean', 'refPixelStd', 'refConfidence', 'fdFloor', 'fdFloorSd', 'kidFloor', 'kidFloorSd', 'classTVFloor', 'swFloor', 'labelAccuracyFloor'];

export type CellStatus = 'ok' | 'failed' | 'pending';

export interface ResultRow {
  cell: string;
  /** Axis path → value. */
  values: Record<string, unknown>;
  status: CellStatus;
  solver?: string;
  steps?: number | null;
  nfe?: number;
  calls?: number;
  wallTimeMs?: number;
  metrics: Record<string, number>;
  error?: string;
}

export interface ResultTable {
  columns: string[];
  records: Record<string, unknown>[];
  metricNames: string[];
  /** Whether rows are means over seeds (then `cells` has one record per run). */
  replicates: boolean;
  cells?: { columns: string[]; records: Record<string, unknown>[] };
  /** The columns that come from the axes (spread), without the replicate axis. */
  valueColumns: string[];
}

export function metricNamesOf(rows: ResultRow[]): string[] {
  const names = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.metrics)) names.add(k);
  return [...METRIC_ORDER.filter((m) => names.has(m)), ...[...names].filter((m) => !METRIC_ORDER.includes(m)).sort()];
}

function cellRecord(r: ResultRow, flat: Record<string, unknown>, metricNames: string[]): Record<string, unknown> {
  const rec: Record<string, unknown> = { cell: r.cell, ...flat };
  rec['solver.name'] = flat['solver.name'] ?? r.solver;
  rec['solver.steps'] = 'solver.steps' in flat ? flat['solver.steps'] : r.steps;
  Object.assign(rec, { nfe: r.nfe, calls: r.calls, wallTimeMs: r.wallTimeMs });
  for (const m of metricNames) rec[m] = r.metrics[m];
  rec.status = r.status;
  if (r.error) rec.error = r.error;
  return rec;
}

const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : undefined);

/** The table: one record per cell, or per cell over its seeds when the sweep has replicates. */
export function resultTable(sweep: LoadedSweep, rows: ResultRow[]): ResultTable {
  const metricNames = metricNamesOf(rows);
  const flats = rows.map((r) => flattenValues(r.values));
  const replicates = sweep.axes.some(([k]) => k === REPLICATE_AXIS);
  const valueColumns: string[] = [];
  for (const f of flats) for (const k of Object.keys(f)) if (!valueColumns.includes(k) && !(replicates && k === REPLICATE_AXIS)) valueColumns.push(k);
  const solverColumns = ['solver.name', 'solver.steps'].filter((c) => !valueColumns.includes(c));
  const tail = ['nfe', 'calls', 'wallTimeMs'];
  const perCell = rows.map((r, i) => cellRecord(r, flats[i], metricNames));
  if (!replicates) {
    return { columns: ['cell', ...valueColumns, ...solverColumns, ...tail, ...metricNames, 'status'], records: perCell, metricNames, replicates, valueColumns };
  }
  const cellColumns = ['cell', ...valueColumns, REPLICATE_AXIS, ...solverColumns, ...tail, ...metricNames, 'status'];
  const groups = new Map<string, number[]>();
  flats.forEach((f, i) => {
    const key = JSON.stringify(valueColumns.map((c) => f[c]));
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  const records = [...groups.values()].map((members) => {
    const ok = members.filter((i) => rows[i].status === 'ok');
    const first = perCell[members[0]];
    const rec: Record<string, unknown> = { cell: String(first.cell).replace(/(^|,)(sampling\.)?seed=[^,]*/, '').replace(/^,/, '') || 'all' };
    for (const c of [...valueColumns, ...solverColumns]) rec[c] = first[c];
    rec.seeds = ok.length;
    for (const c of tail) rec[c] = mean(ok.map((i) => perCell[i][c]).filter((v): v is number => typeof v === 'number'));
    for (const m of metricNames) {
      const s = spread(ok.map((i) => rows[i].metrics[m]).filter((v) => v !== undefined));
      if (s.k === 0) continue;
      rec[m] = s.mean;
      if (s.k > 1) rec[`${m}.ci95`] = s.ci95;
    }
    rec.status = ok.length === members.length ? 'ok' : members.some((i) => rows[i].status === 'failed') ? 'failed' : 'pending';
    const error = members.map((i) => rows[i].error).find(Boolean);
    if (error) rec.error = error;
    return rec;
  });
  const columns = ['cell', ...valueColumns, ...solverColumns, 'seeds', ...tail, ...metricNames.flatMap((m) => [m, `${m}.ci95`]), 'status'];
  return { columns, records, metricNames, replicates, cells: { columns: cellColumns, records: perCell }, valueColumns };
}

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(columns: string[], records: Record<string, unknown>[]): string {
  return [columns.map(csvCell).join(','), ...records.map((r) => columns.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
}

/** The axes (spread) whose values make one line each: plot.series, else every axis but the budget and replicate ones. */
export function seriesColumns(sweep: LoadedSweep, table: ResultTable): string[] {
  return sweep.sweep.plot.series ?? table.valueColumns.filter((k) => !BUDGET_AXES.includes(k));
}

/**
 * The series (one line each) of a plot: by the series columns' values, else by solver. Each
 * point's interval is the 95% CI over seeds, or where there are none the metric's own spread
 * (`<metric>Std`, e.g. KID's over subsets).
 */
export function plotSeries(sweep: LoadedSweep, table: ResultTable, metric: string, x: 'nfe' | 'time'): Series[] {
  const keys = seriesColumns(sweep, table);
  const byName = new Map<string, Series>();
  for (const r of table.records) {
    const y = r[metric];
    if (r.status !== 'ok' || typeof y !== 'number') continue;
    const label = keys.length
      ? keys.map((k) => (k === 'solver.name' ? String(r[k]) : `${k.split('.').pop()}=${typeof r[k] === 'string' ? r[k] : JSON.stringify(r[k])}`)).join(' ')
      : String(r['solver.name'] ?? 'run');
    let s = byName.get(label);
    if (!s) byName.set(label, (s = { name: label, points: [] }));
    const half = (r[`${metric}.ci95`] ?? r[`${metric}Std`]) as number | undefined;
    s.points.push({
      x: x === 'nfe' ? (r.nfe as number) : (r.wallTimeMs as number) / 1000,
      y,
      ...(typeof half === 'number' && Number.isFinite(half) ? { lo: y - half, hi: y + half } : {}),
    });
  }
  return [...byName.values()];
}

const METRIC_LABELS: Record<string, string> = {
  fd: 'Fréchet distance (classifier features)',
  kid: 'KID (classifier features)',
  classTV: 'predicted-class TV',
  confidence: 'classifier confidence',
  sw: 'sliced Wasserstein-2',
  mmd2: 'MMD² (RBF, unbiased: < 0 is noise)',
  meanError: '‖mean error‖',
  covError: '‖cov error‖_F',
  pixelHist: 'pixel histogram TV',
};

export interface ResultFiles {
  json: string;
  csv: string;
  plots: string[];
}

/** The plotted metric: plot.metric, else fd, sw or the first there is. */
export function plotMetric(sweep: LoadedSweep, metricNames: string[]): string | undefined {
  const chosen = sweep.sweep.plot.metric;
  if (chosen && metricNames.length && !metricNames.includes(chosen)) {
    throw new Error(`plot.metric '${chosen}' was not computed by this sweep's runs; metrics: ${metricNames.join(', ')} (results.csv and results.json are written)`);
  }
  return chosen ?? ['fd', 'sw'].find((m) => metricNames.includes(m)) ?? metricNames[0];
}

/** Writes results.json, results.csv (and results-cells.csv with replicates) and the plots into the sweep folder. */
export function writeResults(
  sweep: LoadedSweep,
  dir: string,
  rows: ResultRow[],
): { table: ResultTable; columns: string[]; metricNames: string[]; files: ResultFiles; plotError?: string } {
  const table = resultTable(sweep, rows);
  const { columns, records, metricNames } = table;
  const json = path.join(dir, 'results.json');
  const csv = path.join(dir, 'results.csv');
  writeJsonAtomic(json, {
    format: SWEEP_RESULTS_FORMAT,
    name: sweep.name,
    sweepFile: sweep.file,
    axes: Object.fromEntries(sweep.axes),
    columns,
    timingColumns: TIMING_COLUMNS,
    rows: records,
    ...(table.cells ? { cells: table.cells } : {}),
  });
  writeFileAtomic(csv, toCsv(columns, records));
  if (table.cells) writeFileAtomic(path.join(dir, 'results-cells.csv'), toCsv(table.cells.columns, table.cells.records));
  const plots: string[] = [];
  // A plot.metric the runs did not compute costs the plots, not the tables written above.
  let metric: string | undefined;
  try {
    metric = plotMetric(sweep, metricNames);
  } catch (err) {
    return { table, columns, metricNames, files: { json, csv, plots }, plotError: (err as Error).message };
  }
  if (metric) {
    const okRows = rows.filter((r) => r.status === 'ok');
    const floor = mean(okRows.map((r) => r.metrics[`${metric}Floor`]).filter((v) => v !== undefined));
    const floorSd = mean(okRows.map((r) => r.metrics[`${metric}FloorSd`]).filter((v) => v !== undefined));
    const ns = [...new Set(sweep.cells.map((c) => c.config.sampling.n))];
    const band = table.replicates ? 'bands: 95% CI over seeds' : okRows.some((r) => r.metrics[`${metric}Std`] !== undefined) ? `bands: ± ${metric}Std` : '';
    for (const [x, file, xLabel] of [
      ['nfe', 'quality-vs-nfe', 'score evaluations per sample (NFE)'],
      ['time', 'quality-vs-time', 'sampling wall time (s)'],
    ] as const) {
      const svg = lineChartSvg({
        title: `${sweep.name}: ${METRIC_LABELS[metric] ?? metric} vs ${x === 'nfe' ? 'NFE' : 'time'}`,
        subtitle: band || undefined,
        xLabel,
        yLabel: METRIC_LABELS[metric] ?? metric,
        series: plotSeries(sweep, table, metric, x),
        logX: 'auto',
        lines: floor !== undefined ? [{ y: floor, sd: floorSd, label: `data floor${ns.length === 1 ? ` (n=${ns[0]})` : ''}` }] : [],
      });
      writeFileAtomic(path.join(dir, `${file}.svg`), svg);
      plots.push(path.join(dir, `${file}.svg`));
      writeFileAtomic(path.join(dir, `${file}.png`), svgToPng(svg));
      plots.push(path.join(dir, `${file}.png`));
    }
  }
  return { table, columns, metricNames, files: { json, csv, plots } };
}

/** The table printed after a sweep: the axes, NFE, time and the first five metrics (± CI with seeds). */
export function summaryTable(table: ResultTable): string {
  const Table = require('cli-table3') as typeof import('cli-table3');
  const metrics = table.metricNames.filter((m) => !REFERENCE_METRICS.includes(m)).slice(0, 5);
  const head = [...table.valueColumns.map((k) => k.replace(/^solver\./, '')), 'nfe', 'time (s)', ...metrics, ...(table.replicates ? ['seeds'] : []), 'status'];
  const out = new Table({ head, style: { head: [], border: [], compact: true } });
  const cell = (r: Record<string, unknown>, m: string) => {
    const v = r[m];
    if (typeof v !== 'number') return '';
    const ci = r[`${m}.ci95`];
    return typeof ci === 'number' ? `${formatNumber(v)} ± ${formatNumber(ci)}` : formatNumber(v);
  };
  for (const r of table.records) {
    out.push([
      ...table.valueColumns.map((k) => (typeof r[k] === 'string' ? (r[k] as string) : r[k] === undefined || r[k] === null ? '' : JSON.stringify(r[k]))),
      typeof r.nfe === 'number' ? formatNumber(r.nfe) : '',
      typeof r.wallTimeMs === 'number' ? (r.wallTimeMs / 1000).toFixed(2) : '',
      ...metrics.map((m) => cell(r, m)),
      ...(table.replicates ? [String(r.seeds)] : []),
      String(r.status),
    ]);
  }
  return out.toString();
}
