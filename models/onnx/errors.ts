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
  ) {
    super(`${file}: ${detail}`);
    this.name = 'ModelFileError';
  }
}

export function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return `[${v.join(', ')}]`;
  if (v === undefined) return '(absent)';
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}
