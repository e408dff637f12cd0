/** score-sde: sampling score-based diffusion models in TypeScript. */
export * from './core';
export * from './sdes';
export * from './models';
export * from './solvers';
export * from './metrics';
export * from './likelihood';
// Two modules export `predict`: the package's is the model prediction in a wanted
// parameterization (sdes/predict.ts); the PC predictor step stays under solvers/.
export { predict } from './sdes';
