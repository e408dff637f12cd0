import * as fs from 'fs';
import { ReferencePlan } from '../configs/resolve';
import { ExperimentConfig } from '../configs/schema';
import { Metrics } from '../metrics';
import type { FeatureMetricsInfo } from './feature-metrics';
import { InputFingerprints } from './fingerprint';

/**
 * manifest.json of a run folder: what was run (the resolved config, seed, SDE, solver, model and
 * its input files' fingerprints), how (versions, machine, NFE, timings) and how well (metrics).
 *
 * `status` says how far the run got; only 'complete' is a finished run:
 *   'metrics-pending'  samples.npy is whole and the folder published; the metrics were still
 *                      running (a run killed then leaves this state, samples kept)
 *   'metrics-failed'   samples.npy is whole, the metric step failed (metricsError says why)
 *   'complete'         samples and metrics (or no metrics: reference none)
 */

export const MANIFEST_FORMAT = 'score-sde-run/1';

export type RunStatus = 'complete' | 'metrics-pending' | 'metrics-failed';

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  status: RunStatus;
  name: string;
  createdAt: string;
  configFile?: string;
  /** The validated config with defaults filled and paths absolute. */
  config: ExperimentConfig;
  seed: number;
  n: number;
  sampleShape: number[];
  /** Samples per solver call and per block written (config or default). */
  batchSize: number;
  sde: Record<string, unknown>;
  solver: { name: string; settings: Record<string, unknown>; steps: number | null; eps: number };
  model: { type: string; path?: string; card?: string; executionProvider: string; deviceReason: string };
  /** Path, size and SHA-256 of each input file (model, card, x_T, reference, inpainting images and mask file). */
  inputs: InputFingerprints;
  nfe: number;
  calls: number;
  evaluations: number;
  /**
   * Classifier-free guidance: γ (and w = γ − 1), the labels cycled over the samples (and their
   * class names), and the network work: calls and rows (per sample) beside the NFE, since one
   * guided evaluation is one NFE but 2 rows of network work (1 at γ ∈ {0, 1}).
   */
  guidance?: {
    convention: string;
    scale: number;
    w: number;
    given: 'scale' | 'w' | 'none';
    labels: number[];
    classes: string[];
    networkCalls: number;
    networkRows: number;
    networkRowsPerSample: number;
  };
  /** Inpainting: the method, the images and the mask (file or name), RePaint's resample and jump. */
  inpaint?: { method: string; images: string; mask: string; resample?: number; jump?: number };
  /** Sampling time (solver and model), and the whole run including loading and metrics. */
  wallTimeMs: number;
  totalTimeMs: number;
  /** What the solver flagged without failing (also printed on stderr). */
  warnings: string[];
  /** n: reference rows the metrics used; samples: sample rows they used (the first ones). */
  reference: { source: string; from?: string; n?: number; samples?: number; path?: string };
  /** Non-finite values are stored as null (JSON has no NaN) and named in warnings. */
  metrics: Metrics;
  /** The classifier and reference behind fd, kid, classTV and confidence in metrics (n, floors), or why there are none. */
  features?: FeatureMetricsInfo;
  metricsError?: string;
  files: { samples: string; preview?: string; manifest: string };
  versions: { package: string; node: string; onnxruntime: Record<string, string> | null };
  environment: { platform: string; arch: string; cores: number; cpu: string; hostname: string };
}

/** How a run's reference is described in its manifest. */
export function describeReference(plan: ReferencePlan, rows: number | undefined, sampleRows: number | undefined): Manifest['reference'] {
  if (plan.source === 'none') return { source: 'none', from: plan.reason };
  if (plan.source === 'exact') return { source: 'exact', from: plan.from, n: rows, samples: sampleRows };
  return { source: 'npy', from: plan.from, path: plan.path, n: rows, samples: sampleRows };
}

/** The manifest in a folder, if it is one of ours (undefined when missing or unreadable). */
export function readManifest(file: string): Manifest | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
    return m && m.format === MANIFEST_FORMAT ? m : undefined;
  } catch {
    return undefined;
  }
}

let ortVersions: Record<string, string> | null | undefined;
/** onnxruntime-node's versions, or null where it cannot be loaded. */
export function onnxruntimeVersions(): Record<string, string> | null {
  if (ortVersions === undefined) {
    try {
      ortVersions = { ...(require('../models/onnx/ort').ort.env.versions as Record<string, string>) };
    } catch {
      ortVersions = null;
    }
  }
  return ortVersions;
}
