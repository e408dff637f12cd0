export * from './errors';
export * from './score';
export * from './noise';
export { BROWNIAN_DEPTH, BrownianPath } from './brownian';
export type { BrownianPathOptions } from './brownian';
export { MAX_AUX, MAX_STREAM } from './streams';
export * from './npy';
export * from './files';
