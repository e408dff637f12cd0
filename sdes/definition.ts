import { z } from 'zod';
import type { SDE } from './sde';

/**
 * What one SDE kind is to the rest of the package: its parameters (each a zod type with its
 * default and a description) and a factory. The config schema, the model-card schema, the
 * resolver's defaults and makeSDE are all derived from these entries (./registry.ts,
 * ./spec-schema.ts), so a new SDE is one file with its class and definition plus one line in
 * SDE_DEFINITIONS.
 */

/** One parameter: a zod type wrapped in .default(value).describe(text). */
export type SdeParam = z.ZodDefault<z.ZodType>;
export type SdeParams = Readonly<Record<string, SdeParam>>;

/** A description of an SDE: its kind and any of its parameters (a config's or a card's). */
export interface SdeSpec {
  kind: string;
  T?: number;
  N?: number;
  [param: string]: unknown;
}
/** An SDE description with every parameter of its kind (and variant) filled in. */
export type CompleteSdeSpec = SdeSpec & { T: number; N: number };

/** A problem with a spec, at one of its fields. */
export interface SdeIssue {
  field: string;
  message: string;
}

/**
 * Cross-field constraints (σ_min < σ_max). Called with the fields a spec states, possibly a
 * partial one (a config's): check only the pairs that are present.
 */
export type SdeCheck = (spec: Readonly<Record<string, unknown>>) => SdeIssue[];

/** One option of a variant field, e.g. the VP family's linear or cosine β schedule. */
export interface SdeVariant<M = unknown> {
  readonly description: string;
  readonly params: SdeParams;
  readonly check?: SdeCheck;
  /** Builds the sub-model from its parameters (defaults filled) and the SDE's T. */
  create(spec: Readonly<Record<string, unknown>> & { T: number }): M;
}

/** A field that picks among interchangeable sub-models, each with its own parameters. */
export interface SdeVariants<M = unknown> {
  /** The field's name in a spec, e.g. 'schedule'. */
  readonly field: string;
  readonly description: string;
  readonly default: string;
  readonly options: Readonly<Record<string, SdeVariant<M>>>;
}

export interface SdeDefinition {
  /** The value of `kind` in configs and cards, e.g. 've'. */
  readonly kind: string;
  /** One line, shown by `score-sde schema`. */
  readonly description: string;
  /** The kind's own parameters; T (every kind) and N (configs only) are added by the registry. */
  readonly params: SdeParams;
  readonly variants?: SdeVariants;
  readonly check?: SdeCheck;
  /** Builds the SDE from a complete spec (every parameter present, checks passed). */
  create(spec: CompleteSdeSpec): SDE;
}

/** A parameter: `type` with a default and a description (without the default, which is added). */
export function param<T extends z.ZodType>(type: T, value: z.output<T>, description: string): SdeParam {
  return type.default(value as never).describe(description) as unknown as SdeParam;
}

/** The default value of a parameter. */
export function paramDefault(p: SdeParam): unknown {
  return (p as unknown as { _zod: { def: { defaultValue: unknown } } })._zod.def.defaultValue;
}

/** A parameter's type without its default. */
export function paramType(p: SdeParam): z.ZodType {
  return p.unwrap() as z.ZodType;
}

/** Parameters every kind has: recorded by model cards (a property of the trained network). */
export const MODEL_PARAMS: SdeParams = {
  T: param(z.number().positive(), 1, 'End time T'),
};

/** Parameters of a run, not of a network: configs take them, cards do not. */
export const RUN_PARAMS: SdeParams = {
  N: param(z.number().int().positive(), 1000, "Discretization steps N: the solvers' default `steps`"),
};

/** `a < b` (or `a <= b` with orEqual) where a spec states both. */
export function ordered(a: string, b: string, orEqual = false): SdeCheck {
  return (spec) => {
    const lo = spec[a];
    const hi = spec[b];
    if (typeof lo !== 'number' || typeof hi !== 'number') return [];
    const ok = orEqual ? lo <= hi : lo < hi;
    return ok ? [] : [{ field: a, message: `${a} must be ${orEqual ? '<=' : '<'} ${b} (${hi})` }];
  };
}

/** The default of each parameter. */
export function defaultsOf(params: SdeParams): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).map(([k, p]) => [k, paramDefault(p)]));
}

/** `given` over the defaults of `params` (undefined fields take the default). */
export function withDefaults<T extends object>(params: SdeParams, given: T): Record<string, unknown> & T {
  const out: Record<string, unknown> = defaultsOf(params);
  for (const [k, v] of Object.entries(given)) if (v !== undefined) out[k] = v;
  return out as Record<string, unknown> & T;
}
