export * from './gaussian-mixture';
export * from './card';
export * from './onnx';
