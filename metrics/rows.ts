/** Sample sets are row-major n × dim arrays of any numeric type. */
export type Samples = ArrayLike<number>;

/** The number of rows of x, checking that dim divides its length. */
export function checkRows(x: Samples, dim: number, name: string): number {
  if (!(Number.isInteger(dim) && dim >= 1)) throw new RangeError(`dim must be an integer >= 1, got ${dim}`);
  if (x.length % dim !== 0) throw new RangeError(`${name} has ${x.length} values, not a multiple of dim=${dim}`);
  return x.length / dim;
}
