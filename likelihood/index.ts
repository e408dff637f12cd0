export * from './log-likelihood';
export * from './divergence';
export * from './dequantize';
export * from './probes';
export * from './finite-differences';
