export * from './onnx-score-model';
export * from './time-convention';
export * from './float16';
export { CARD_METADATA_KEY, readOnnxTopLevel } from './onnx-file';
export { ENABLE_CUDA_HINT } from './execution-provider';
export { ort } from './ort';
