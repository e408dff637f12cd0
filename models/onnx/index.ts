export * from './onnx-score-model';
export * from './load';
export { checkCard } from './card-io';
export { ModelCardConflictError, ModelCardMismatchError, ModelFileError } from './errors';
export { NETWORK_FIELDS, cardPathFor, readModelCard } from './card-source';
export type { ModelCardReading } from './card-source';
export { availableExecutionProviders, cudaDiagnosis, probeCudaSession } from './execution-provider';
export { formatCudaDiagnosis } from './cuda-diagnosis';
export type { CudaDiagnosis, ProviderLibState } from './cuda-diagnosis';
export * from './time-convention';
export * from './float16';
export { CARD_METADATA_KEY, readOnnxTopLevel, readOnnxTopLevelFile } from './onnx-file';
export { ENABLE_CUDA_HINT } from './execution-provider';
/** @internal onnxruntime itself, for the benchmarks; not in the published declarations (see OnnxScoreModel's constructor). */
export { ort } from './ort';
