/**
 * The element types of the graphs' inputs, apart from the tensor code (./tensors.ts) so that the
 * package's declarations can name them without onnxruntime's types (which need the DOM library).
 */
export type FloatType = 'float32' | 'float16' | 'float64';
export type FloatBuffer = Float32Array | Float64Array | Uint16Array;

/** A conditional network's label input: integer class indices (a float input holds them exactly). */
export type LabelType = 'int64' | 'int32' | 'float32';
export type LabelBuffer = BigInt64Array | Int32Array | Float32Array;
