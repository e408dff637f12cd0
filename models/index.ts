export * from './gaussian-mixture';
export * from './card';
export * from './shipped';
export * from './onnx';
