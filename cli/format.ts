/** A number for tables and summary lines: integers as they are, else 4 significant digits (exponent outside [1e-3, 1e3)); null/NaN/±∞ as text. */
export function formatNumber(v: number): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return String(v ?? 'NaN');
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  return Math.abs(v) >= 1000 || Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toPrecision(4);
}
