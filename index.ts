/** score-sde: sampling score-based diffusion models in TypeScript. */
export * from './core';
export * from './sdes';
export * from './models';
export * from './solvers';
export * from './metrics';
