import { NpyHeader, readNpyHeader, readNpyRows } from '../core/npy';
import { isNamedMask, namedMask } from '../solvers/masks';
import { ConfigError, ConfigIssue } from './errors';
import { PathKey, Source, locate } from './load';
import { ExperimentConfig } from './schema';

/**
 * The .npy files a config points at (sampling.xT, a reference, inpainting's images and mask): checked from their headers by
 * `validate` and before a run (regular files, float or numeric dtypes, integer shapes, enough rows
 * of the sample shape), and their values checked as they are read (finite). Every problem is a
 * ConfigError at the field that names the file.
 */

function issue(sources: readonly Source[], keyPath: PathKey[], message: string, value?: unknown): ConfigError {
  const at: Partial<ConfigIssue> = locate(sources, keyPath);
  return ConfigError.at({ ...at, path: keyPath.join('.'), message, value, hasValue: value !== undefined });
}

/** The header of a .npy input, or a ConfigError at `field`. */
export function inputHeader(file: string, field: PathKey[], sources: readonly Source[]): NpyHeader {
  try {
    return readNpyHeader(file);
  } catch (err) {
    const message = (err as Error).message.replace(`cannot read ${file}: `, '').replace(`${file}: `, '');
    throw issue(sources, field, message === 'file not found' ? 'file not found' : `not a usable .npy file: ${message}`, file);
  }
}

/** Checks an x_T file: a regular .npy of float32/float64, shape [≥ n, ...sampleShape]. */
export function checkXT(config: ExperimentConfig, sampleShape: readonly number[] | undefined, sources: readonly Source[]): NpyHeader | undefined {
  const xT = config.sampling.xT;
  if (!xT) return undefined;
  const h = inputHeader(xT, ['sampling', 'xT'], sources);
  if (h.dtype !== 'float32' && h.dtype !== 'float64') {
    throw issue(sources, ['sampling', 'xT'], `has dtype '${h.descr}' (${h.dtype}); x_T must be float32 or float64 (cast it with .astype('float32'))`, xT);
  }
  if (!sampleShape) return h;
  const n = config.sampling.n;
  const shape = h.shape;
  if (!rowsOfShape(shape, sampleShape, n)) {
    throw issue(sources, ['sampling', 'xT'], `has shape [${shape.join(', ')}], expected [>= ${n}, ${sampleShape.join(', ')}] (sampling.n rows of the sample shape)`, xT);
  }
  return h;
}

/** Checks a reference .npy from its header: at least 2 rows of the sample shape's size. */
export function checkReferenceFile(file: string, sampleShape: readonly number[] | undefined, sources: readonly Source[]): NpyHeader {
  const h = inputHeader(file, ['reference'], sources);
  const rows = h.shape[0] ?? 0;
  if (h.shape.length < 1) throw issue(sources, ['reference'], 'is a 0-d array; a reference needs one row per sample', file);
  if (rows < 2) throw issue(sources, ['reference'], `has ${rows} row${rows === 1 ? '' : 's'}; the metrics need at least 2 reference samples`, file);
  if (sampleShape) {
    const per = h.shape.slice(1).reduce((a, b) => a * b, 1);
    const dim = sampleShape.reduce((a, b) => a * b, 1);
    if (per !== dim) {
      throw issue(sources, ['reference'], `has shape [${h.shape.join(', ')}]: rows of ${per} values, but a sample has ${dim} ([${sampleShape.join(', ')}])`, file);
    }
  }
  return h;
}

/**
 * Rows start..start+count-1 of an input .npy as float64, every value finite (a NaN in x_T or in a
 * reference is the file's fault, reported at its field with the row).
 */
export function readFiniteRows(file: string, h: NpyHeader, start: number, count: number, field: PathKey[], sources: readonly Source[]): Float64Array {
  let rows: Float64Array;
  try {
    rows = readNpyRows(file, h, start, count);
  } catch (err) {
    throw issue(sources, field, `cannot read rows ${start}..${start + count - 1}: ${(err as Error).message}`, file);
  }
  const per = rows.length / Math.max(count, 1);
  for (let i = 0; i < rows.length; i++) {
    if (!Number.isFinite(rows[i])) {
      const row = start + Math.floor(i / per);
      throw issue(sources, field, `row ${row} holds ${rows[i]} (value ${i % per} of the row): the file must hold finite numbers only`, file);
    }
  }
  return rows;
}

/** What inpainting reads: the images of the n samples, and one mask or one per sample (1 known). */
export interface InpaintData {
  images: Float64Array;
  mask: Float64Array;
}

/**
 * Checks inpaint.images (a float .npy of shape [≥ n, ...sampleShape]: sample i completes row i)
 * and inpaint.mask (a named mask that fits the sample shape, or a .npy of shape sampleShape or
 * [≥ n, ...sampleShape]) from their headers. Returns the headers (the mask's for a file).
 */
export function checkInpaintFiles(config: ExperimentConfig, sampleShape: readonly number[] | undefined, sources: readonly Source[]): { images: NpyHeader; mask?: NpyHeader } | undefined {
  const spec = config.inpaint;
  if (!spec) return undefined;
  const n = config.sampling.n;
  const images = inputHeader(spec.images, ['inpaint', 'images'], sources);
  if (images.dtype !== 'float32' && images.dtype !== 'float64') {
    throw issue(sources, ['inpaint', 'images'], `has dtype '${images.descr}' (${images.dtype}); images must be float32 or float64 in the model's data range`, spec.images);
  }
  if (sampleShape && !rowsOfShape(images.shape, sampleShape, n)) {
    throw issue(sources, ['inpaint', 'images'], `has shape [${images.shape.join(', ')}], expected [>= ${n}, ${sampleShape.join(', ')}] (an image per sample: sampling.n rows of the sample shape)`, spec.images);
  }
  if (isNamedMask(spec.mask)) {
    if (sampleShape) {
      try {
        namedMask(spec.mask, sampleShape);
      } catch (err) {
        throw issue(sources, ['inpaint', 'mask'], (err as Error).message, spec.mask);
      }
    }
    return { images };
  }
  const mask = inputHeader(spec.mask, ['inpaint', 'mask'], sources);
  const one = sampleShape && mask.shape.length === sampleShape.length && sampleShape.every((v, i) => mask.shape[i] === v);
  if (sampleShape && !one && !rowsOfShape(mask.shape, sampleShape, n)) {
    throw issue(
      sources,
      ['inpaint', 'mask'],
      `has shape [${mask.shape.join(', ')}], expected the sample shape [${sampleShape.join(', ')}] (one mask for all) or [>= ${n}, ${sampleShape.join(', ')}] (one per sample)`,
      spec.mask,
    );
  }
  return { images, mask };
}

/** The first n images and the mask (0/1 checked), per checkInpaintFiles. */
export function readInpaintData(config: ExperimentConfig, sampleShape: readonly number[], sources: readonly Source[]): InpaintData | undefined {
  const spec = config.inpaint;
  const headers = checkInpaintFiles(config, sampleShape, sources);
  if (!spec || !headers) return undefined;
  const n = config.sampling.n;
  const images = readFiniteRows(spec.images, headers.images, 0, n, ['inpaint', 'images'], sources);
  if (!headers.mask) return { images, mask: namedMask(spec.mask as Parameters<typeof namedMask>[0], sampleShape) };
  const perSample = headers.mask.shape.length === sampleShape.length + 1;
  const mask = readFiniteRows(spec.mask, headers.mask, 0, perSample ? n : headers.mask.shape[0], ['inpaint', 'mask'], sources);
  for (let j = 0; j < mask.length; j++) {
    if (mask[j] !== 0 && mask[j] !== 1) throw issue(sources, ['inpaint', 'mask'], `must hold 0 (to sample) or 1 (known) only; value ${j} is ${mask[j]}`, spec.mask);
  }
  return { images, mask };
}

function rowsOfShape(shape: readonly number[], sampleShape: readonly number[], n: number): boolean {
  return shape.length === sampleShape.length + 1 && shape[0] >= n && sampleShape.every((v, i) => shape[i + 1] === v);
}