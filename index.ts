/**
 * score-sde: sampling score-based diffusion models (Song et al., SDEs) in TypeScript.
 *
 * The public surface, by layer (each layer uses only those listed before it):
 *
 * - **core**: errors (`ParameterError`), the {@link ScoreModel} interface, counter-based noise
 *   (`NoiseSource`), `.npy` reading and writing (`readNpy`, `writeNpy`, `encodeNpy`, `decodeNpy`),
 *   atomic file writes.
 * - **sdes**: `VESDE`, `VPSDE`, `SubVPSDE`, β schedules, perturbation kernels, the reverse SDE and
 *   probability-flow ODE, score/ε/x0 conversions (`toScore`, `fromScore`).
 * - **models**: exact Gaussian-mixture scores (`GaussianMixtureScore`), model cards, ONNX score
 *   networks (`loadOnnxScoreModel`, its `log` option silences the line naming the execution
 *   provider), the shipped networks by name (`shipped('fashion-mnist/unet-vp')`, `listShipped()`),
 *   the CUDA diagnosis (`cudaDiagnosis()`), classifier-free guidance over a class-conditional
 *   network (`ClassifierFreeGuidance`; ONNX networks with a label input, `ClassMixtureScore`
 *   exactly) and the full-covariance Gaussian score (`GaussianScore`).
 * - **solvers**: `sample()` (Euler–Maruyama, predictor–corrector, ODE Euler/Heun/RK45), the
 *   solver registry, and inpainting (`withInpainting`: replacement, RePaint resampling).
 * - **metrics**: sliced Wasserstein, MMD, moment errors, pixel statistics, `computeMetrics`.
 * - **configs**: `loadConfig`, `checkExperiment`, `buildModel`, `loadSweep` and the config types.
 *
 * The `score-sde` command line (`dist/cli/main.js`) is built on the same pieces.
 * @module score-sde
 */
export * from './core';
export * from './sdes';
export * from './models';
export * from './solvers';
export * from './metrics';
export * from './likelihood';
// Two modules export `predict`: the package's is the model prediction in a wanted
// parameterization (sdes/predict.ts); the PC predictor step stays under solvers/.
export { predict } from './sdes';
export * from './configs';
