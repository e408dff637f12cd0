/**
 * Small line charts written as SVG by hand (axes, ticks, labels, legend; log axes; intervals as
 * shaded bands; horizontal reference lines such as a floor), and rendered to PNG with
 * @resvg/resvg-js (prebuilt native, offline, system fonts). Used for the sweep plots
 * quality-vs-NFE and quality-vs-time, one line per solver.
 */

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { log10, floor, ceil, pow, min, max, abs } = Math;

export interface Series {
  name: string;
  /** lo/hi: an interval around y (drawn as a shaded band). */
  points: { x: number; y: number; lo?: number; hi?: number }[];
}

/** A horizontal line across the plot (e.g. the metric's floor), with an optional ± sd band. */
export interface ReferenceLine {
  y: number;
  sd?: number;
  label: string;
}

export interface ChartOptions {
  title: string;
  /** A second, smaller title line (e.g. what the bands mean). */
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** 'auto': log when all x > 0 and they span at least a factor 10. Default true. */
  logX?: boolean | 'auto';
  /** 'auto': log when all y > 0 and they span more than a factor 20. Default 'auto'. */
  logY?: boolean | 'auto';
  lines?: ReferenceLine[];
  width?: number;
  height?: number;
}

// Twelve distinct colours: the fast-solver sweep has eleven series.
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#000000', '#aec7e8'];
const FONT = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif";

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Compact number label: 1e-3 → 0.001, 20000 → 2e4. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = abs(v);
  if (a >= 1e5 || a < 1e-3) {
    const e = floor(log10(a));
    const m = v / pow(10, e);
    return `${+m.toPrecision(2)}e${e}`;
  }
  return String(+v.toPrecision(3));
}

function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  const span = log10(hi) - log10(lo);
  const mult = span > 3 ? [1] : span > 1.2 ? [1, 2, 5] : [1, 1.5, 2, 3, 5, 7];
  for (let e = floor(log10(lo)) - 1; e <= ceil(log10(hi)); e++) {
    for (const m of mult) {
      const v = m * pow(10, e);
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push(+v.toPrecision(6));
    }
  }
  return ticks;
}

function linearTicks(lo: number, hi: number, count = 6): number[] {
  const raw = (hi - lo) / count;
  const mag = pow(10, floor(log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(+v.toPrecision(10));
  return ticks;
}

interface Axis {
  lo: number;
  hi: number;
  log: boolean;
  ticks: number[];
}

function makeAxis(values: number[], log: boolean): Axis {
  let lo = min(...values);
  let hi = max(...values);
  if (log) {
    if (!(hi > lo)) {
      lo /= 2;
      hi *= 2;
    }
    const pad = (log10(hi) - log10(lo)) * 0.06;
    lo = pow(10, log10(lo) - pad);
    hi = pow(10, log10(hi) + pad);
    return { lo, hi, log, ticks: logTicks(lo, hi) };
  }
  if (!(hi > lo)) {
    lo -= abs(lo) * 0.5 || 1;
    hi += abs(hi) * 0.5 || 1;
  }
  const pad = (hi - lo) * 0.06;
  lo -= pad;
  hi += pad;
  return { lo, hi, log, ticks: linearTicks(lo, hi) };
}

/** The chart as an SVG document. */
export function lineChartSvg(opts: ChartOptions): string {
  const W = opts.width ?? 760;
  const H = opts.height ?? 460;
  const left = 78;
  const right = 200;
  const top = 44;
  const bottom = 58;
  const pw = W - left - right;
  const ph = H - top - bottom;
  const finite = opts.series.map((s) => s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)));
  const xs = finite.flat().map((p) => p.x);
  const logX = opts.logX === 'auto' ? xs.length > 0 && xs.every((x) => x > 0) && max(...xs) / min(...xs) >= 10 : (opts.logX ?? true);
  const series = opts.series.map((s, i) => ({
    name: s.name,
    points: finite[i].filter((p) => !logX || p.x > 0).sort((a, b) => a.x - b.x),
  }));
  const lines = (opts.lines ?? []).filter((l) => Number.isFinite(l.y));
  const ys = [...series.flatMap((s) => s.points.map((p) => p.y)), ...lines.map((l) => l.y)];
  const positive = ys.length > 0 && ys.every((y) => y > 0);
  const logY = opts.logY === 'auto' || opts.logY === undefined ? positive && max(...ys) / min(...ys) > 20 : opts.logY && positive;
  // Band edges widen the y range where they can be drawn (on a log axis, only positive ones).
  const edges = [
    ...series.flatMap((s) => s.points.flatMap((p) => [p.lo, p.hi])),
    ...lines.flatMap((l) => (l.sd ? [l.y - l.sd, l.y + l.sd] : [])),
  ].filter((v): v is number => v !== undefined && Number.isFinite(v) && (!logY || v > 0));
  const yRange = [...ys, ...edges];
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT}">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${left + pw / 2}" y="${opts.subtitle ? 20 : 26}" font-size="16" text-anchor="middle" font-weight="bold">${escapeXml(opts.title)}</text>`);
  if (opts.subtitle) out.push(`<text x="${left + pw / 2}" y="37" font-size="11" text-anchor="middle" fill="#555">${escapeXml(opts.subtitle)}</text>`);
  const plotted = series.filter((s) => s.points.length > 0);
  if (plotted.length === 0) {
    out.push(`<text x="${left + pw / 2}" y="${top + ph / 2}" font-size="14" text-anchor="middle" fill="#888">no data</text></svg>`);
    return out.join('\n');
  }
  const xa = makeAxis(plotted.flatMap((s) => s.points.map((p) => p.x)), logX);
  const ya = makeAxis(yRange, logY);
  const sx = (v: number) => left + (xa.log ? (log10(v) - log10(xa.lo)) / (log10(xa.hi) - log10(xa.lo)) : (v - xa.lo) / (xa.hi - xa.lo)) * pw;
  const sy = (v: number) => top + ph - (ya.log ? (log10(v) - log10(ya.lo)) / (log10(ya.hi) - log10(ya.lo)) : (v - ya.lo) / (ya.hi - ya.lo)) * ph;
  const f = (v: number) => v.toFixed(2);

  // Grid and ticks.
  for (const t of xa.ticks) {
    const x = f(sx(t));
    out.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + ph}" stroke="#e6e6e6"/>`);
    out.push(`<line x1="${x}" y1="${top + ph}" x2="${x}" y2="${top + ph + 5}" stroke="black"/>`);
    out.push(`<text x="${x}" y="${top + ph + 19}" font-size="12" text-anchor="middle">${escapeXml(formatTick(t))}</text>`);
  }
  for (const t of ya.ticks) {
    const y = f(sy(t));
    out.push(`<line x1="${left}" y1="${y}" x2="${left + pw}" y2="${y}" stroke="#e6e6e6"/>`);
    out.push(`<line x1="${left - 5}" y1="${y}" x2="${left}" y2="${y}" stroke="black"/>`);
    out.push(`<text x="${left - 8}" y="${y}" font-size="12" text-anchor="end" dominant-baseline="middle" dy="4">${escapeXml(formatTick(t))}</text>`);
  }
  out.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  out.push(`<text x="${left + pw / 2}" y="${H - 16}" font-size="13" text-anchor="middle">${escapeXml(opts.xLabel + (xa.log ? ' (log)' : ''))}</text>`);
  out.push(
    `<text x="18" y="${top + ph / 2}" font-size="13" text-anchor="middle" transform="rotate(-90 18 ${top + ph / 2})">${escapeXml(opts.yLabel + (ya.log ? ' (log)' : ''))}</text>`,
  );

  // Reference lines (dashed, grey band ± sd), then bands under the series' lines.
  const clampY = (v: number) => min(max(v, ya.lo), ya.hi);
  const bandY = (v: number) => f(sy(clampY(ya.log && v <= 0 ? ya.lo : v)));
  lines.forEach((l, i) => {
    if (l.sd) {
      const hi = sy(clampY(l.y + l.sd));
      const lo = sy(clampY(ya.log && l.y - l.sd <= 0 ? ya.lo : l.y - l.sd));
      out.push(`<rect x="${left}" y="${f(hi)}" width="${pw}" height="${f(lo - hi)}" fill="#888" fill-opacity="0.15"/>`);
    }
    const y = f(sy(clampY(l.y)));
    out.push(`<line x1="${left}" y1="${y}" x2="${left + pw}" y2="${y}" stroke="#444" stroke-width="1.5" stroke-dasharray="6 4"/>`);
    const ly = top + ph - 10 - i * 16;
    out.push(`<text x="${left + pw + 16}" y="${ly}" font-size="12" fill="#444">– – ${escapeXml(l.label)}</text>`);
  });
  plotted.forEach((s, i) => {
    const banded = s.points.filter((p) => p.lo !== undefined && p.hi !== undefined);
    if (banded.length < 1) return;
    const color = PALETTE[i % PALETTE.length];
    if (banded.length === 1) {
      const p = banded[0];
      out.push(`<line x1="${f(sx(p.x))}" y1="${bandY(p.lo!)}" x2="${f(sx(p.x))}" y2="${bandY(p.hi!)}" stroke="${color}" stroke-width="1.5"/>`);
      return;
    }
    const upper = banded.map((p) => `${f(sx(p.x))},${bandY(p.hi!)}`);
    const lower = banded.map((p) => `${f(sx(p.x))},${bandY(p.lo!)}`).reverse();
    out.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${color}" fill-opacity="0.18" stroke="none"/>`);
  });

  // Lines, markers, legend.
  plotted.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const pts = s.points.map((p) => `${f(sx(p.x))},${f(sy(p.y))}`).join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of s.points) out.push(`<circle cx="${f(sx(p.x))}" cy="${f(sy(p.y))}" r="3.5" fill="${color}"/>`);
    const ly = top + 8 + i * 20;
    const lx = left + pw + 16;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<circle cx="${lx + 11}" cy="${ly}" r="3.5" fill="${color}"/>`);
    out.push(`<text x="${lx + 28}" y="${ly + 4}" font-size="12">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Renders an SVG to PNG bytes with resvg (system fonts). */
export function svgToPng(svg: string): Buffer {
  // Loaded here so that the module (a native addon) is only needed when a plot is drawn.
  const { Resvg } = require('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  const r = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'original' },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return r.render().asPng();
}
