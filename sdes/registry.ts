import { SDE } from './sde';
import { VE_DEFINITION } from './ve';
import { SUBVP_DEFINITION, VP_DEFINITION } from './vp';
import { CompleteSdeSpec, MODEL_PARAMS, RUN_PARAMS, SdeDefinition, SdeIssue, SdeParams, SdeSpec, SdeVariant, defaultsOf } from './definition';
import { ParameterError } from '../core/errors';

/**
 * The SDE kinds: one line each. The config schema (configs/schema.ts), the model-card schema
 * (models/card.ts), the resolver's defaults (configs/resolve.ts) and makeSDE all derive from this
 * list, so a new SDE is its file (class + SdeDefinition) plus one line here.
 */
const SDE_DEFINITIONS: SdeDefinition[] = [VE_DEFINITION, VP_DEFINITION, SUBVP_DEFINITION];

/** Set once a schema has been derived from the list: a later kind would be missing from it. */
let sealed = false;

/**
 * Adds an SDE kind at run time (extensions, tests). The zod schemas are built from the registry
 * when configs/schema.ts and models/card.ts load, so this must run before those modules load
 * (before the package index); afterwards it throws rather than add a kind that configs reject.
 */
export function registerSde(def: SdeDefinition): void {
  if (sealed) {
    throw new ParameterError(`registerSde('${def.kind}'): the config and card schemas are already built; register SDE kinds before loading configs/schema or models/card`);
  }
  if (SDE_DEFINITIONS.some((d) => d.kind === def.kind)) throw new ParameterError(`SDE kind '${def.kind}' is already registered`);
  SDE_DEFINITIONS.push(def);
}

/** Every registered kind, for building schemas from (which seals the registry). */
export function sdeDefinitionsForSchema(): readonly SdeDefinition[] {
  sealed = true;
  return SDE_DEFINITIONS;
}

export function sdeKinds(): string[] {
  return SDE_DEFINITIONS.map((d) => d.kind);
}

/** The definition of a kind; ParameterError listing the kinds for an unknown one. */
export function sdeDefinition(kind: unknown): SdeDefinition {
  const def = SDE_DEFINITIONS.find((d) => d.kind === kind);
  if (!def) throw new ParameterError(`unknown SDE kind '${String(kind)}': expected ${oneOf(sdeKinds())}`);
  return def;
}

/** The variant a spec picks (its stated one, else the default), or undefined for kinds without. */
export function sdeVariant(def: SdeDefinition, spec: Readonly<Record<string, unknown>>): { name: string; variant: SdeVariant } | undefined {
  const v = def.variants;
  if (!v) return undefined;
  const name = (spec[v.field] as string | undefined) ?? v.default;
  const variant = Object.hasOwn(v.options, name) ? v.options[name] : undefined;
  if (!variant) throw new ParameterError(`unknown ${v.field} '${name}' of the ${def.kind} SDE: expected ${oneOf(Object.keys(v.options))}`);
  return { name, variant };
}

/**
 * The parameters a spec of this kind takes: `model` ones (recorded by cards: the kind's, its
 * variant's and T) and with `run`, N too. With `variant` undefined: every variant's.
 */
export function sdeParams(def: SdeDefinition, variant: SdeVariant | undefined | 'all', run: boolean): SdeParams {
  const variantParams =
    variant === 'all' ? Object.assign({}, ...Object.values(def.variants?.options ?? {}).map((o) => o.params)) : (variant?.params ?? {});
  return { ...def.params, ...variantParams, ...MODEL_PARAMS, ...(run ? RUN_PARAMS : {}) };
}

/**
 * The built-in defaults under a spec: every parameter of its kind and variant that it leaves out
 * (undefined counts as left out). With `run` false (a card), N is not added.
 */
export function completeSde(spec: SdeSpec, run = true): CompleteSdeSpec {
  const def = sdeDefinition(spec.kind);
  const chosen = sdeVariant(def, spec);
  const out: Record<string, unknown> = { kind: def.kind };
  if (chosen) out[def.variants!.field] = chosen.name;
  Object.assign(out, defaultsOf(sdeParams(def, chosen?.variant, run)));
  for (const [k, v] of Object.entries(spec)) if (v !== undefined) out[k] = v;
  return out as CompleteSdeSpec;
}

/**
 * What is wrong with a spec beyond each field's type: fields of another variant than the one it
 * picks (cosineS under the linear schedule), and the kind's and the variant's cross-field checks.
 * With `variantKnown` false (a config that leaves the variant to the card), the variant is not
 * assumed and only the kind's own checks run.
 */
export function sdeSpecIssues(spec: Readonly<Record<string, unknown>>, variantKnown = true): SdeIssue[] {
  const def = sdeDefinition(spec.kind);
  const issues: SdeIssue[] = [...(def.check?.(spec) ?? [])];
  const v = def.variants;
  if (!v || (!variantKnown && spec[v.field] === undefined)) return issues;
  const picked = spec[v.field] ?? v.default;
  if (typeof picked !== 'string' || !Object.hasOwn(v.options, picked)) {
    return [...issues, { field: v.field, message: `unknown ${v.field} '${String(picked)}': expected ${oneOf(Object.keys(v.options))}` }];
  }
  const chosen = { name: picked, variant: v.options[picked] };
  for (const [name, option] of Object.entries(v.options)) {
    if (name === chosen.name) continue;
    for (const key of Object.keys(option.params)) {
      if (spec[key] !== undefined && !(key in chosen.variant.params)) {
        issues.push({
          field: key,
          message: `${key} is a parameter of the ${name} ${v.field}, but this ${def.kind} SDE's ${v.field} is ${chosen.name} (its parameters: ${Object.keys(chosen.variant.params).join(', ') || 'none'})`,
        });
      }
    }
  }
  issues.push(...(chosen.variant.check?.(spec) ?? []));
  return issues;
}

/** Builds an SDE from a plain description (a config's or card's): defaults filled, checked. */
export function makeSDE(spec: SdeSpec): SDE {
  const complete = completeSde(spec);
  const issue = sdeSpecIssues(complete)[0];
  if (issue) throw new ParameterError(`invalid ${complete.kind} SDE: ${issue.message}`);
  return sdeDefinition(complete.kind).create(complete);
}

/** 'a', 'b' or 'c'. */
function oneOf(names: readonly string[]): string {
  const q = names.map((k) => `'${k}'`);
  return q.length > 1 ? `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}` : (q[0] ?? '(none)');
}
