import * as fs from 'fs';
import * as path from 'path';
import { readIdx } from '../core/idx';

const { fround } = Math;

/**
 * Fashion-MNIST from Debian's `dataset-fashion-mnist` package (the IDX .gz files under
 * /usr/share/datasets/fashion-mnist), scaled like the shipped networks' data: u/127.5 − 1 ∈ [−1, 1].
 * Only the reference-statistics script and its tests read it; sampling never does.
 */

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export interface ImageSet {
  /** n × 1 × 28 × 28, row-major, in [−1, 1]. */
  images: Float32Array;
  labels: Uint8Array;
  n: number;
  shape: [number, number, number];
}

export class MissingDatasetError extends Error {
  constructor(dir: string, file: string) {
    super(`Fashion-MNIST not found: ${path.join(dir, file)} does not exist. Install Debian's copy with \`apt-get install dataset-fashion-mnist\` (it provides ${FASHION_MNIST_DIR})`);
    this.name = 'MissingDatasetError';
  }
}

/** The train (60 000) or test (10 000) split; MissingDatasetError, saying how to install it, when absent. */
export function loadFashionMnist(split: 'train' | 'test', dir = FASHION_MNIST_DIR): ImageSet {
  const prefix = split === 'train' ? 'train' : 't10k';
  const files = [`${prefix}-images-idx3-ubyte.gz`, `${prefix}-labels-idx1-ubyte.gz`];
  for (const f of files) if (!fs.existsSync(path.join(dir, f))) throw new MissingDatasetError(dir, f);
  const img = readIdx(path.join(dir, files[0]));
  const lab = readIdx(path.join(dir, files[1]));
  if (img.shape.length !== 3 || lab.shape.length !== 1 || img.shape[0] !== lab.shape[0]) {
    throw new Error(`${dir}: unexpected shapes: images [${img.shape.join(', ')}], labels [${lab.shape.join(', ')}]`);
  }
  const images = new Float32Array(img.data.length);
  // In float32 steps, as numpy's (u.astype(float32) / 127.5 - 1) does: the same bits as the training data.
  for (let i = 0; i < images.length; i++) images[i] = fround(fround(img.data[i] / 127.5) - 1);
  return { images, labels: lab.data, n: img.shape[0], shape: [1, img.shape[1], img.shape[2]] };
}
