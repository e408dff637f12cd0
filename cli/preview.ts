import { PNG } from 'pngjs';

// Short module-level names for the Math functions of the hot loops (jest.config.js injects the real Math into tests).
const { floor, round, min, max, ceil } = Math;

/**
 * Preview images of a sample set, drawn straight into pixels with pngjs:
 *   2-D (and higher-dimensional vectors: the first two coordinates): a scatter plot, reference
 *   points in grey under the samples in blue, inside an axes box with light lines at x = 0, y = 0;
 *   1-D: histograms (samples filled, reference outlined);
 *   images ([C, H, W] with C = 1 or 3, or [H, W]): a grid of the first grid × grid samples,
 *   mapped from the data range to 0–255 and upscaled.
 */

type RGB = readonly [number, number, number];

class Canvas {
  readonly png: PNG;
  constructor(
    readonly width: number,
    readonly height: number,
    bg: RGB,
  ) {
    this.png = new PNG({ width, height });
    const d = this.png.data;
    for (let i = 0; i < width * height; i++) {
      d[4 * i] = bg[0];
      d[4 * i + 1] = bg[1];
      d[4 * i + 2] = bg[2];
      d[4 * i + 3] = 255;
    }
  }

  /** Alpha-blends a color into pixel (x, y). */
  blend(x: number, y: number, c: RGB, alpha = 1): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const d = this.png.data;
    const i = 4 * (y * this.width + x);
    d[i] = round(d[i] * (1 - alpha) + c[0] * alpha);
    d[i + 1] = round(d[i + 1] * (1 - alpha) + c[1] * alpha);
    d[i + 2] = round(d[i + 2] * (1 - alpha) + c[2] * alpha);
  }

  rect(x0: number, y0: number, w: number, h: number, c: RGB, alpha = 1): void {
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) this.blend(x, y, c, alpha);
  }

  hline(x0: number, x1: number, y: number, c: RGB): void {
    for (let x = x0; x <= x1; x++) this.blend(x, y, c);
  }

  vline(x: number, y0: number, y1: number, c: RGB): void {
    for (let y = y0; y <= y1; y++) this.blend(x, y, c);
  }

  encode(): Buffer {
    // The 'Sub' filter on every row: pngjs's default adaptive filtering tries five filters per row
    // in JavaScript (~2 s for 512×512 inside jest's vm), for little gain on plots like these.
    return PNG.sync.write(this.png, { filterType: 1 });
  }
}

const WHITE: RGB = [255, 255, 255];
const BLACK: RGB = [0, 0, 0];
const GRID: RGB = [225, 225, 225];
const REF: RGB = [150, 150, 150];
const BLUE: RGB = [31, 119, 180];

export interface ScatterOptions {
  reference?: ArrayLike<number>;
  /** Reference rows' dimension (default: dim). */
  size?: number;
  maxPoints?: number;
}

/** Bounds holding the bulk of the points: 0.5–99.5 % quantiles, widened by 10 %. */
function bounds(values: Float64Array): [number, number] {
  const s = Float64Array.from(values).sort();
  const finite = s.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return [-1, 1];
  let lo = finite[floor(0.005 * (finite.length - 1))];
  let hi = finite[ceil(0.995 * (finite.length - 1))];
  if (!(hi > lo)) {
    lo -= 1;
    hi += 1;
  }
  const pad = 0.1 * (hi - lo);
  return [lo - pad, hi + pad];
}

function column(x: ArrayLike<number>, dim: number, d: number, limit: number): Float64Array {
  const n = min(floor(x.length / dim), limit);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = x[i * dim + d];
  return out;
}

/** Scatter plot (dim ≥ 2: coordinates 0 and 1) or histogram (dim 1) as PNG bytes. */
export function scatterPng(samples: ArrayLike<number>, dim: number, opts: ScatterOptions = {}): Buffer {
  const size = opts.size ?? 512;
  const limit = opts.maxPoints ?? 5000;
  const margin = 16;
  const c = new Canvas(size, size, WHITE);
  const inner = size - 2 * margin;
  if (dim === 1) return histogramPng(c, samples, opts.reference, margin, inner);
  const sx = column(samples, dim, 0, limit);
  const sy = column(samples, dim, 1, limit);
  const rx = opts.reference ? column(opts.reference, dim, 0, limit) : undefined;
  const ry = opts.reference ? column(opts.reference, dim, 1, limit) : undefined;
  // Equal scales on both axes, so circles stay circles; bounds from the reference where there is one.
  const [x0, x1] = bounds(rx ?? sx);
  const [y0, y1] = bounds(ry ?? sy);
  const span = max(x1 - x0, y1 - y0);
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const px = (v: number) => margin + floor(((v - (cx - span / 2)) / span) * inner);
  const py = (v: number) => margin + inner - 1 - floor(((v - (cy - span / 2)) / span) * inner);
  if (cx - span / 2 < 0 && cx + span / 2 > 0) c.vline(px(0), margin, margin + inner - 1, GRID);
  if (cy - span / 2 < 0 && cy + span / 2 > 0) c.hline(margin, margin + inner - 1, py(0), GRID);
  const inside = (x: number, y: number) => x >= margin && y >= margin && x < margin + inner && y < margin + inner;
  if (rx && ry) {
    for (let i = 0; i < rx.length; i++) {
      const x = px(rx[i]);
      const y = py(ry[i]);
      if (inside(x, y)) c.rect(x, y, 2, 2, REF, 0.35);
    }
  }
  for (let i = 0; i < sx.length; i++) {
    const x = px(sx[i]);
    const y = py(sy[i]);
    if (inside(x, y)) c.rect(x, y, 2, 2, BLUE, 0.5);
  }
  box(c, margin, inner);
  return c.encode();
}

function box(c: Canvas, margin: number, inner: number): void {
  c.hline(margin - 1, margin + inner, margin - 1, BLACK);
  c.hline(margin - 1, margin + inner, margin + inner, BLACK);
  c.vline(margin - 1, margin - 1, margin + inner, BLACK);
  c.vline(margin + inner, margin - 1, margin + inner, BLACK);
}

function histogramPng(c: Canvas, samples: ArrayLike<number>, reference: ArrayLike<number> | undefined, margin: number, inner: number): Buffer {
  const s = Float64Array.from(samples);
  const [lo, hi] = bounds(reference ? Float64Array.from(reference) : s);
  const bins = 64;
  const count = (x: ArrayLike<number>) => {
    const h = new Float64Array(bins);
    for (let i = 0; i < x.length; i++) {
      const k = floor(((x[i] - lo) / (hi - lo)) * bins);
      if (k >= 0 && k < bins) h[k] += 1 / x.length;
    }
    return h;
  };
  const hs = count(s);
  const hr = reference ? count(reference) : undefined;
  let top = 0;
  for (let k = 0; k < bins; k++) top = max(top, hs[k], hr ? hr[k] : 0);
  const w = floor(inner / bins);
  for (let k = 0; k < bins; k++) {
    const h = round((hs[k] / (top || 1)) * (inner - 4));
    c.rect(margin + k * w, margin + inner - h, w - 1, h, BLUE, 0.7);
    if (hr) {
      const hh = round((hr[k] / (top || 1)) * (inner - 4));
      c.hline(margin + k * w, margin + (k + 1) * w - 1, margin + inner - hh, REF);
    }
  }
  box(c, margin, inner);
  return c.encode();
}

export interface ImageGridOptions {
  /** Images per side. Default 8. */
  grid?: number;
  /** Images per row instead of `grid` (then `rows` rows). */
  columns?: number;
  /** Rows with `columns`. Default: enough for all images. */
  rows?: number;
  /** Pixel upscaling. Default 2. */
  scale?: number;
  /** Data range mapped to black … white. Default: the samples' min/max. */
  range?: readonly [number, number];
}

/**
 * A grid of the first grid² images ([C, H, W], C = 1 or 3, or [H, W]) as PNG bytes; or, with
 * `columns`, of the first columns × rows images, row by row.
 */
export function imageGridPng(samples: ArrayLike<number>, shape: readonly number[], opts: ImageGridOptions = {}): Buffer {
  const grid = opts.grid ?? 8;
  const scale = opts.scale ?? 2;
  const [C, H, W] = shape.length === 2 ? [1, shape[0], shape[1]] : [shape[0], shape[shape.length - 2], shape[shape.length - 1]];
  const per = shape.reduce((a, b) => a * b, 1);
  const n = floor(samples.length / per);
  const across = opts.columns ?? grid;
  const count = min(n, opts.columns ? across * (opts.rows ?? ceil(n / across)) : grid * grid);
  const cols = max(1, min(across, count));
  const rows = max(1, ceil(count / cols));
  const gap = 2;
  let [lo, hi] = opts.range ?? [Infinity, -Infinity];
  if (!opts.range) {
    for (let i = 0; i < count * per; i++) {
      lo = min(lo, samples[i]);
      hi = max(hi, samples[i]);
    }
  }
  if (!(hi > lo)) hi = lo + 1;
  const cw = W * scale;
  const ch = H * scale;
  const c = new Canvas(cols * (cw + gap) + gap, rows * (ch + gap) + gap, [40, 40, 40]);
  const d = c.png.data;
  const level = (v: number) => {
    const u = ((v - lo) / (hi - lo)) * 255;
    return u < 0 ? 0 : u > 255 ? 255 : u !== u ? 0 : round(u);
  };
  for (let k = 0; k < count; k++) {
    const ox = gap + (k % cols) * (cw + gap);
    const oy = gap + floor(k / cols) * (ch + gap);
    const base = k * per;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const rgb = C >= 3 ? [0, 1, 2].map((ci) => level(samples[base + ci * H * W + y * W + x])) : [level(samples[base + y * W + x])];
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) {
            const i = 4 * ((oy + y * scale + sy) * c.width + ox + x * scale + sx);
            d[i] = rgb[0];
            d[i + 1] = rgb[rgb.length > 1 ? 1 : 0];
            d[i + 2] = rgb[rgb.length > 1 ? 2 : 0];
            d[i + 3] = 255;
          }
        }
      }
    }
  }
  return c.encode();
}

/** The preview for a sample shape: an image grid for images, else a scatter/histogram. */
export function previewPng(
  samples: ArrayLike<number>,
  shape: readonly number[],
  opts: { reference?: ArrayLike<number>; grid?: number; scale?: number; range?: readonly [number, number]; maxPoints?: number } = {},
): Buffer {
  if (shape.length >= 2) return imageGridPng(samples, shape, opts);
  return scatterPng(samples, shape[0], { reference: opts.reference, maxPoints: opts.maxPoints });
}
