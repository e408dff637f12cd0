import * as crypto from 'crypto';
import * as fs from 'fs';
import { CheckedExperiment } from '../configs/resolve';
import { classifierReferenceFile } from '../models/classifier-card';
import { ExperimentConfig } from '../configs/schema';
import { isNamedMask } from '../solvers/masks';

/**
 * What a run's result depends on besides its config text: the files it reads (model, card, x_T,
 * reference, inpainting's images and mask file), each by path, size and SHA-256 of its content. Recorded in the manifest; a sweep
 * treats a cell as done only when the config and every fingerprint match, so replacing a model
 * file reruns the cells that used it (and touching a file without changing it does not).
 */

export interface FileFingerprint {
  path: string;
  bytes: number;
  sha256: string;
}

export type InputFingerprints = Partial<
  Record<'model' | 'card' | 'xT' | 'reference' | 'classifier' | 'featureReference' | 'inpaintImages' | 'inpaintMask', FileFingerprint>
>;

/** Hashes by (path, size, mtime, inode): a sweep hashes a shared model once, not once per cell. */
const cache = new Map<string, FileFingerprint>();

export function fingerprintFile(file: string): FileFingerprint {
  const st = fs.statSync(file);
  const key = `${file}\0${st.size}\0${st.mtimeMs}\0${st.ino}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let pos = 0; ; ) {
      const got = fs.readSync(fd, buf, 0, buf.length, pos);
      if (got === 0) break;
      hash.update(buf.subarray(0, got));
      pos += got;
    }
  } finally {
    fs.closeSync(fd);
  }
  const fp = { path: file, bytes: st.size, sha256: hash.digest('hex') };
  if (cache.size > 1000) cache.clear();
  cache.set(key, fp);
  return fp;
}

/**
 * The input files of a config, as far as `checkExperiment` resolved them (plus the run's reference
 * file); with image metrics, the classifier and its reference statistics (the JSON, rewritten
 * whenever `npm run metrics:reference` remakes them).
 */
export function inputFingerprints(config: ExperimentConfig, checked: Pick<CheckedExperiment, 'cardPath' | 'features'>, referenceFile?: string): InputFingerprints {
  const out: InputFingerprints = {};
  if (config.model.type === 'onnx') out.model = fingerprintFile(config.model.path);
  if (checked.cardPath && fs.existsSync(checked.cardPath)) out.card = fingerprintFile(checked.cardPath);
  if (config.sampling.xT) out.xT = fingerprintFile(config.sampling.xT);
  if (referenceFile) out.reference = fingerprintFile(referenceFile);
  if (checked.features?.source === 'classifier' && fs.existsSync(checked.features.path)) {
    out.classifier = fingerprintFile(checked.features.path);
    const stats = classifierReferenceFile(checked.features.path);
    if (stats && fs.existsSync(stats)) out.featureReference = fingerprintFile(stats);
  }
  if (config.inpaint) {
    out.inpaintImages = fingerprintFile(config.inpaint.images);
    if (!isNamedMask(config.inpaint.mask)) out.inpaintMask = fingerprintFile(config.inpaint.mask);
  }
  return out;
}

/** Whether two fingerprint sets name the same files with the same content. */
export function sameInputs(a: InputFingerprints | undefined, b: InputFingerprints): boolean {
  if (!a) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof InputFingerprints>;
  for (const k of keys) {
    if (a[k]?.path !== b[k]?.path || a[k]?.sha256 !== b[k]?.sha256) return false;
  }
  return true;
}
