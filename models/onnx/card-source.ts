import { existsSync } from 'fs';
import { basename, dirname, extname, join, resolve } from 'path';
import { ModelCard } from '../card';
import { parseCard, readCardFile, sameValue } from './card-io';
import { ModelCardConflictError, ModelFileError, show } from './errors';
import { CARD_METADATA_KEY, OnnxTopLevel, readOnnxTopLevelFile } from './onnx-file';

/**
 * The one reader of an ONNX model's card, for `validate` (configs/resolve.ts) and for loading
 * (./load.ts) alike; it needs no onnxruntime. The precedence:
 *
 *   1. an explicit card (config `model.card`, the loader's `card` option) is the card; its `sde`
 *      must equal the card embedded in the network, if there is one;
 *   2. else the card file beside the model (<model>.card.json) is the card; its NETWORK_FIELDS
 *      must equal the embedded card's, if there is one;
 *   3. else the card embedded in the ONNX metadata (key 'score_sde_card');
 *   4. else an error naming where it looked.
 *
 * A contradiction is a ModelCardConflictError naming both cards and each differing field.
 * Descriptive fields (name, description, data, training) are the chosen card's alone: a card file
 * may add reference data to a shipped network without re-exporting it.
 */

/** What a card says about the network itself: how to call it and what its output means. */
export const NETWORK_FIELDS = ['sde', 'parameterization', 'timeInput', 'timesteps', 'sampleShape', 'dataRange', 'inputs', 'output', 'conditioning'] as const;

export interface ModelCardReading {
  card: ModelCard;
  /** Where the card came from, for messages: its file, 'the card option', or 'embedded in <model file>'. */
  source: string;
  /** The card file, when the card came from one. */
  cardFile?: string;
  /** The folder the card's relative paths (data.reference) resolve from: the card file's, else the model's. */
  baseDir: string;
  /** Whether the model embeds a card (then checked against the card used, as above). */
  embedded: boolean;
}

/** foo.onnx → foo.card.json beside it. */
export function cardPathFor(file: string): string {
  const ext = extname(file);
  return join(dirname(file), `${basename(file, ext)}.card.json`);
}

/**
 * The card of the ONNX model at `modelFile` (which must exist), by the precedence above. `top`:
 * the model's top level if already parsed. ModelFileError for a file that is no ONNX model, an
 * unreadable or invalid card, no card; ModelCardConflictError for contradicting cards.
 */
export function readModelCard(modelFile: string, explicit?: ModelCard | string, top?: OnnxTopLevel): ModelCardReading {
  const file = resolve(modelFile);
  if (!top) {
    try {
      top = readOnnxTopLevelFile(file);
    } catch (e) {
      throw new ModelFileError(file, `not an ONNX model (expected a serialized onnx ModelProto: ${(e as Error).message})`);
    }
  }
  const embedded = embeddedCard(file, top);
  const chosen = fileCard(file, explicit);
  if (!chosen) {
    if (embedded) return { card: embedded, source: `embedded in ${file}`, baseDir: dirname(file), embedded: true };
    throw new ModelFileError(
      file,
      `no model card: looked for ONNX metadata key '${CARD_METADATA_KEY}' (absent) and for ${cardPathFor(file)} (not found); ` +
        `write one (format 'score-sde-card/1', see models/card.ts) or pass the card option`,
    );
  }
  if (embedded) {
    const fields = chosen.explicit ? (['sde'] as const) : NETWORK_FIELDS;
    const differences = fields.flatMap((f) => fieldDifferences(f, chosen.card[f], embedded[f]));
    if (differences.length) throw new ModelCardConflictError(file, chosen.source, chosen.explicit, differences);
  }
  return {
    card: chosen.card,
    source: chosen.source,
    cardFile: chosen.cardFile,
    baseDir: chosen.cardFile ? dirname(chosen.cardFile) : dirname(file),
    embedded: embedded !== undefined,
  };
}

function embeddedCard(file: string, top: OnnxTopLevel): ModelCard | undefined {
  const meta = top.metadata[CARD_METADATA_KEY];
  if (meta === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(meta);
  } catch (e) {
    throw new ModelFileError(file, `ONNX metadata '${CARD_METADATA_KEY}' is not valid JSON: ${(e as Error).message}`);
  }
  return parseCard(raw, file, `ONNX metadata '${CARD_METADATA_KEY}'`);
}

function fileCard(file: string, explicit: ModelCard | string | undefined): { card: ModelCard; source: string; cardFile?: string; explicit: boolean } | undefined {
  if (typeof explicit === 'string') {
    const cardFile = resolve(explicit);
    return { card: readCardFile(cardFile, file), source: cardFile, cardFile, explicit: true };
  }
  if (explicit !== undefined) return { card: parseCard(explicit, file, 'the card option'), source: 'the card option', explicit: true };
  const beside = cardPathFor(file);
  if (!existsSync(beside)) return undefined;
  return { card: readCardFile(beside, file), source: beside, cardFile: beside, explicit: false };
}

/** 'field: a vs b' for each leaf where a and b differ (into objects one level: sde.betaMax). */
function fieldDifferences(field: string, a: unknown, b: unknown): string[] {
  if (sameValue(a, b)) return [];
  const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.filter((k) => !sameValue(a[k], b[k])).map((k) => `${field}.${k}: ${show(a[k])} vs ${show(b[k])}`);
  }
  return [`${field}: ${show(a)} vs ${show(b)}`];
}
