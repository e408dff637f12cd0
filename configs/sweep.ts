import * as crypto from 'crypto';
import * as path from 'path';
import { z } from 'zod';
import { ConfigError, ConfigIssue } from './errors';
import { LIMITS } from './limits';
import {
  PathKey,
  Source,
  applyOverride,
  checkKeyPath,
  configName,
  extendChain,
  getPath,
  loadChain,
  locate,
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
 *   seeds: [0, 1, 2]                 # optional replicates: every cell once per seed → mean ± 95% CI
 *   plot: {metric: sw, series: [solver.name]}
 *   output: {dir: ../../runs/sweeps/solvers-mixture}
 *
 * An axis may also vary a whole object, for cells that are no cartesian product:
 *   axes:
 *     solver: [{name: pc, steps: 50}, {name: ode_rk45, rtol: 1e-3}]
 * Its values are spread into dotted columns (solver.name, solver.steps, solver.rtol) in the results,
 * the cell ids ('name=pc,steps=50') and plot.series.
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

/** The axis the sweep's `seeds` become: its values are replicates of a cell, not different cells. */
export const REPLICATE_AXIS = 'sampling.seed';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Axis values with object values spread into dotted paths: {solver: {name: pc}} → {'solver.name': 'pc'}. */
export function flattenValues(values: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    if (isPlainObject(v)) Object.assign(out, flattenValues(v, `${prefix}${k}.`));
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

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
        metric: z
          .string()
          .optional()
          .describe("Quality metric on the y axis, by name: fd | kid | classTV | confidence | sw | mmd2 | meanError | … (a metric the runs compute). Default: 'fd' where computed, else 'sw', else the first metric."),
        series: z
          .array(z.string())
          .optional()
          .describe(`Axes (or dotted columns of object axes, e.g. solver.name) whose values make one line. Default: every axis except ${BUDGET_AXES.join(', ')} and the seeds.`),
      })
      .strict()
      .prefault({})
      .describe('The quality-vs-NFE and quality-vs-time plots. Default: each field\'s default.'),
    workers: z.number().int().positive().default(1).describe('Cells run in parallel (worker threads); --workers overrides. Default 1.'),
    seeds: z
      .array(z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER))
      .min(1)
      .refine((v) => new Set(v).size === v.length, 'seeds must be distinct')
      .optional()
      .describe(
        `Replicates: every cell runs once per seed (an innermost axis ${REPLICATE_AXIS}); the results give each metric's mean and 95% confidence interval over the seeds, and the plots draw it as a band. Default: the base's one seed.`,
      ),
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
    baseRaw = applyOverride(baseRaw, keyPath, value, { file: '--set', origin: `--set ${expr}` });
    baseSources.unshift({ kind: 'override', origin: `--set ${expr}`, file: abs, path: keyPath });
  }

  const axes = Object.entries(sweep.axes);
  if (sweep.seeds) {
    if (REPLICATE_AXIS in sweep.axes) {
      throw ConfigError.at({ ...locate([fileSource], ['seeds']), path: 'seeds', message: `give either seeds or an axis ${REPLICATE_AXIS}, not both`, value: sweep.seeds, hasValue: true });
    }
    axes.push([REPLICATE_AXIS, sweep.seeds]);
  }
  for (const [key] of axes) checkKeyPath(splitPath(key), { ...locate([fileSource], ['axes', key], true), origin: `axes ${key}` });
  // The product of the axes' lengths, before any cell is built.
  const cellCount = axes.reduce((p, [, values]) => p * values.length, 1);
  if (cellCount > LIMITS.sweepCells) {
    throw ConfigError.at({
      ...locate([fileSource], ['axes'], true),
      path: 'axes',
      message: `${cellCount} cells (${axes.map(([, v]) => v.length).join(' × ')}) exceed the limit of ${LIMITS.sweepCells} cells per sweep; split it into several sweeps`,
    });
  }
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
      raw = applyOverride(raw, keyPath, value, { file: abs, origin: `sweep cell ${ids[index]}` });
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
  const axisKeys = [...new Set(axes.flatMap(([k, values]) => [k, ...values.flatMap((v) => (isPlainObject(v) ? Object.keys(flattenValues({ [k]: v })) : []))]))];
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
  const part = (a: number, v: unknown) =>
    isPlainObject(v)
      ? Object.entries(flattenValues(v)).map(([k, x]) => `${k.split('.').pop()}=${valueText(x)}`).join(',')
      : `${short[a]}=${valueText(v)}`;
  const raw = combos.map((combo) => combo.map((vi, a) => part(a, axes[a][1][vi])).join(','));
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
