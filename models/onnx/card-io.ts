import { existsSync, readFileSync } from 'fs';
import { resolve } from 'path';
import { ModelCard, modelCardSchema } from '../card';
import { ModelCardMismatchError, ModelFileError } from './errors';

/** Validates a card object (from JSON) against the schema, defaults filled; `where` names its source. */
export function parseCard(raw: unknown, file: string, where: string, cardFile?: string): ModelCard {
  const parsed = modelCardSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.length ? i.path.join('.') : '(card)'}: ${i.message}`)
      .join('; ');
    throw new ModelFileError(file, `the model card in ${where} is invalid: ${issues}`, cardFile);
  }
  const card = parsed.data;
  if (card.timeInput === 'timestep' && card.timesteps === undefined) {
    throw new ModelFileError(file, `the model card in ${where} has timeInput 'timestep' but no 'timesteps'`, cardFile);
  }
  const cond = card.conditioning;
  const label = card.inputs?.label;
  if (label !== undefined && cond === undefined) {
    throw new ModelFileError(file, `the model card in ${where} names a label input (inputs.label '${label}') but has no 'conditioning' (classes, nullLabel)`, cardFile);
  }
  if (cond) {
    if (label !== undefined && label !== cond.input) {
      throw new ModelFileError(file, `the model card in ${where} names two label inputs: inputs.label '${label}' and conditioning.input '${cond.input}'`, cardFile);
    }
    if (cond.nullLabel < cond.classes.length) {
      throw new ModelFileError(
        file,
        `the model card in ${where} has conditioning.nullLabel ${cond.nullLabel}, which is class '${cond.classes[cond.nullLabel]}'; the null label must lie outside the classes 0 … ${cond.classes.length - 1}`,
        cardFile,
      );
    }
  }
  return card;
}

/** Reads and validates a card JSON file. */
export function readCardFile(cardPath: string, file: string): ModelCard {
  const p = resolve(cardPath);
  if (!existsSync(p)) throw new ModelFileError(file, `model card file ${p} does not exist`, p);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new ModelFileError(file, `model card file ${p} is not valid JSON: ${(e as Error).message}`, p);
  }
  return parseCard(raw, file, p, p);
}

function sameNumber(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
}

/** Equal values: numbers to 1e-12 relative, arrays and plain objects element by element. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return sameNumber(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

/**
 * Checks a config's expectations against the card and throws ModelCardMismatchError naming the
 * first field that differs. Only what the config states is checked; sde keys the card does not
 * record (a discretization's N, say) are not model properties and are skipped.
 */
export function checkCard(
  card: ModelCard,
  expected: { sde?: Record<string, unknown>; parameterization?: string; timeInput?: string; sampleShape?: number[] },
  where: string,
): void {
  if (expected.sde) {
    const cardSde = card.sde as Record<string, unknown>;
    if (expected.sde.kind !== undefined && expected.sde.kind !== cardSde.kind) {
      throw new ModelCardMismatchError('sde.kind', cardSde.kind, expected.sde.kind, where);
    }
    for (const [key, value] of Object.entries(expected.sde)) {
      if (key === 'kind' || value === undefined || !(key in cardSde)) continue;
      if (!sameValue(cardSde[key], value)) throw new ModelCardMismatchError(`sde.${key}`, cardSde[key], value, where);
    }
  }
  if (expected.parameterization !== undefined && expected.parameterization !== card.parameterization) {
    throw new ModelCardMismatchError('parameterization', card.parameterization, expected.parameterization, where);
  }
  if (expected.timeInput !== undefined && expected.timeInput !== card.timeInput) {
    throw new ModelCardMismatchError('timeInput', card.timeInput, expected.timeInput, where);
  }
  if (expected.sampleShape !== undefined && !sameValue(card.sampleShape, expected.sampleShape)) {
    throw new ModelCardMismatchError('sampleShape', card.sampleShape, expected.sampleShape, where);
  }
}
