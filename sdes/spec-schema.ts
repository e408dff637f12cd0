import { z } from 'zod';
import { SdeParam, SdeSpec, paramDefault, paramType } from './definition';
import { completeSde, sdeDefinitionsForSchema, sdeParams, sdeSpecIssues } from './registry';
import { RUN_PARAMS } from './definition';

/**
 * The zod schemas of an `sde:` section, derived from the registry (./registry.ts):
 *   'config'  every parameter optional and without a zod default, each described with its
 *             built-in default: a stated value is checked against the model card, an omitted one
 *             comes from the card, then from the default (configs/resolve.ts). Takes N.
 *   'card'    what a model card records: the same parameters without N; the output has every
 *             parameter of the kind and its variant filled in (defaults), and no other.
 * Both are strict (unknown keys are errors) and report cross-field problems and parameters of
 * another variant (cosineS under the linear schedule) at the field.
 */
export type CardSde = SdeSpec & { T: number };

export function sdeSpecSchema(use: 'config'): z.ZodType<SdeSpec, SdeSpec>;
export function sdeSpecSchema(use: 'card'): z.ZodType<CardSde, SdeSpec>;
export function sdeSpecSchema(use: 'config' | 'card'): z.ZodType {
  const run = use === 'config';
  const options = sdeDefinitionsForSchema().map((def) => {
    const shape: Record<string, z.ZodType> = { kind: z.literal(def.kind).describe(def.description) };
    const v = def.variants;
    if (v) {
      const names = Object.keys(v.options);
      shape[v.field] = z
        .enum(names as [string, ...string[]])
        .optional()
        .describe(`${v.description}: ${names.map((n) => `'${n}'`).join(' | ')}. Default: ${run ? "the card's, else " : ''}'${v.default}'.`);
    }
    for (const [key, p] of Object.entries(sdeParams(def, 'all', run))) shape[key] = field(key, p, run);
    return z
      .object(shape)
      .strict()
      .superRefine((spec, ctx) => {
        for (const i of sdeSpecIssues(spec as SdeSpec, !run)) ctx.addIssue({ code: 'custom', path: [i.field], input: spec[i.field], message: i.message });
      });
  });
  const union = z.discriminatedUnion('kind', options as unknown as [z.ZodObject, ...z.ZodObject[]]);
  return run ? union : union.transform((spec) => completeSde(spec as SdeSpec, false));
}

function field(key: string, p: SdeParam, run: boolean): z.ZodType {
  const dflt = JSON.stringify(paramDefault(p));
  const fromCard = run && !(key in RUN_PARAMS);
  return paramType(p)
    .optional()
    .describe(`${p.description ?? key}. Default: ${fromCard ? `the card's, else ${dflt}` : dflt}.`);
}
