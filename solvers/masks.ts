import { ParameterError } from '../core/errors';
import { sampleSize } from '../core/score';

/**
 * Named masks of known values (1 known, 0 to be sampled) for a sample shape. On images ([C, H, W]
 * or [H, W]) they cut the last two axes: 'left'/'right'/'top'/'bottom' keep that half (the middle
 * column or row of an odd side goes to the unknown part), 'centre' keeps only a centred square
 * of half the side, 'border' keeps all but that square (the classic centre inpainting). On 1-D
 * samples ([D]) 'left'/'right' keep the first/last half of the coordinates.
 */
export const NAMED_MASKS = ['left', 'right', 'top', 'bottom', 'centre', 'border'] as const;
export type NamedMask = (typeof NAMED_MASKS)[number];

export function isNamedMask(name: string): name is NamedMask {
  return (NAMED_MASKS as readonly string[]).includes(name);
}

export function namedMask(name: NamedMask, shape: readonly number[]): Float64Array {
  if (!isNamedMask(name)) throw new ParameterError(`unknown mask '${String(name)}': expected ${NAMED_MASKS.join(', ')} or a .npy file`);
  const dim = sampleSize(shape);
  const mask = new Float64Array(dim);
  if (shape.length === 1) {
    if (name !== 'left' && name !== 'right') throw new ParameterError(`mask '${name}' needs an image shape [.., H, W]; samples of shape [${shape.join(', ')}] take 'left' or 'right'`);
    const half = Math.floor(shape[0] / 2);
    for (let d = 0; d < dim; d++) mask[d] = (name === 'left' ? d < half : d >= shape[0] - half) ? 1 : 0;
    return mask;
  }
  const H = shape[shape.length - 2];
  const W = shape[shape.length - 1];
  const half = (side: number) => Math.floor(side / 2);
  const inSquare = (i: number, j: number) => {
    const h = half(H);
    const w = half(W);
    const top = Math.floor((H - h) / 2);
    const left = Math.floor((W - w) / 2);
    return i >= top && i < top + h && j >= left && j < left + w;
  };
  const known = (i: number, j: number): boolean => {
    switch (name) {
      case 'left':
        return j < half(W);
      case 'right':
        return j >= W - half(W);
      case 'top':
        return i < half(H);
      case 'bottom':
        return i >= H - half(H);
      case 'centre':
        return inSquare(i, j);
      case 'border':
        return !inSquare(i, j);
    }
  };
  for (let d = 0; d < dim; d++) {
    const j = d % W;
    const i = Math.floor(d / W) % H;
    mask[d] = known(i, j) ? 1 : 0;
  }
  return mask;
}
