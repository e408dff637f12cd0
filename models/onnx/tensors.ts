import { ort } from './ort';
import { toFloat16 } from './float16';
import { TimeBuffer, TimeInputType } from './time-convention';

/** Buffers and tensors of the element types the graphs here take. */
import type { FloatBuffer, FloatType, LabelBuffer, LabelType } from './tensor-types';
export type { FloatBuffer, FloatType, LabelBuffer, LabelType } from './tensor-types';

export function floatBuffer(type: FloatType, size: number): FloatBuffer {
  return type === 'float16' ? new Uint16Array(size) : type === 'float64' ? new Float64Array(size) : new Float32Array(size);
}

export function timeBuffer(type: TimeInputType, size: number): TimeBuffer {
  switch (type) {
    case 'float16':
      return new Uint16Array(size);
    case 'float64':
      return new Float64Array(size);
    case 'int64':
      return new BigInt64Array(size);
    case 'int32':
      return new Int32Array(size);
    default:
      return new Float32Array(size);
  }
}


export function labelBuffer(type: LabelType, size: number): LabelBuffer {
  return type === 'int64' ? new BigInt64Array(size) : type === 'int32' ? new Int32Array(size) : new Float32Array(size);
}

export function convertFloats(type: FloatType, x: Float32Array): FloatBuffer {
  if (type === 'float64') return Float64Array.from(x);
  const h = new Uint16Array(x.length);
  toFloat16(x, 0, x.length, h);
  return h;
}

export function makeTensor(type: 'float32' | 'int64' | 'int32', data: number[], dims: number[]): ort.Tensor {
  if (type === 'int64') return new ort.Tensor('int64', BigInt64Array.from(data.map((v) => BigInt(Math.round(v)))), dims);
  if (type === 'int32') return new ort.Tensor('int32', Int32Array.from(data), dims);
  return new ort.Tensor('float32', Float32Array.from(data), dims);
}

export function noop(): void {}
