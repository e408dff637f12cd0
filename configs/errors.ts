/**
 * A problem in a config: which file, which field (dotted path), where in the file, the bad value
 * and what is allowed. The CLI exits with status 2 on these.
 */
export interface ConfigIssue {
  /** The file the value came from, or '--set' / the sweep file for overrides. */
  file?: string;
  /** Dotted field path, e.g. 'solver.snr'; '' for the whole document. */
  path: string;
  /** 1-based line and column of the value (or key) in the file, when known. */
  line?: number;
  col?: number;
  /** What is wrong and what is allowed. */
  message: string;
  /** The offending value, when there is one. */
  value?: unknown;
  hasValue?: boolean;
  /** Where an override came from, e.g. '--set solver.snr=-1' or 'cell solver.name=pc'. */
  origin?: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
  }

  /** One issue from its parts. */
  static at(issue: ConfigIssue): ConfigError {
    return new ConfigError([issue]);
  }
}

/** `file:line:col: path: message (got value) [from origin]`. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.file ? `${issue.file}${issue.line !== undefined ? `:${issue.line}:${issue.col ?? 1}` : ''}: ` : '';
  const path = issue.path ? `${issue.path}: ` : '';
  const got = issue.hasValue ? `; got ${showValue(issue.value)}` : '';
  const origin = issue.origin ? ` [from ${issue.origin}]` : '';
  return `${where}${path}${issue.message}${got}${origin}`;
}

/** A string without spaces that contains a slash: a file path, shown whole (its end names the file). */
const PATH_LIKE = /^\S*[\\/]\S*$/;

export function showValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string' && PATH_LIKE.test(v)) return JSON.stringify(v);
  let s: string;
  try {
    // JSON has no ±Infinity or NaN (YAML's .inf, .nan): show them as they are, not as null.
    s = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? `\u0000${x}\u0000` : x)).replace(/"\\u0000(.*?)\\u0000"/g, '$1');
  } catch {
    s = String(v);
  }
  if (s === undefined) s = String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
