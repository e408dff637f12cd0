export * from './score';
export * from './parameterization';
export * from './gaussian-mixture';
export * from './card';
export * from './onnx';
