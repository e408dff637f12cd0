import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { z } from 'zod';
import { SOLVERS } from '../solvers/registry';
import { InputFileError, readInputFile, statInputFile } from '../core/files';
import { ConfigError, ConfigIssue } from './errors';
import { PathKey, Source, locate } from './locate';
import { FORBIDDEN_KEYS, LIMITS, findDeepNesting, findIndexBeyondEnd, findUnsafeKey, forbiddenKeyMessage } from './limits';
import { allowedKeys, describeType, objectShape, schemaAt, unionOptions } from './introspect';
import { ExperimentConfig, PATH_FIELDS, PATH_FIELD_KEYWORDS, experimentConfigSchema, referenceIsPath } from './schema';

/**
 * Loading configs: YAML or JSON files, `extends`, `--set` overrides, validation with errors that
 * point at the file, line and column of the bad value.
 *
 *   extends: base.yaml           (or a list, merged left to right, then this file on top)
 *     Deep merge, child wins. Objects merge key by key; arrays and scalars are replaced; a null
 *     deletes the inherited key. Where a child names `solver.name`, `model.type` or `sde.kind`,
 *     inherited keys that only other variants take are dropped (pc's solver.snr does not follow
 *     a switch to ode_heun); keys written beside the name, and keys no variant takes (typos),
 *     are kept and validated.
 *     Paths are resolved against the folder of the file that writes them; cycles are errors.
 *   --set path.to.key=value      value parsed as YAML (so JSON too): 0.1, true, [1, 2], {a: 1},
 *     null (deletes); paths in values are relative to the working directory. Applied in order
 *     after all files, with the same merge rules.
 */

export type { PathKey, Source };
export { locate };

export interface LoadedConfig {
  /** The config file (absolute). */
  file: string;
  /** Every file read: the config first, then what it extends, depth first. */
  files: string[];
  /** The merged document before validation, paths absolute. */
  raw: Record<string, unknown>;
  /** Validated, defaults filled, `name` set. */
  config: ExperimentConfig;
  sources: Source[];
}

export interface LoadOptions {
  /** `path.to.key=value` overrides, applied in order. */
  sets?: readonly string[];
  /** Folder that --set paths are relative to. Default process.cwd(). */
  cwd?: string;
}

/** Loads, merges and validates an experiment config. Throws ConfigError. */
export function loadConfig(file: string, opts: LoadOptions = {}): LoadedConfig {
  const abs = path.resolve(opts.cwd ?? process.cwd(), file);
  const chain = loadChain(abs, []);
  let raw = chain.raw;
  const sources = [...chain.sources];
  for (const expr of opts.sets ?? []) {
    const { path: keyPath, value } = parseSet(expr, opts.cwd ?? process.cwd());
    raw = applyOverride(raw, keyPath, value, { file: '--set', origin: `--set ${expr}` });
    sources.unshift({ kind: 'override', origin: `--set ${expr}`, file: abs, path: keyPath });
  }
  const config = validateExperiment(raw, sources, abs);
  return { file: abs, files: chain.files, raw, config, sources };
}

/** Validates a merged raw config; `file` names the default run name. */
export function validateExperiment(raw: Record<string, unknown>, sources: Source[], file: string): ExperimentConfig {
  const parsed = experimentConfigSchema.safeParse(raw);
  if (!parsed.success) throw zodToConfigError(parsed.error, raw, sources, experimentConfigSchema);
  const config = parsed.data;
  config.name ??= configName(file);
  return config;
}

export function configName(file: string): string {
  return path.basename(file).replace(/\.(ya?ml|json)$/i, '');
}

// ---------------------------------------------------------------------------------------------
// Files and extends

export interface ParsedFile {
  file: string;
  doc: YAML.Document;
  lc: YAML.LineCounter;
  value: Record<string, unknown>;
}

/**
 * Merges `value` at `keyPath` over `raw` (an override: --set, a sweep axis), after checking the
 * path: no reserved keys, list indices at most one past the end.
 */
export function applyOverride(raw: Record<string, unknown>, keyPath: PathKey[], value: unknown, where: { file?: string; origin: string }): Record<string, unknown> {
  checkKeyPath(keyPath, where);
  const unsafe = findUnsafeKey(value, keyPath);
  if (unsafe) throw ConfigError.at({ file: where.file, path: unsafe.path.join('.'), message: unsafe.message, origin: where.origin });
  const beyond = findIndexBeyondEnd(raw, keyPath);
  if (beyond) throw ConfigError.at({ file: where.file, path: beyond.path.join('.'), message: beyond.message, origin: where.origin });
  return mergeConfig(raw, objectAt(keyPath, value)) as Record<string, unknown>;
}

/** Rejects a path through a reserved key (__proto__, constructor, prototype). */
export function checkKeyPath(keyPath: readonly PathKey[], where: Partial<ConfigIssue>): void {
  const bad = keyPath.find((k) => typeof k === 'string' && FORBIDDEN_KEYS.includes(k));
  if (bad !== undefined) throw ConfigError.at({ ...where, path: keyPath.join('.'), message: forbiddenKeyMessage(String(bad)) });
}

/** Reads one YAML or JSON file into a mapping; syntax errors carry line:col. */
export function readConfigFile(file: string, what = 'config'): ParsedFile {
  let text: string;
  try {
    text = readInputFile(file, LIMITS.configFileBytes).toString('utf8');
  } catch (err) {
    const reason = err instanceof InputFileError ? err.reason : (err as Error).message;
    throw ConfigError.at({ file, path: '', message: reason === 'file not found' ? `${what} file not found` : `cannot read ${what} file: ${reason}` });
  }
  const deep = findDeepNesting(text);
  if (deep) throw ConfigError.at({ file, path: '', line: deep.line, col: deep.col, message: `nested more than ${LIMITS.configDepth} levels deep (the limit for a config)` });
  const lc = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(
      doc.errors.map((e) => ({
        file,
        path: '',
        line: e.linePos?.[0].line,
        col: e.linePos?.[0].col,
        message: `${/\.json$/i.test(file) ? 'JSON' : 'YAML'} syntax error: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:$/, '')}`,
      })),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 }) as unknown;
  } catch (err) {
    // yaml's guard against "billion laughs" documents: aliases that expand without bound.
    throw ConfigError.at({ file, path: '', message: `YAML aliases expand too far (${(err as Error).message}); write the values out or use fewer *aliases` });
  }
  if (value === null || value === undefined) throw ConfigError.at({ file, path: '', message: `${what} file is empty` });
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw ConfigError.at({ file, path: '', line: 1, col: 1, message: `${what} must be a mapping of keys to values`, value, hasValue: true });
  }
  const unsafe = findUnsafeKey(value);
  if (unsafe) {
    const src: Source = { kind: 'file', file, doc, lc, prefix: [] };
    throw ConfigError.at({ ...locate([src], unsafe.path, true), file, path: unsafe.path.join('.'), message: unsafe.message });
  }
  return { file, doc, lc, value: value as Record<string, unknown> };
}

interface Chain {
  raw: Record<string, unknown>;
  sources: Source[];
  files: string[];
}

/** A file with everything it extends merged under it. `stack` holds the files being loaded (cycles). */
export function loadChain(file: string, stack: string[], prefix: PathKey[] = []): Chain {
  const parsed = readConfigFile(file);
  const source: Source = { kind: 'file', file, doc: parsed.doc, lc: parsed.lc, prefix };
  return extendChain(parsed.value, source, path.dirname(file), [...stack, file]);
}

/**
 * Merges what `value` extends under it: `value` came from `source` (a file, or a part of one such
 * as a sweep's inline `base:`), its paths relative to `dir`.
 */
export function extendChain(value: Record<string, unknown>, source: Source & { kind: 'file' }, dir: string, stack: string[]): Chain {
  const own = { ...value };
  const ext = own.extends;
  delete own.extends;
  rebasePaths(own, dir);
  const parents: Chain[] = [];
  if (ext !== undefined && ext !== null) {
    const list = Array.isArray(ext) ? ext : [ext];
    list.forEach((entry, i) => {
      const at = Array.isArray(ext) ? ['extends', i] : ['extends'];
      if (typeof entry !== 'string' || !entry) {
        throw ConfigError.at({ ...locate([source], at), path: 'extends', message: 'extends must be a file path or a list of them', value: entry, hasValue: true });
      }
      const target = path.resolve(dir, entry);
      try {
        statInputFile(target, LIMITS.configFileBytes);
      } catch (err) {
        const reason = err instanceof InputFileError ? err.reason : (err as Error).message;
        const message = reason === 'file not found' ? `extended file not found: ${target}` : `extended file ${target}: ${reason}`;
        throw ConfigError.at({ ...locate([source], at), path: 'extends', message, value: entry, hasValue: true });
      }
      // Cycles by real path: two names (a symlink) for one file are the same file.
      const real = fs.realpathSync(target);
      const onStack = stack.findIndex((f) => f === target || realPath(f) === real);
      if (onStack >= 0) {
        const cycle = [...stack.slice(onStack), target].map((f) => path.relative(process.cwd(), f) || f).join(' -> ');
        throw ConfigError.at({ ...locate([source], at), path: 'extends', message: `extends cycle: ${cycle}`, value: entry, hasValue: true });
      }
      parents.push(loadChain(target, stack));
    });
  }
  let raw: Record<string, unknown> = {};
  const sources: Source[] = [source];
  const files = [source.file];
  for (const p of parents) {
    raw = mergeConfig(raw, p.raw) as Record<string, unknown>;
  }
  // Later parents win over earlier ones, so they come first in the location search.
  for (const p of [...parents].reverse()) {
    sources.push(...p.sources);
    files.push(...p.files.filter((f) => !files.includes(f)));
  }
  raw = mergeConfig(raw, own) as Record<string, unknown>;
  return { raw, sources, files };
}

function realPath(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}

/** Resolves the path fields of one file's own values against its folder (in place). */
export function rebasePaths(value: Record<string, unknown>, dir: string): void {
  for (const keyPath of PATH_FIELDS) {
    const v = getPath(value, keyPath);
    if (typeof v === 'string' && v && !PATH_FIELD_KEYWORDS[keyPath.join('.')]?.includes(v)) setPathIn(value, keyPath, path.resolve(dir, v));
  }
  if (referenceIsPath(value.reference)) value.reference = path.resolve(dir, value.reference);
}

// ---------------------------------------------------------------------------------------------
// Merging and paths

const VARIANT_KEYS: Record<string, string> = { solver: 'name', model: 'type', sde: 'kind' };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Deep merge, `over` wins: objects merge key by key, arrays and scalars are replaced, null deletes.
 * An object with numeric keys merged over an array sets those elements. At the top level, a change
 * of solver.name / model.type / sde.kind keeps only the inherited keys the new variant takes.
 */
export function mergeConfig(base: unknown, over: unknown, depth = 0): unknown {
  if (over === undefined) return base;
  if (Array.isArray(base) && isPlainObject(over) && Object.keys(over).every((k) => /^\d+$/.test(k))) {
    const out = [...base];
    for (const [k, v] of Object.entries(over)) out[Number(k)] = mergeConfig(out[Number(k)], v, depth + 1);
    return out;
  }
  if (!isPlainObject(base) || !isPlainObject(over)) return over === null ? undefined : clone(over);
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === null) {
      delete out[key];
      continue;
    }
    let inherited = out[key];
    const variant = depth === 0 ? VARIANT_KEYS[key] : undefined;
    if (variant && isPlainObject(inherited) && isPlainObject(value) && value[variant] !== undefined) {
      // The override names its variant: inherited keys that belong to other variants only
      // (pc's snr under ode_heun) are dropped. Keys no variant takes stay, and stay errors.
      const accepted = acceptedKeys(key, value);
      if (!accepted) inherited = value[variant] === inherited[variant] ? inherited : {};
      else {
        const foreign = variantKeys(key);
        inherited = Object.fromEntries(Object.entries(inherited).filter(([k]) => accepted.includes(k) || !foreign.has(k)));
      }
    }
    const merged = mergeConfig(inherited, value, depth + 1);
    if (merged === undefined) delete out[key];
    else out[key] = merged;
  }
  return out;
}

/** Keys the variant of a top-level section takes (its solver's settings, its model type's fields). */
function acceptedKeys(section: string, value: Record<string, unknown>): string[] | undefined {
  if (section === 'solver') {
    const solver = SOLVERS.find((s) => s.name === value.name);
    const shape = solver && objectShape(solver.settings as z.ZodType);
    return shape ? ['name', ...Object.keys(shape)] : undefined;
  }
  return allowedKeys(experimentConfigSchema, [section], { [section]: value }[section]);
}

/** Every key some variant of a section takes. */
function variantKeys(section: string): Set<string> {
  if (section === 'solver') return new Set(SOLVERS.flatMap((s) => Object.keys(objectShape(s.settings as z.ZodType) ?? {})));
  const field = objectShape(experimentConfigSchema)?.[section];
  const options = field ? (unionOptions(field) ?? [field]) : [];
  return new Set(options.flatMap((o) => Object.keys(objectShape(o) ?? {})));
}

function clone<T>(v: T): T {
  // structuredClone keeps ±Infinity and NaN (YAML's .inf, .nan), which a JSON round trip makes null.
  return v === undefined ? v : structuredClone(v);
}

export function splitPath(p: string): PathKey[] {
  return p.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export function getPath(obj: unknown, keyPath: readonly PathKey[]): unknown {
  let cur: any = obj;
  for (const k of keyPath) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = cur[k];
  }
  return cur;
}

function setPathIn(obj: Record<string, unknown>, keyPath: readonly PathKey[], value: unknown): void {
  let cur: any = obj;
  keyPath.forEach((k, i) => {
    if (i === keyPath.length - 1) cur[k] = value;
    else {
      if (cur[k] === null || typeof cur[k] !== 'object') cur[k] = typeof keyPath[i + 1] === 'number' ? [] : {};
      cur = cur[k];
    }
  });
}

/** {a: {b: value}} for path a.b. */
export function objectAt(keyPath: readonly PathKey[], value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let cur = out;
  keyPath.forEach((k, i) => {
    if (i === keyPath.length - 1) cur[String(k)] = value;
    else cur = (cur[String(k)] = {}) as Record<string, unknown>;
  });
  return out;
}

/** Parses `path.to.key=value`; paths in path fields become absolute against cwd. */
export function parseSet(expr: string, cwd: string): { path: PathKey[]; value: unknown } {
  const eq = expr.indexOf('=');
  const key = eq > 0 ? expr.slice(0, eq).trim() : '';
  if (!key || !/^[A-Za-z_$][\w$]*(\.([A-Za-z_$][\w$]*|\d+))*$/.test(key)) {
    throw ConfigError.at({ file: '--set', path: key, message: `expected --set path.to.key=value (e.g. solver.steps=200)`, value: expr, hasValue: true });
  }
  const text = expr.slice(eq + 1);
  let value: unknown;
  try {
    value = text.trim() === '' ? null : YAML.parse(text);
  } catch (err) {
    throw ConfigError.at({ file: '--set', path: key, message: `cannot parse the value as YAML/JSON: ${(err as Error).message.split('\n')[0]}`, value: text, hasValue: true });
  }
  const keyPath = splitPath(key);
  checkKeyPath(keyPath, { file: '--set', origin: `--set ${expr}` });
  const probe = objectAt(keyPath, value);
  rebasePaths(probe, cwd);
  return { path: keyPath, value: getPath(probe, keyPath) };
}

// ---------------------------------------------------------------------------------------------
// Errors with locations

/** Converts zod issues to a ConfigError, with locations, values and allowed alternatives. */
export function zodToConfigError(error: z.ZodError, raw: unknown, sources: readonly Source[], schema: z.ZodType, rootPath: PathKey[] = []): ConfigError {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const at = [...rootPath, ...(issue.path as PathKey[])];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const keyPath = [...at, key];
        const allowed = knownKeys(schema, at.slice(rootPath.length), getPath(raw, rootPath));
        issues.push({
          ...locate(sources, keyPath, true),
          path: keyPath.join('.'),
          message: `unknown key '${key}'${allowed ? `; allowed here: ${allowed.join(', ')}` : ''}`,
        });
      }
      continue;
    }
    const value = getPath(raw, at);
    let message = issue.message;
    if (issue.code === 'invalid_union' && !('discriminator' in issue && issue.discriminator)) {
      const s = schemaAt(schema, at.slice(rootPath.length), getPath(raw, rootPath));
      message = s ? `invalid value: expected ${describeType(s)}` : message;
    } else if (issue.code === 'invalid_type' && value === undefined) {
      message = `required field is missing (expected ${issue.expected})`;
    }
    issues.push({ ...locate(sources, at), path: at.join('.'), message: lowerFirst(message), value, hasValue: value !== undefined });
  }
  return new ConfigError(issues);
}

/** Allowed keys at a path of the experiment schema; solver settings come from the solver. */
function knownKeys(schema: z.ZodType, at: readonly PathKey[], data: unknown): string[] | undefined {
  if (schema === (experimentConfigSchema as z.ZodType) && at.length === 1 && at[0] === 'solver') {
    return acceptedKeys('solver', (getPath(data, ['solver']) ?? {}) as Record<string, unknown>);
  }
  return allowedKeys(schema, at, data);
}

function lowerFirst(s: string): string {
  return s && /^[A-Z][a-z]/.test(s) ? s[0].toLowerCase() + s.slice(1) : s;
}
