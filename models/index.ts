export * from './gaussian-mixture';
export * from './gaussian-full';
export * from './class-mixture';
export * from './guidance';
export * from './card';
export * from './shipped';
export * from './onnx';
