/**
 * Limits on what a config may ask for, where a small input could otherwise exhaust memory or the
 * stack (a 300-byte sweep of 10⁶ cells, `--set model.means.99999999=…`, /dev/zero as a file, a
 * config nested thousands deep). Each is checked where the user's input first arrives, and fails
 * as a ConfigError (exit 2) naming the field and the limit.
 */

export type LimitPathKey = string | number;

export const LIMITS = {
  /** A config or sweep file (text a person writes; data belongs in .npy files). */
  configFileBytes: 4 * 1024 * 1024,
  /** Nesting of mappings and lists in a config (the schema needs 5). */
  configDepth: 64,
  /** Cells of one sweep (the product of the axes' lengths). */
  sweepCells: 10_000,
} as const;

/** Keys that would reach Object.prototype through a merge or a path: rejected everywhere. */
export const FORBIDDEN_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** The first problem in a parsed config value: a forbidden key or nesting beyond the limit. */
export function findUnsafeKey(value: unknown, at: LimitPathKey[] = []): { path: LimitPathKey[]; message: string } | undefined {
  if (at.length > LIMITS.configDepth) {
    return { path: at, message: `nested more than ${LIMITS.configDepth} levels deep (the limit for a config)` };
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnsafeKey(value[i], [...at, i]);
      if (found) return found;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.includes(key)) return { path: [...at, key], message: forbiddenKeyMessage(key) };
      const found = findUnsafeKey((value as Record<string, unknown>)[key], [...at, key]);
      if (found) return found;
    }
  }
  return undefined;
}

export function forbiddenKeyMessage(key: string): string {
  return `the key '${key}' is not allowed (${FORBIDDEN_KEYS.join(', ')} are reserved names, never config fields)`;
}

/**
 * A list index in a path (`--set model.means.3=…`, a sweep axis) may address an existing element
 * or append one: index ≤ the list's current length. Returns the message for the first index beyond
 * that, or undefined.
 */
export function findIndexBeyondEnd(raw: unknown, keyPath: readonly LimitPathKey[]): { path: LimitPathKey[]; message: string } | undefined {
  let cur: unknown = raw;
  for (let i = 0; i < keyPath.length; i++) {
    const k = keyPath[i];
    if (typeof k === 'number') {
      const length = Array.isArray(cur) ? cur.length : 0;
      if (k > length) {
        const what = Array.isArray(cur) ? `the list has ${length} element${length === 1 ? '' : 's'}` : 'there is no list here';
        return { path: keyPath.slice(0, i + 1) as LimitPathKey[], message: `index ${k} is beyond the end: ${what}, so the largest index allowed is ${length} (appending one)` };
      }
    }
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<string | number, unknown>)[k] : undefined;
  }
  return undefined;
}

/**
 * How deeply a YAML/JSON text nests, from the text alone (block indentation levels, `- ` items and
 * flow brackets outside quotes), so that a hostile file is refused before the YAML parser recurses
 * into it (it overflows the stack near 900 levels, and V8 can abort instead of throwing). Stops at
 * the first line deeper than `limit` and says where.
 */
export function findDeepNesting(text: string, limit: number = LIMITS.configDepth): { line: number; col: number; depth: number } | undefined {
  const indents: number[] = [];
  let block = 0; // levels of block structure around the current flow collection (if any)
  let flow = 0; // open [ and { brackets
  const lines = text.split('\n');
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln];
    let i = 0;
    while (line[i] === ' ') i++;
    if (i === line.length || line[i] === '#' || line[i] === '\r') continue;
    if (flow === 0) {
      // Indentation is structure only outside flow collections.
      while (indents.length && indents[indents.length - 1] >= i) indents.pop();
      indents.push(i);
      block = indents.length;
      // '- - x': each sequence indicator on the line opens one more level.
      while (line[i] === '-' && (line[i + 1] === ' ' || i + 1 === line.length)) {
        block++;
        i += 2;
        while (line[i] === ' ') i++;
      }
      if (block > limit) return { line: ln + 1, col: i + 1, depth: block };
    }
    let quote = '';
    let prev = ' ';
    for (; i < line.length; i++) {
      const c = line[i];
      if (quote) {
        if (c === '\\' && quote === '"') i++;
        else if (c === quote) quote = '';
        continue;
      }
      if ((c === '"' || c === "'") && ' [{,:'.includes(prev)) quote = c;
      else if (c === '#' && prev === ' ') break;
      else if (c === '[' || c === '{') {
        if (block + ++flow > limit) return { line: ln + 1, col: i + 1, depth: block + flow };
      } else if (c === ']' || c === '}') flow = Math.max(0, flow - 1);
      if (c !== ' ') prev = c;
    }
  }
  return undefined;
}
