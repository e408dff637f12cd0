import * as YAML from 'yaml';
import { ConfigIssue } from './errors';

/**
 * Where a config value came from (a file's line:col, or the override that set it), so that every
 * error points at the value to fix.
 */

export type PathKey = string | number;

/** Where a value may have come from, highest priority first (for error locations). */
export type Source =
  | { kind: 'file'; file: string; doc: YAML.Document; lc: YAML.LineCounter; prefix: PathKey[] }
  | {
      kind: 'override';
      /** Shown with the error, e.g. '--set solver.snr=-1' or 'axes solver.snr'. */
      origin: string;
      file?: string;
      /** The config path it sets. */
      path: PathKey[];
      /** Where its value sits in `doc`, for line:col (sweep axes). */
      doc?: YAML.Document;
      lc?: YAML.LineCounter;
      docPath?: PathKey[];
    };

/** Where the value at `keyPath` came from: the highest-priority source that sets it. */
export function locate(sources: readonly Source[], keyPath: readonly PathKey[], key = false): Partial<ConfigIssue> {
  for (const src of sources) {
    if (src.kind === 'override') {
      const n = Math.min(src.path.length, keyPath.length);
      if (!src.path.slice(0, n).every((k, i) => String(k) === String(keyPath[i]))) continue;
      if (src.doc && src.lc && src.docPath) {
        const inner = keyPath.length > src.path.length ? keyPath.slice(src.path.length) : [];
        const pos =
          position({ kind: 'file', file: src.file ?? '', doc: src.doc, lc: src.lc, prefix: src.docPath }, inner, key) ??
          position({ kind: 'file', file: src.file ?? '', doc: src.doc, lc: src.lc, prefix: [] }, src.docPath, false);
        if (pos) return { ...pos, origin: src.origin };
      }
      return { file: src.file, origin: src.origin };
    }
    const pos = position(src, keyPath, key);
    if (pos) return pos;
  }
  // Not set anywhere (a missing field): point at the nearest enclosing mapping in the first file.
  const first = sources.find((s): s is Source & { kind: 'file' } => s.kind === 'file');
  if (!first) return {};
  for (let n = keyPath.length - 1; n >= 0; n--) {
    const pos = position(first, keyPath.slice(0, n), n > 0);
    if (pos) return n === 0 ? { file: first.file } : pos;
  }
  return { file: first.file };
}

function position(src: Source & { kind: 'file' }, keyPath: readonly PathKey[], key: boolean): Partial<ConfigIssue> | undefined {
  const full = [...src.prefix, ...keyPath];
  if (full.length === 0) return { file: src.file };
  const parent = full.length > 1 ? src.doc.getIn(full.slice(0, -1), true) : src.doc.contents;
  const last = full[full.length - 1];
  let range: [number, number, number] | null | undefined;
  if (YAML.isMap(parent)) {
    const pair = parent.items.find((p) => (YAML.isScalar(p.key) ? p.key.value : p.key) === last || (YAML.isScalar(p.key) && String(p.key.value) === String(last)));
    if (!pair) return undefined;
    const node = key || !YAML.isNode(pair.value) ? pair.key : pair.value;
    range = YAML.isNode(node) ? node.range : undefined;
  } else if (YAML.isSeq(parent) && typeof last === 'number') {
    const node = parent.items[last];
    if (!YAML.isNode(node)) return undefined;
    range = node.range;
  } else {
    return undefined;
  }
  if (!range) return { file: src.file };
  const { line, col } = src.lc.linePos(range[0]);
  return { file: src.file, line, col };
}
