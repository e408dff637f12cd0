/**
 * Just enough of the ONNX protobuf to read a ModelProto's top level: onnxruntime-node exposes no
 * model metadata (metadata_props), which is where the model card lives, and this walk also tells
 * a file that is no ONNX model at all from one onnxruntime cannot run. Plus a writer for the
 * smallest model there is (one Identity node), used to probe execution providers.
 */

import { closeSync, fstatSync, openSync, readSync } from 'fs';

/** The card's key in ModelProto.metadata_props. */
export const CARD_METADATA_KEY = 'score_sde_card';

export interface OnnxTopLevel {
  irVersion?: number;
  producerName?: string;
  hasGraph: boolean;
  metadata: Record<string, string>;
}

/** Bytes of a model: a buffer in memory, or a file read piecewise (the graph is never read). */
interface ByteSource {
  readonly length: number;
  read(pos: number, len: number): Uint8Array;
}

function bufferSource(buf: Uint8Array): ByteSource {
  return { length: buf.length, read: (pos, len) => buf.subarray(pos, pos + len) };
}

function fileSource(fd: number, length: number): ByteSource {
  return {
    length,
    read(pos, len) {
      const out = Buffer.alloc(Math.min(len, length - pos));
      let got = 0;
      while (got < out.length) {
        const n = readSync(fd, out, got, out.length - got, pos + got);
        if (n === 0) break;
        got += n;
      }
      return out.subarray(0, got);
    },
  };
}

class Reader {
  pos = 0;
  constructor(readonly src: ByteSource, readonly end = src.length) {}

  varint(): number {
    const head = this.src.read(this.pos, Math.min(10, this.end - this.pos));
    let result = 0;
    let mul = 1;
    for (let i = 0; i < head.length; i++) {
      const b = head[i];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        this.pos += i + 1;
        return result;
      }
      mul *= 128;
    }
    throw new Error(head.length < 10 ? 'truncated varint' : 'varint longer than 10 bytes');
  }

  /** A length-delimited field's bytes, or with `skip` only its position (huge graphs unread). */
  bytes(skip = false): Uint8Array {
    const len = this.varint();
    if (len > this.end - this.pos) throw new Error(`length ${len} runs past the end`);
    const out = skip ? EMPTY : this.src.read(this.pos, len);
    this.pos += len;
    return out;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.advance(8);
    else if (wire === 2) this.bytes(true);
    else if (wire === 5) this.advance(4);
    else throw new Error(`unsupported wire type ${wire}`);
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw new Error('truncated fixed-width field');
    this.pos += n;
  }
}

const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder('utf-8', { fatal: true });

// ModelProto fields and their wire types (onnx.proto3): 1 ir_version, 2 producer_name,
// 3 producer_version, 4 domain, 5 model_version, 6 doc_string, 7 graph, 8 opset_import,
// 14 metadata_props, 20 training_info, 25 functions, 26 configuration.
const MODEL_WIRE: Record<number, number> = { 1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2 };

/**
 * Walks a ModelProto's top-level fields. Throws (with a short reason) when the bytes are not one:
 * a broken protobuf, a known field with the wrong wire type, or no graph.
 */
export function readOnnxTopLevel(buf: Uint8Array): OnnxTopLevel {
  return walkTopLevel(bufferSource(buf));
}

/**
 * readOnnxTopLevel on a file, reading only the top-level keys, the metadata and the producer:
 * the graph (nearly all of a model's bytes) is skipped by its length, so `validate` can read a
 * model's embedded card cheaply and without onnxruntime.
 */
export function readOnnxTopLevelFile(file: string): OnnxTopLevel {
  const fd = openSync(file, 'r');
  try {
    return walkTopLevel(fileSource(fd, fstatSync(fd).size));
  } finally {
    closeSync(fd);
  }
}

function walkTopLevel(src: ByteSource): OnnxTopLevel {
  if (src.length === 0) throw new Error('the file is empty');
  const r = new Reader(src);
  const out: OnnxTopLevel = { hasGraph: false, metadata: {} };
  while (r.pos < r.end) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 0) throw new Error('field number 0');
    const expected = MODEL_WIRE[field];
    if (expected !== undefined && expected !== wire) {
      throw new Error(`field ${field} has wire type ${wire}, expected ${expected}`);
    }
    if (field === 1) out.irVersion = r.varint();
    else if (field === 2) out.producerName = utf8.decode(r.bytes());
    else if (field === 7) {
      r.bytes(true);
      out.hasGraph = true;
    } else if (field === 14) {
      const e = new Reader(bufferSource(r.bytes()));
      let k = '';
      let v = '';
      while (e.pos < e.end) {
        const ekey = e.varint();
        const ewire = ekey & 7;
        if (ekey === (1 << 3) + 2) k = utf8.decode(e.bytes());
        else if (ekey === (2 << 3) + 2) v = utf8.decode(e.bytes());
        else e.skip(ewire);
      }
      out.metadata[k] = v;
    } else r.skip(wire);
  }
  if (!out.hasGraph) throw new Error('no graph in it');
  if (out.irVersion === undefined) throw new Error('no ir_version in it');
  return out;
}

// ---- writer, for the probe model ----

function varintBytes(v: number): number[] {
  const out: number[] = [];
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function fieldVarint(field: number, v: number): number[] {
  return [...varintBytes(field * 8), ...varintBytes(v)];
}

function fieldBytes(field: number, payload: number[] | string): number[] {
  const bytes = typeof payload === 'string' ? [...new TextEncoder().encode(payload)] : payload;
  return [...varintBytes(field * 8 + 2), ...varintBytes(bytes.length), ...bytes];
}

const ELEM_TYPES = { float32: 1, int32: 6, int64: 7, float16: 10, float64: 11 } as const;

export interface TinyValue {
  name: string;
  type: keyof typeof ELEM_TYPES;
  /** Numbers are fixed sizes, strings symbolic ones. */
  dims: (number | string)[];
}

export interface TinyNode {
  op: string;
  inputs: string[];
  outputs: string[];
  /** Integer attributes only (e.g. Concat's axis). */
  ints?: Record<string, number>;
}

function valueInfo(v: TinyValue): number[] {
  const dims = v.dims.flatMap((d) => fieldBytes(1, typeof d === 'number' ? fieldVarint(1, d) : fieldBytes(2, d)));
  const tensorType = fieldBytes(1, [...fieldVarint(1, ELEM_TYPES[v.type]), ...fieldBytes(2, dims)]);
  return [...fieldBytes(1, v.name), ...fieldBytes(2, tensorType)]; // ValueInfoProto { name, type }
}

function nodeBytes(n: TinyNode): number[] {
  const attrs = Object.entries(n.ints ?? {}).flatMap(([name, i]) =>
    fieldBytes(5, [...fieldBytes(1, name), ...fieldVarint(3, i), ...fieldVarint(20, 2)]), // AttributeProto INT
  );
  return [...n.inputs.flatMap((i) => fieldBytes(1, i)), ...n.outputs.flatMap((o) => fieldBytes(2, o)), ...fieldBytes(4, n.op), ...attrs];
}

/**
 * Encodes a small ONNX model (opset 13, IR 8) from nodes and typed inputs/outputs, with optional
 * metadata_props: the execution-provider probe, and graphs that tests need to be malformed.
 */
export function encodeTinyModel(spec: {
  nodes: TinyNode[];
  inputs: TinyValue[];
  outputs: TinyValue[];
  metadata?: Record<string, string>;
}): Uint8Array {
  const graph = [
    ...spec.nodes.flatMap((n) => fieldBytes(1, nodeBytes(n))),
    ...fieldBytes(2, 'tiny'),
    ...spec.inputs.flatMap((v) => fieldBytes(11, valueInfo(v))),
    ...spec.outputs.flatMap((v) => fieldBytes(12, valueInfo(v))),
  ];
  const opset = [...fieldBytes(1, ''), ...fieldVarint(2, 13)];
  const meta = Object.entries(spec.metadata ?? {}).flatMap(([k, v]) => fieldBytes(14, [...fieldBytes(1, k), ...fieldBytes(2, v)]));
  return new Uint8Array([...fieldVarint(1, 8), ...fieldBytes(2, 'score-sde'), ...fieldBytes(7, graph), ...fieldBytes(8, opset), ...meta]);
}

/** A float32 [1] → [1] Identity model: the cheapest session an execution provider can be tried on. */
export function probeModelBytes(): Uint8Array {
  return encodeTinyModel({
    nodes: [{ op: 'Identity', inputs: ['a'], outputs: ['b'] }],
    inputs: [{ name: 'a', type: 'float32', dims: [1] }],
    outputs: [{ name: 'b', type: 'float32', dims: [1] }],
  });
}
