import * as crypto from 'crypto';
import * as path from 'path';
import { z } from 'zod';
import { ConfigError, ConfigIssue } from './errors';
import {
  PathKey,
  Source,
  configName,
  extendChain,
  getPath,
  loadChain,
  locate,
  mergeConfig,
  objectAt,
  parseSet,
  readConfigFile,
  rebasePaths,
  splitPath,
  validateExperiment,
  zodToConfigError,
} from './load';
import { checkExperiment } from './resolve';
import { ExperimentConfig } from './schema';
import { budgetAxes } from '../solvers/registry';

/**
 * A sweep: one base experiment and axes of values to vary, run as the cartesian product.
 *
 *   name: solvers-mixture            # default: the file name
 *   base: ../examples/mixture-vp.yaml   # a config file, or an inline config (which may `extends:`)
 *   axes:                            # dotted config paths → lists of values; first axis outermost
 *     solver.name: [euler_maruyama, pc, ode_heun]
 *     solver.steps: [25, 50, 100]
 *   plot: {metric: sw, series: [solver.name]}
 *   output: {dir: ../../runs/sweeps/solvers-mixture}
 *
 * Every cell keeps the base's seed (and x_T file, if any): the noise is counter-based by seed and
 * sample index, so all cells start from the same prior draws (common random numbers) and differ
 * only by what the axes change. Axis values are merged like --set (so a cell's solver.name drops
 * inherited settings that only other solvers take); path values are relative to the sweep file.
 */

/**
 * Axes whose values move a cell along a quality-vs-cost line rather than start a new line: the
 * settings each solver declares as its budget (solvers/registry.ts).
 */
export const BUDGET_AXES = budgetAxes();

export const sweepConfigSchema = z
  .object({
    name: z.string().min(1).optional().describe('Sweep name. Default: the file name without extension.'),
    description: z.string().optional().describe('Free text. Default none.'),
    base: z
      .union([z.string().min(1), z.record(z.string(), z.unknown())])
      .describe('The base experiment: a config file path, or an inline config (which may use extends). Required.'),
    axes: z
      .record(z.string().regex(/^[A-Za-z_$][\w$]*(\.([A-Za-z_$][\w$]*|\d+))*$/, 'an axis must be a dotted config path such as solver.steps'), z.array(z.unknown()).min(1))
      .refine((a) => Object.keys(a).length > 0, 'give at least one axis')
      .describe('Config paths → lists of values; the cells are their cartesian product. Required.'),
    output: z
      .object({ dir: z.string().min(1).optional().describe('Sweep folder. Default runs/sweeps/<name> under the working directory (the same folder again resumes).') })
      .strict()
      .prefault({})
      .describe('Where the sweep writes. Default: each field\'s default.'),
    plot: z
      .object({
        metric: z.string().optional().describe("Quality metric on the y axis. Default: 'sw' where computed, else the first metric."),
        series: z.array(z.string()).optional().describe(`Axes whose values make one line. Default: every axis except ${BUDGET_AXES.join(', ')}.`),
      })
      .strict()
      .prefault({})
      .describe('The quality-vs-NFE and quality-vs-time plots. Default: each field\'s default.'),
    workers: z.number().int().positive().default(1).describe('Cells run in parallel (worker threads); --workers overrides. Default 1.'),
  })
  .strict();

export type SweepConfig = z.output<typeof sweepConfigSchema>;

export interface SweepCell {
  /** Deterministic folder name from the axes values, e.g. 'name=pc,steps=50'. */
  id: string;
  index: number;
  /** Axis path → value. */
  values: Record<string, unknown>;
  config: ExperimentConfig;
}

export interface LoadedSweep {
  file: string;
  name: string;
  sweep: SweepConfig;
  /** The base config file (or the sweep file for an inline base). */
  baseFile: string;
  axes: [string, unknown[]][];
  cells: SweepCell[];
}

/** Loads a sweep, validates every cell (ConfigError naming the cell), and returns the cells in order. */
export function loadSweep(file: string, opts: { sets?: readonly string[]; cwd?: string } = {}): LoadedSweep {
  const cwd = opts.cwd ?? process.cwd();
  const abs = path.resolve(cwd, file);
  const parsedFile = readConfigFile(abs, 'sweep');
  const fileSource: Source & { kind: 'file' } = { kind: 'file', file: abs, doc: parsedFile.doc, lc: parsedFile.lc, prefix: [] };
  const parsed = sweepConfigSchema.safeParse(parsedFile.value);
  if (!parsed.success) throw zodToConfigError(parsed.error, parsedFile.value, [fileSource], sweepConfigSchema);
  const sweep = parsed.data;
  const dir = path.dirname(abs);
  if (sweep.output.dir) sweep.output.dir = path.resolve(dir, sweep.output.dir);

  // The base, with what it extends, then --set.
  let chain: { raw: Record<string, unknown>; sources: Source[] };
  let baseFile: string;
  if (typeof sweep.base === 'string') {
    baseFile = path.resolve(dir, sweep.base);
    chain = loadChain(baseFile, [abs]);
  } else {
    baseFile = abs;
    chain = extendChain(sweep.base, { ...fileSource, prefix: ['base'] }, dir, [abs]);
  }
  let baseRaw = chain.raw;
  const baseSources = [...chain.sources];
  for (const expr of opts.sets ?? []) {
    const { path: keyPath, value } = parseSet(expr, cwd);
    baseRaw = mergeConfig(baseRaw, objectAt(keyPath, value)) as Record<string, unknown>;
    baseSources.unshift({ kind: 'override', origin: `--set ${expr}`, file: abs, path: keyPath });
  }

  const axes = Object.entries(sweep.axes);
  const combos = cartesian(axes.map(([, values]) => values.map((_, i) => i)));
  const ids = cellIds(axes, combos);
  const cells: SweepCell[] = [];
  const issues: ConfigIssue[] = [];
  const name = sweep.name ?? configName(abs);
  combos.forEach((combo, index) => {
    const values: Record<string, unknown> = {};
    let raw = baseRaw;
    const sources: Source[] = [];
    combo.forEach((vi, a) => {
      const [key, list] = axes[a];
      const keyPath = splitPath(key);
      const probe = objectAt(keyPath, list[vi]);
      rebasePaths(probe, dir);
      const value = getPath(probe, keyPath);
      values[key] = list[vi];
      raw = mergeConfig(raw, objectAt(keyPath, value)) as Record<string, unknown>;
      sources.unshift({ kind: 'override', origin: `sweep cell ${ids[index]}`, file: abs, path: keyPath, doc: parsedFile.doc, lc: parsedFile.lc, docPath: ['axes', key, vi] });
    });
    if (!('name' in values)) raw = { ...raw, name: `${name}.${ids[index]}` };
    try {
      const all = [...sources, ...baseSources];
      const config = validateExperiment(raw, all, baseFile);
      checkExperiment(config, all);
      cells.push({ id: ids[index], index, values, config });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const i of err.issues) issues.push({ ...i, origin: i.origin ?? `sweep cell ${ids[index]}` });
    }
  });
  if (issues.length) throw new ConfigError(dedupe(issues));
  const axisKeys = axes.map(([k]) => k);
  for (const s of sweep.plot.series ?? []) {
    if (!axisKeys.includes(s)) {
      throw ConfigError.at({ ...locate([fileSource], ['plot', 'series']), path: 'plot.series', message: `'${s}' is not an axis; axes: ${axisKeys.join(', ')}`, value: s, hasValue: true });
    }
  }
  return { file: abs, name, sweep, baseFile, axes, cells };
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.file}:${i.line}:${i.col}:${i.path}:${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function cartesian(lists: number[][]): number[][] {
  return lists.reduce<number[][]>((acc, list) => acc.flatMap((prefix) => list.map((v) => [...prefix, v])), [[]]);
}

function valueText(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return s.replace(/[^A-Za-z0-9._+-]+/g, '_');
}

/**
 * Folder names from the axes values: 'name=pc,steps=50' (the last path segment where that is
 * unique among the axes, else the whole path). Ids that would be long or collide get a hash of
 * the values appended.
 */
export function cellIds(axes: [string, unknown[]][], combos: number[][]): string[] {
  const last = axes.map(([k]) => k.split('.').pop()!);
  const short = axes.map(([k], i) => (last.filter((l) => l === last[i]).length > 1 ? k : last[i]));
  const raw = combos.map((combo) => combo.map((vi, a) => `${short[a]}=${valueText(axes[a][1][vi])}`).join(','));
  const counts = new Map<string, number>();
  for (const id of raw) counts.set(id, (counts.get(id) ?? 0) + 1);
  return raw.map((id, i) => {
    if (id.length <= 120 && counts.get(id) === 1) return id;
    const hash = crypto
      .createHash('sha256')
      .update(JSON.stringify(combos[i].map((vi, a) => axes[a][1][vi])))
      .digest('hex')
      .slice(0, 10);
    return `${id.slice(0, 100)}~${hash}`;
  });
}

export type { PathKey };
