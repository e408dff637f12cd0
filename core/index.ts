export * from './errors';
export * from './score';
export * from './noise';
export * from './npy';
export * from './files';
