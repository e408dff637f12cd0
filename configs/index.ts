/**
 * Experiment configs as a library: `loadConfig` reads a YAML or JSON file (with `extends` and
 * `--set`-style overrides) into a validated {@link ExperimentConfig}, `checkExperiment` checks it
 * against the model card and the files it names without running anything, and `buildModel` makes
 * its SDE and score model. Every problem is a {@link ConfigError} whose issues name the file,
 * line:column and field. Sweeps: `loadSweep`.
 *
 * This barrel is the deliberate public part of `configs/`; the rest is the loader's machinery.
 * @module
 */
export { loadConfig } from './load';
export type { LoadedConfig, LoadOptions } from './load';
export { ConfigError, formatIssue } from './errors';
export type { ConfigIssue } from './errors';
export { experimentConfigSchema } from './schema';
export type { ExperimentConfig, ExperimentConfigInput, ModelConfig, ReferenceConfig, SdeConfig, SolverConfig } from './schema';
export { checkExperiment } from './resolve';
export type { CheckedExperiment, ReferencePlan } from './resolve';
export { buildModel, ModelCache } from './model-loader';
export type { BuildOptions, BuiltModel } from './model-loader';
export { loadSweep, sweepConfigSchema } from './sweep';
export type { LoadedSweep, SweepCell, SweepConfig } from './sweep';
