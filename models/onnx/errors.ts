/**
 * A config (or a loader option) contradicts the model card: the message names the field, the
 * card's value and the config's value, and where the config came from.
 */
export class ModelCardMismatchError extends Error {
  constructor(
    readonly field: string,
    readonly cardValue: unknown,
    readonly configValue: unknown,
    readonly where: string,
  ) {
    super(
      `${where}: the model card says ${field} = ${show(cardValue)}, but the config says ${show(configValue)}; ` +
        `a network must be sampled with what it was trained with: fix the config or drop the field to take the card's`,
    );
    this.name = 'ModelCardMismatchError';
  }
}

/**
 * The model file cannot be used: missing, not ONNX, no or bad card, or inputs/outputs that do not
 * fit the card. The message names the file and what was expected vs found.
 */
export class ModelFileError extends Error {
  constructor(
    readonly file: string,
    detail: string,
    /** The card file at fault, where the problem is in one (not in the model file). */
    readonly cardFile?: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'ModelFileError';
  }
}

/**
 * Two cards of one network disagree on what the network is: the card beside the model (or an
 * explicit card, on the SDE) against the card embedded in the ONNX file. Names both and the fields.
 */
export class ModelCardConflictError extends ModelFileError {
  constructor(
    file: string,
    /** Where the card that was to be used came from (a card file path, or 'the card option'). */
    readonly cardSource: string,
    /** Whether that card was given explicitly (config model.card / the loader's card option). */
    readonly explicit: boolean,
    /** The fields that differ, each 'field: <that card's value> vs <embedded value>'. */
    readonly differences: string[],
  ) {
    super(
      file,
      `the model card in ${cardSource} contradicts the card embedded in the network (ONNX metadata 'score_sde_card') on ` +
        `${differences.join('; ')} (${cardSource} vs embedded); ` +
        (explicit
          ? 'the network was trained under the SDE its own card records: fix the explicit card or drop it'
          : `one network, one card: fix or delete ${cardSource}, or re-export the model with the right card`),
      explicit ? undefined : cardSource,
    );
    this.name = 'ModelCardConflictError';
  }
}

export function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return `[${v.join(', ')}]`;
  if (v === undefined) return '(absent)';
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}
