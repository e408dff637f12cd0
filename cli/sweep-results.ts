import * as path from 'path';
import { BUDGET_AXES, LoadedSweep } from '../configs/sweep';
import { writeFileAtomic, writeJsonAtomic } from '../core/files';
import { Series, lineChartSvg, svgToPng } from './plot';

/**
 * A sweep's results: one row per cell (in cell order) as results.json and results.csv, and the
 * quality-vs-NFE and quality-vs-time plots (.svg and .png), one line per series.
 */

export const SWEEP_RESULTS_FORMAT = 'score-sde-sweep/1';
/** Columns that differ between identical runs. */
export const TIMING_COLUMNS = ['wallTimeMs'];
const METRIC_ORDER = ['sw', 'mmd2', 'meanError', 'covError', 'pixelHist', 'pixelMean', 'pixelStd', 'refPixelMean', 'refPixelStd'];

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

export function metricNamesOf(rows: ResultRow[]): string[] {
  const names = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.metrics)) names.add(k);
  return [...METRIC_ORDER.filter((m) => names.has(m)), ...[...names].filter((m) => !METRIC_ORDER.includes(m)).sort()];
}

/** The table as records: cell, axes, solver, steps, nfe, calls, wallTimeMs, metrics, status. */
export function flatRows(rows: ResultRow[], axisKeys: string[], metricNames: string[]): { columns: string[]; records: Record<string, unknown>[] } {
  const columns = ['cell', ...axisKeys, 'solver', 'steps', 'nfe', 'calls', 'wallTimeMs', ...metricNames, 'status'];
  const records = rows.map((r) => {
    const rec: Record<string, unknown> = { cell: r.cell };
    for (const k of axisKeys) rec[k] = r.values[k];
    Object.assign(rec, { solver: r.solver, steps: r.steps, nfe: r.nfe, calls: r.calls, wallTimeMs: r.wallTimeMs });
    for (const m of metricNames) rec[m] = r.metrics[m];
    rec.status = r.status;
    if (r.error) rec.error = r.error;
    return rec;
  });
  return { columns, records };
}

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(columns: string[], records: Record<string, unknown>[]): string {
  return [columns.map(csvCell).join(','), ...records.map((r) => columns.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
}

/** The series (one line each) of the plots: by the series axes' values, else by solver. */
export function plotSeries(sweep: LoadedSweep, rows: ResultRow[], metric: string, x: 'nfe' | 'time'): Series[] {
  const axisKeys = sweep.axes.map(([k]) => k);
  const seriesAxes = sweep.sweep.plot.series ?? axisKeys.filter((k) => !BUDGET_AXES.includes(k));
  const byName = new Map<string, Series>();
  for (const r of rows) {
    if (r.status !== 'ok' || r.metrics[metric] === undefined) continue;
    const label = seriesAxes.length
      ? seriesAxes.map((k) => (k === 'solver.name' ? String(r.values[k]) : `${k.split('.').pop()}=${typeof r.values[k] === 'string' ? r.values[k] : JSON.stringify(r.values[k])}`)).join(' ')
      : (r.solver ?? 'run');
    let s = byName.get(label);
    if (!s) byName.set(label, (s = { name: label, points: [] }));
    s.points.push({ x: x === 'nfe' ? r.nfe! : r.wallTimeMs! / 1000, y: r.metrics[metric] });
  }
  return [...byName.values()];
}

const METRIC_LABELS: Record<string, string> = {
  sw: 'sliced Wasserstein-2',
  mmd2: 'MMD² (RBF)',
  meanError: '‖mean error‖',
  covError: '‖cov error‖_F',
  pixelHist: 'pixel histogram TV',
};

export interface ResultFiles {
  json: string;
  csv: string;
  plots: string[];
}

/** Writes results.json, results.csv and the plots into the sweep folder. */
export function writeResults(sweep: LoadedSweep, dir: string, rows: ResultRow[]): { columns: string[]; metricNames: string[]; files: ResultFiles } {
  const axisKeys = sweep.axes.map(([k]) => k);
  const metricNames = metricNamesOf(rows);
  const { columns, records } = flatRows(rows, axisKeys, metricNames);
  const json = path.join(dir, 'results.json');
  const csv = path.join(dir, 'results.csv');
  writeJsonAtomic(json, { format: SWEEP_RESULTS_FORMAT, name: sweep.name, sweepFile: sweep.file, axes: Object.fromEntries(sweep.axes), columns, timingColumns: TIMING_COLUMNS, rows: records });
  writeFileAtomic(csv, toCsv(columns, records));
  const plots: string[] = [];
  const metric = sweep.sweep.plot.metric ?? (metricNames.includes('sw') ? 'sw' : metricNames[0]);
  if (metric) {
    for (const [x, file, xLabel] of [
      ['nfe', 'quality-vs-nfe', 'score evaluations per sample (NFE)'],
      ['time', 'quality-vs-time', 'sampling wall time (s)'],
    ] as const) {
      const svg = lineChartSvg({
        title: `${sweep.name}: ${METRIC_LABELS[metric] ?? metric} vs ${x === 'nfe' ? 'NFE' : 'time'}`,
        xLabel,
        yLabel: METRIC_LABELS[metric] ?? metric,
        series: plotSeries(sweep, rows, metric, x),
        logX: true,
      });
      writeFileAtomic(path.join(dir, `${file}.svg`), svg);
      plots.push(path.join(dir, `${file}.svg`));
      writeFileAtomic(path.join(dir, `${file}.png`), svgToPng(svg));
      plots.push(path.join(dir, `${file}.png`));
    }
  }
  return { columns, metricNames, files: { json, csv, plots } };
}
