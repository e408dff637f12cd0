import * as fs from 'fs';
import * as zlib from 'zlib';

/**
 * IDX files (the MNIST / Fashion-MNIST format, http://yann.lecun.com/exdb/mnist/), plain or
 * gzipped: a big-endian header (two zero bytes, a type code, the number of dimensions, then one
 * uint32 per dimension) followed by the values in C order. Only unsigned bytes (type 0x08), the
 * type of every MNIST-style image and label file, are read.
 */

export interface IdxArray {
  data: Uint8Array;
  shape: number[];
}

export class IdxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdxError';
  }
}

const UBYTE = 0x08;

/** Parses IDX bytes (gunzipped first when they start with the gzip magic); `where` names them in errors. */
export function decodeIdx(buf: Uint8Array, where = 'idx data'): IdxArray {
  let bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = zlib.gunzipSync(bytes);
    } catch (e) {
      throw new IdxError(`${where}: broken gzip stream: ${(e as Error).message}`);
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new IdxError(`${where}: not an IDX file (bad magic)`);
  if (bytes[2] !== UBYTE) throw new IdxError(`${where}: IDX type 0x${bytes[2].toString(16)} is not supported (only unsigned bytes, 0x08)`);
  const rank = bytes[3];
  const start = 4 + 4 * rank;
  if (rank === 0 || bytes.length < start) throw new IdxError(`${where}: truncated header`);
  const shape: number[] = [];
  for (let k = 0; k < rank; k++) shape.push(bytes.readUInt32BE(4 + 4 * k));
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - start < count) {
    throw new IdxError(`${where}: truncated: shape [${shape.join(', ')}] needs ${count} bytes of data, file has ${bytes.length - start}`);
  }
  return { data: Uint8Array.from(bytes.subarray(start, start + count)), shape };
}

export function readIdx(file: string): IdxArray {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new IdxError(`cannot read ${file}: ${(e as Error).message}`);
  }
  return decodeIdx(buf, file);
}
