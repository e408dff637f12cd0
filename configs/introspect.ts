import { z } from 'zod';

/**
 * Reading zod (v4) schemas back: what fields an object takes, their types, bounds, defaults and
 * descriptions. Used by `score-sde solvers` / `score-sde schema` and to say which keys are
 * allowed when a config has an unknown one.
 */

type Def = { type: string; [k: string]: any };
const defOf = (s: z.ZodType): Def => (s as any)._zod.def as Def;

export interface FieldDoc {
  /** Dotted path, e.g. 'sampling.n'. */
  path: string;
  /** Human-readable type with bounds, e.g. 'integer > 0', "'uniform' | 'edm'". */
  type: string;
  required: boolean;
  /** The default value, where there is one. */
  default?: unknown;
  hasDefault: boolean;
  description?: string;
}

/** Peels optional / default / prefault / nullable / readonly / catch wrappers. */
export function unwrap(schema: z.ZodType): { inner: z.ZodType; optional: boolean; hasDefault: boolean; default?: unknown; description?: string } {
  let s = schema;
  let optional = false;
  let hasDefault = false;
  let dflt: unknown;
  let description = (s as any).description as string | undefined;
  for (;;) {
    const def = defOf(s);
    if (def.type === 'optional' || def.type === 'nullable' || def.type === 'readonly' || def.type === 'catch') {
      if (def.type === 'optional') optional = true;
      s = def.innerType;
    } else if (def.type === 'default' || def.type === 'prefault') {
      hasDefault = true;
      optional = true;
      dflt = typeof def.defaultValue === 'function' ? def.defaultValue() : def.defaultValue;
      s = def.innerType;
    } else {
      break;
    }
    description ??= (s as any).description;
  }
  return { inner: s, optional, hasDefault, default: dflt, description };
}

/** The object shape behind a schema (through wrappers, pipes and transforms), if it is an object. */
export function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  const s = throughPipes(unwrap(schema).inner);
  const def = defOf(s);
  return def.type === 'object' ? (def.shape as Record<string, z.ZodType>) : undefined;
}

function throughPipes(schema: z.ZodType): z.ZodType {
  let s = unwrap(schema).inner;
  for (;;) {
    const def = defOf(s);
    // preprocess = pipe(transform, schema): the schema is `out`; a transform after a schema: `in`.
    if (def.type === 'pipe') s = unwrap(defOf(def.out).type === 'transform' ? def.in : def.out).inner;
    else return s;
  }
}

/** The union options of a (discriminated) union, else undefined. */
export function unionOptions(schema: z.ZodType): z.ZodType[] | undefined {
  const def = defOf(throughPipes(schema));
  return def.type === 'union' ? (def.options as z.ZodType[]) : undefined;
}

/**
 * The schema at a path inside `schema`, choosing union options by what `data` holds there (the
 * option whose literal fields match, e.g. kind: ve). undefined where it cannot tell.
 */
export function schemaAt(schema: z.ZodType, path: readonly (string | number)[], data: unknown): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  let d: any = data;
  for (let i = 0; i <= path.length; i++) {
    if (!s) return undefined;
    const options = unionOptions(s);
    if (options) s = pickOption(options, d);
    if (!s || i === path.length) return s;
    const key = path[i];
    const inner = throughPipes(s);
    const def = defOf(inner);
    if (def.type === 'object') s = def.shape[key as string] ?? (def.catchall && defOf(def.catchall).type !== 'unknown' ? def.catchall : undefined);
    else if (def.type === 'array') s = def.element;
    else if (def.type === 'record') s = def.valueType;
    else return undefined;
    d = d && typeof d === 'object' ? d[key as any] : undefined;
  }
  return s;
}

function pickOption(options: z.ZodType[], data: unknown): z.ZodType | undefined {
  for (const o of options) {
    const shape = objectShape(o);
    if (!shape) continue;
    const literals = Object.entries(shape).filter(([, f]) => defOf(unwrap(f).inner).type === 'literal');
    if (literals.length && data && typeof data === 'object') {
      if (literals.every(([k, f]) => (defOf(unwrap(f).inner).values as unknown[]).includes((data as any)[k]))) return o;
    }
  }
  return undefined;
}

/** Keys an object schema at `path` accepts, or undefined if it is not a known object there. */
export function allowedKeys(schema: z.ZodType, path: readonly (string | number)[], data: unknown): string[] | undefined {
  const at = schemaAt(schema, path, data);
  const shape = at && objectShape(at);
  return shape ? Object.keys(shape) : undefined;
}

/** A short type description with bounds. */
export function describeType(schema: z.ZodType): string {
  const s = throughPipes(unwrap(schema).inner);
  const def = defOf(s);
  switch (def.type) {
    case 'number': {
      const checks = (def.checks ?? []).map((c: any) => c._zod.def);
      const isInt = checks.some((c: any) => c.check === 'number_format' && /int/.test(c.format));
      const bounds = checks
        .filter((c: any) => c.check === 'greater_than' || c.check === 'less_than')
        .map((c: any) => `${c.check === 'greater_than' ? (c.inclusive ? '>=' : '>') : c.inclusive ? '<=' : '<'} ${c.value}`);
      return [isInt ? 'integer' : 'number', ...bounds].join(' ');
    }
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'enum':
      return Object.values(def.entries as Record<string, string>).map((v) => `'${v}'`).join(' | ');
    case 'literal':
      return (def.values as unknown[]).map((v) => JSON.stringify(v)).join(' | ');
    case 'array':
      return `${describeType(def.element)}[]`;
    case 'tuple':
      return `[${(def.items as z.ZodType[]).map(describeType).join(', ')}]`;
    case 'union':
      return (def.options as z.ZodType[]).map(describeType).join(' | ');
    case 'record':
      return `{ [key]: ${describeType(def.valueType)} }`;
    case 'object':
      return 'object';
    default:
      return def.type;
  }
}

/** Every field of an object schema (recursing into nested objects), depth first. */
export function describeFields(schema: z.ZodType, prefix = ''): FieldDoc[] {
  const shape = objectShape(schema);
  if (!shape) return [];
  const out: FieldDoc[] = [];
  for (const [key, field] of Object.entries(shape)) {
    const u = unwrap(field);
    const path = prefix ? `${prefix}.${key}` : key;
    out.push({
      path,
      type: describeType(field),
      required: !u.optional,
      hasDefault: u.hasDefault,
      default: u.default,
      description: u.description ?? (field as any).description,
    });
    const nested = objectShape(field);
    if (nested) out.push(...describeFields(field, path));
    const options = unionOptions(field);
    if (options && options.every((o) => objectShape(o))) {
      // A discriminated union of objects: each variant's fields under 'path.(kind=ve)'.
      for (const o of options) {
        const shape = objectShape(o)!;
        const literal = Object.entries(shape).find(([, f]) => defOf(unwrap(f).inner).type === 'literal');
        const label = literal ? `(${literal[0]}=${String((defOf(unwrap(literal[1]).inner).values as unknown[])[0])})` : '(variant)';
        out.push({ path: `${path}.${label}`, type: 'object', required: false, hasDefault: false, description: (o as any).description ?? unwrap(literal?.[1] ?? o).description });
        out.push(...describeFields(o, `${path}.${label}`));
      }
    }
  }
  return out;
}
