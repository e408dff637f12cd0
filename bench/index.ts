export { runBench } from './main';
export type { BenchOptions, BenchResult } from './main';
