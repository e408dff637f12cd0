import * as buffer from 'buffer';
import * as fs from 'fs';
import { InputFileError, readInputFile, statInputFile, writeFileAtomic } from './files';
import { checkWriteFault } from './test-faults';

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

/** What a .npy header says, and where the data starts. */
export interface NpyHeader {
  shape: number[];
  dtype: NpyDtype;
  /** The header's descr, e.g. '<f4'. */
  descr: string;
  fortran: boolean;
  /** Byte offset of the data. */
  dataOffset: number;
  /** Bytes per element. */
  itemSize: number;
  /** Values in the whole array (product of the shape). */
  count: number;
}

/** Largest header accepted (NumPy writes < 1 KiB; version 2+ allows 4 GiB, which nobody needs). */
const MAX_HEADER_BYTES = 1 << 20;

/** Bytes of the fixed prefix and the header length, from the first 12 bytes of a file. */
function headerSpan(buf: Buffer, where: string): { offset: number; headerLen: number; major: number } {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new NpyError(`${where}: not a .npy file (bad magic)`);
  const major = buf[6];
  if (major === 1) return { offset: 10, headerLen: buf.readUInt16LE(8), major };
  if (major === 2 || major === 3) {
    if (buf.length < 12) throw new NpyError(`${where}: truncated header`);
    const headerLen = buf.readUInt32LE(8);
    if (headerLen > MAX_HEADER_BYTES) throw new NpyError(`${where}: header of ${headerLen} bytes, over the limit of ${MAX_HEADER_BYTES}`);
    return { offset: 12, headerLen, major };
  }
  throw new NpyError(`${where}: unsupported .npy format version ${major}`);
}

/** Parses the header at the start of `buf` (which must hold at least the whole header). */
export function parseNpyHeader(buf: Buffer, where = '.npy data'): NpyHeader {
  const { offset, headerLen, major } = headerSpan(buf, where);
  if (buf.length < offset + headerLen) throw new NpyError(`${where}: truncated header`);
  const header = buf.subarray(offset, offset + headerLen).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1] === 'True';
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw new NpyError(`${where}: cannot parse header ${JSON.stringify(header.trim().slice(0, 200))}`);
  const parts = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  // Dimensions are non-negative integers ('2.5' or '-1' is a broken file, not a size to round).
  if (!parts.every((s) => /^\d+L?$/.test(s))) throw new NpyError(`${where}: shape (${shapeText.trim()}) is not a tuple of non-negative integers`);
  const shape = parts.map((s) => Number.parseInt(s, 10));
  const order = descr[0];
  const kind = KINDS[descr.slice(1)];
  if (!kind || !'<>|='.includes(order)) {
    throw new NpyError(`${where}: unsupported dtype '${descr}' (supported: f4, f8, u1, i1, b1, u2, i2, u4, i4, u8, i8)`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(count * kind.size)) throw new NpyError(`${where}: shape (${shape.join(', ')}) is too large`);
  return { shape, dtype: kind.dtype, descr, fortran, dataOffset: offset + headerLen, itemSize: kind.size, count };
}

/** Parses the bytes of a .npy file; `where` names it in errors. */
export function decodeNpy(buf: Buffer, where = '.npy data'): NpyArray {
  const h = parseNpyHeader(buf, where);
  const bytes = h.count * h.itemSize;
  if (buf.length - h.dataOffset < bytes) {
    throw new NpyError(`${where}: truncated: shape (${h.shape.join(', ')}) needs ${bytes} bytes of data, file has ${buf.length - h.dataOffset}`);
  }
  let data = rawToTyped(buf.subarray(h.dataOffset, h.dataOffset + bytes), h);
  if (h.fortran && h.shape.length > 1) data = fortranToC(data, h.shape);
  return { data, shape: h.shape, dtype: h.dtype, descr: h.descr };
}

/** Copies into an aligned, owned buffer (swapping big-endian bytes) and views it as the dtype. */
function rawToTyped(bytes: Uint8Array, h: NpyHeader): NpyData {
  const raw = new Uint8Array(bytes.length);
  raw.set(bytes);
  if (h.descr[0] === '>' && h.itemSize > 1) {
    for (let i = 0; i < raw.length; i += h.itemSize) raw.subarray(i, i + h.itemSize).reverse();
  }
  return typedView(h.dtype, raw.buffer);
}

/** Largest .npy read whole into memory (Buffer's own limit). */
const MAX_WHOLE_READ = Math.min(buffer.constants.MAX_LENGTH, 2 ** 32);

export function readNpy(path: string): NpyArray {
  let buf: Buffer;
  try {
    buf = readInputFile(path, MAX_WHOLE_READ);
  } catch (err) {
    throw new NpyError(`cannot read ${path}: ${err instanceof InputFileError ? err.reason : (err as Error).message}`);
  }
  return decodeNpy(buf, path);
}

/**
 * The header of a .npy file, reading only the header: the file must be a regular file (not a
 * device such as /dev/zero) whose size covers the data the header promises.
 */
export function readNpyHeader(path: string): NpyHeader {
  let st: fs.Stats;
  try {
    st = statInputFile(path, Number.MAX_SAFE_INTEGER);
  } catch (err) {
    throw new NpyError(`cannot read ${path}: ${err instanceof InputFileError ? err.reason : (err as Error).message}`);
  }
  const fd = fs.openSync(path, 'r');
  try {
    const pre = Buffer.alloc(12);
    const got = fs.readSync(fd, pre, 0, 12, 0);
    const { offset, headerLen } = headerSpan(pre.subarray(0, got), path);
    const buf = Buffer.alloc(offset + headerLen);
    fs.readSync(fd, buf, 0, buf.length, 0);
    const h = parseNpyHeader(buf, path);
    const bytes = h.count * h.itemSize;
    if (st.size - h.dataOffset < bytes) {
      throw new NpyError(`${path}: truncated: shape (${h.shape.join(', ')}) needs ${bytes} bytes of data, file has ${Math.max(0, st.size - h.dataOffset)}`);
    }
    return h;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Rows start..start+count-1 (along the first axis) of a .npy file as float64, reading only those
 * bytes (Fortran-order files, whose rows are not contiguous, are read whole).
 */
export function readNpyRows(path: string, header: NpyHeader, start: number, count: number): Float64Array {
  const rows = header.shape[0] ?? 1;
  if (!(Number.isInteger(start) && Number.isInteger(count) && start >= 0 && count >= 0 && start + count <= rows)) {
    throw new NpyError(`${path}: rows ${start}..${start + count - 1} are outside its ${rows} rows`);
  }
  const perRow = header.shape.length ? header.count / Math.max(rows, 1) : 1;
  if (header.fortran && header.shape.length > 1) return npyToFloat64(readNpy(path)).slice(start * perRow, (start + count) * perRow);
  const bytes = Buffer.alloc(count * perRow * header.itemSize);
  const fd = fs.openSync(path, 'r');
  try {
    let done = 0;
    while (done < bytes.length) {
      const got = fs.readSync(fd, bytes, done, bytes.length - done, header.dataOffset + start * perRow * header.itemSize + done);
      if (got === 0) throw new NpyError(`${path}: truncated while reading rows ${start}..${start + count - 1}`);
      done += got;
    }
  } finally {
    fs.closeSync(fd);
  }
  return npyToFloat64({ data: rawToTyped(bytes, header), shape: [count, ...header.shape.slice(1)], dtype: header.dtype, descr: header.descr });
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

/** The header block of a version 1.0 C-order .npy (padded to a multiple of 64 bytes). */
function npyHeaderBytes(shape: readonly number[], dtype: NpyWriteDtype): Buffer {
  const { descr } = WRITE_TYPES[dtype];
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Magic (6) + version (2) + length (2) + header + '\n' is padded with spaces to a multiple of 64.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = Buffer.alloc(total);
  MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  return out;
}

/** The values in the file's element type (little-endian); uint8 values must be integers 0..255. */
function encodeBody(data: ArrayLike<number>, dtype: NpyWriteDtype): Float32Array | Float64Array | Uint8Array {
  const body = new WRITE_TYPES[dtype].array(data.length);
  for (let i = 0; i < data.length; i++) {
    if (dtype === 'uint8' && !(Number.isInteger(data[i]) && data[i] >= 0 && data[i] <= 255)) throw new NpyError(`encodeNpy: ${data[i]} at ${i} is no uint8`);
    body[i] = data[i];
  }
  return body;
}

/** A version 1.0 .npy: '<f4', '<f8' or '|u1', C order. */
export function encodeNpy(data: ArrayLike<number>, shape: readonly number[], dtype: NpyWriteDtype = 'float32'): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new NpyError(`encodeNpy: shape (${shape.join(', ')}) holds ${count} values, data has ${data.length}`);
  const body = encodeBody(data, dtype);
  return Buffer.concat([npyHeaderBytes(shape, dtype), new Uint8Array(body.buffer)]);
}

/** Writes atomically (temporary file + rename). */
export function writeNpy(path: string, data: ArrayLike<number>, shape: readonly number[], dtype: NpyWriteDtype = 'float32'): void {
  writeFileAtomic(path, encodeNpy(data, shape, dtype));
}

/** A value that is finite as float64 but not in the element type it is written in (overflow), or NaN/±∞. */
export class NonFiniteWriteError extends Error {
  constructor(
    readonly file: string,
    /** Flat index of the value in the whole array, and the value before conversion. */
    readonly index: number,
    readonly value: number,
    readonly dtype: 'float32' | 'float64',
  ) {
    super(`${file}: value ${index} is ${value}, which is ${Number.isFinite(value) ? `beyond the ${dtype} range (it would be written as ±Infinity)` : 'not finite'}`);
    this.name = 'NonFiniteWriteError';
  }
}

/**
 * Writes a .npy of a known final shape row block by row block, so that memory holds one block:
 * the header with the final shape first, then each block appended (converted to the element
 * type, and checked to be finite in that type), then `close()` checks the row count, fsyncs and
 * renames the temporary file into place. `abort()` removes it. Readers never see a partial file.
 */
export class NpyStreamWriter {
  private fd: number | undefined;
  private readonly tmp: string;
  private values = 0;
  private readonly count: number;

  constructor(
    readonly file: string,
    readonly shape: readonly number[],
    readonly dtype: 'float32' | 'float64' = 'float32',
  ) {
    this.count = shape.reduce((a, b) => a * b, 1);
    this.tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    checkWriteFault(file);
    this.fd = fs.openSync(this.tmp, 'wx');
    try {
      this.write(npyHeaderBytes(shape, dtype));
    } catch (err) {
      this.abort();
      throw err;
    }
  }

  /** Appends whole rows (values in C order). Throws NonFiniteWriteError before writing a bad block. */
  append(data: ArrayLike<number>): void {
    if (this.values + data.length > this.count) throw new NpyError(`${this.file}: more values than the shape (${this.shape.join(', ')}) holds`);
    const body = encodeBody(data, this.dtype);
    for (let i = 0; i < body.length; i++) {
      if (!Number.isFinite(body[i])) throw new NonFiniteWriteError(this.file, this.values + i, data[i], this.dtype);
    }
    checkWriteFault(this.file);
    this.write(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
    this.values += data.length;
  }

  /** Finishes the file: every value written, data on disk, then renamed into place. */
  close(): void {
    if (this.values !== this.count) {
      this.abort();
      throw new NpyError(`${this.file}: ${this.values} values written, the shape (${this.shape.join(', ')}) holds ${this.count}`);
    }
    try {
      fs.fsyncSync(this.fd!);
      fs.closeSync(this.fd!);
      this.fd = undefined;
      fs.renameSync(this.tmp, this.file);
    } catch (err) {
      this.abort();
      throw err;
    }
  }

  /** Drops the temporary file (after a failure). Safe to call more than once. */
  abort(): void {
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = undefined;
    }
    fs.rmSync(this.tmp, { force: true });
  }

  private write(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(this.fd!, bytes, done, bytes.length - done);
  }
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
