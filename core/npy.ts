import * as fs from 'fs';
import { writeFileAtomic } from './files';

/**
 * NumPy .npy files (format versions 1.0–3.0): read any little- or big-endian numeric dtype
 * ('<f4', '<f8', '|u1', '<i4', …, C or Fortran order), write '<f4' / '<f8' / '|u1' version 1.0.
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */

export type NpyDtype = 'float32' | 'float64' | 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'int64' | 'uint64';
export type NpyData = Float32Array | Float64Array | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | BigInt64Array | BigUint64Array;

export interface NpyArray {
  /** Row-major (C order) data; Fortran-order files are transposed on reading. */
  data: NpyData;
  shape: number[];
  dtype: NpyDtype;
  /** The header's descr, e.g. '<f4'. */
  descr: string;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

const KINDS: Record<string, { dtype: NpyDtype; size: number }> = {
  f4: { dtype: 'float32', size: 4 },
  f8: { dtype: 'float64', size: 8 },
  u1: { dtype: 'uint8', size: 1 },
  i1: { dtype: 'int8', size: 1 },
  b1: { dtype: 'uint8', size: 1 },
  u2: { dtype: 'uint16', size: 2 },
  i2: { dtype: 'int16', size: 2 },
  u4: { dtype: 'uint32', size: 4 },
  i4: { dtype: 'int32', size: 4 },
  u8: { dtype: 'uint64', size: 8 },
  i8: { dtype: 'int64', size: 8 },
};

export class NpyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NpyError';
  }
}

/** Parses the bytes of a .npy file; `where` names it in errors. */
export function decodeNpy(buf: Buffer, where = '.npy data'): NpyArray {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new NpyError(`${where}: not a .npy file (bad magic)`);
  const major = buf[6];
  let headerLen: number;
  let offset: number;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    throw new NpyError(`${where}: unsupported .npy format version ${major}`);
  }
  const header = buf.subarray(offset, offset + headerLen).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1] === 'True';
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw new NpyError(`${where}: cannot parse header ${JSON.stringify(header.trim())}`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number.parseInt(s, 10));
  const order = descr[0];
  const kind = KINDS[descr.slice(1)];
  if (!kind || !'<>|='.includes(order)) {
    throw new NpyError(`${where}: unsupported dtype '${descr}' (supported: f4, f8, u1, i1, b1, u2, i2, u4, i4, u8, i8)`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const start = offset + headerLen;
  const bytes = count * kind.size;
  if (buf.length - start < bytes) {
    throw new NpyError(`${where}: truncated: shape (${shape.join(', ')}) needs ${bytes} bytes of data, file has ${buf.length - start}`);
  }
  // Copy into an aligned, owned buffer; swap bytes for big-endian data.
  const raw = new Uint8Array(bytes);
  raw.set(buf.subarray(start, start + bytes));
  if (order === '>' && kind.size > 1) {
    for (let i = 0; i < bytes; i += kind.size) raw.subarray(i, i + kind.size).reverse();
  }
  let data = typedView(kind.dtype, raw.buffer);
  if (fortran && shape.length > 1) data = fortranToC(data, shape);
  return { data, shape, dtype: kind.dtype, descr };
}

export function readNpy(path: string): NpyArray {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path);
  } catch (err) {
    throw new NpyError(`cannot read ${path}: ${(err as Error).message}`);
  }
  return decodeNpy(buf, path);
}

/** The data as float64 (int64 through Number). */
export function npyToFloat64(arr: NpyArray): Float64Array {
  const d = arr.data;
  if (d instanceof Float64Array) return d;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float64Array.from(d, (v) => Number(v));
  return Float64Array.from(d as ArrayLike<number>);
}

/** Element types .npy files are written in. */
export type NpyWriteDtype = 'float32' | 'float64' | 'uint8';
const WRITE_TYPES = {
  float32: { descr: '<f4', array: Float32Array },
  float64: { descr: '<f8', array: Float64Array },
  uint8: { descr: '|u1', array: Uint8Array },
} as const;

/** A version 1.0 .npy: '<f4', '<f8' or '|u1' (values must be integers 0..255), C order. */
export function encodeNpy(data: ArrayLike<number>, shape: readonly number[], dtype: NpyWriteDtype = 'float32'): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new NpyError(`encodeNpy: shape (${shape.join(', ')}) holds ${count} values, data has ${data.length}`);
  const { descr, array } = WRITE_TYPES[dtype];
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Magic (6) + version (2) + length (2) + header + '\n' is padded with spaces to a multiple of 64.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const size = array.BYTES_PER_ELEMENT;
  const out = Buffer.alloc(total + count * size);
  MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  const body = new array(count);
  for (let i = 0; i < count; i++) {
    if (dtype === 'uint8' && !(Number.isInteger(data[i]) && data[i] >= 0 && data[i] <= 255)) throw new NpyError(`encodeNpy: ${data[i]} at ${i} is no uint8`);
    body[i] = data[i];
  }
  const bytes = new Uint8Array(body.buffer);
  if (!LITTLE_ENDIAN) for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
  out.set(bytes, total);
  return out;
}

/** Writes atomically (temporary file + rename). */
export function writeNpy(path: string, data: ArrayLike<number>, shape: readonly number[], dtype: NpyWriteDtype = 'float32'): void {
  writeFileAtomic(path, encodeNpy(data, shape, dtype));
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function typedView(dtype: NpyDtype, buffer: ArrayBuffer): NpyData {
  if (!LITTLE_ENDIAN) throw new NpyError('big-endian hosts are not supported');
  switch (dtype) {
    case 'float32': return new Float32Array(buffer);
    case 'float64': return new Float64Array(buffer);
    case 'uint8': return new Uint8Array(buffer);
    case 'int8': return new Int8Array(buffer);
    case 'uint16': return new Uint16Array(buffer);
    case 'int16': return new Int16Array(buffer);
    case 'uint32': return new Uint32Array(buffer);
    case 'int32': return new Int32Array(buffer);
    case 'int64': return new BigInt64Array(buffer);
    case 'uint64': return new BigUint64Array(buffer);
  }
}

function fortranToC<T extends NpyData>(data: T, shape: number[]): T {
  const out = new (data.constructor as { new (n: number): T })(data.length);
  const nd = shape.length;
  const idx = new Array(nd).fill(0);
  // Walk C order; the Fortran offset has strides 1, s0, s0·s1, ...
  const fStride = new Array(nd);
  fStride[0] = 1;
  for (let k = 1; k < nd; k++) fStride[k] = fStride[k - 1] * shape[k - 1];
  for (let i = 0; i < data.length; i++) {
    let f = 0;
    for (let k = 0; k < nd; k++) f += idx[k] * fStride[k];
    (out as unknown as unknown[])[i] = (data as unknown as unknown[])[f];
    for (let k = nd - 1; k >= 0; k--) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}
