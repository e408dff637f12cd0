import { fillNormal } from './normal';
import { Stream, timeAddress } from './streams';

/**
 * Default depth of the Brownian tree: leaves T/2^14 ≈ 6e-5·T wide, narrower than the steps of any
 * grid up to ~16 000 steps. Every query costs about log2(step/leaf) + 1 normals per coordinate
 * (the levels below the last query's common ancestor, plus the bridge inside the leaf), so the
 * depth trades that cost against how finely two grids share one path (see BrownianPath).
 */
export const BROWNIAN_DEPTH = 14;

export interface BrownianPathOptions {
  /** Philox key (the seed). */
  k0: number;
  k1: number;
  /** Global element index (sample · dim + coordinate) of element 0, and the number of elements. */
  firstElement: number;
  length: number;
  /** The path lives on [0, T], W(0) = 0. */
  T: number;
  depth?: number;
}

/**
 * One Brownian motion per element on [0, T], addressed by time (a virtual Brownian tree over
 * Philox counters, after diffrax's VirtualBrownianTree and torchsde's BrownianTree):
 *   - W(T) = √T·z and the midpoint of every dyadic interval down to depth D are drawn from the
 *     Brownian bridge between its ends, z keyed by the node (Stream.brownianTree): the path at
 *     resolution T/2^D is a fixed function of (seed, element), whatever is queried;
 *   - inside a leaf, W(t) is drawn from the bridge between the nearest points already known in
 *     that leaf (its ends, earlier queries), z keyed by t itself (Stream.brownianLeaf).
 * The joint law of every set of queried values is exactly Brownian. Two runs share W(t) exactly
 * when t is the only query in its leaf in both (any grid with steps wider than T/2^D), and up to
 * the bridge's spread (≤ ½√(T/2^D)) otherwise. Queries must visit leaves in order (increasing or
 * decreasing time, as every fixed-grid or adaptive solver does): a leaf left behind forgets its
 * interior points, so a later query there is drawn from its ends alone.
 * The current root-to-leaf path is cached: moving to a leaf k leaves away recomputes ~log2(k)
 * levels. Memory: (depth + 2 + points per leaf) arrays of `length` float64.
 */
export class BrownianPath {
  readonly T: number;
  readonly depth: number;
  private readonly k0: number;
  private readonly k1: number;
  private readonly first: number;
  private readonly len: number;
  private readonly leaves: number;
  /** W at the midpoint of the path's node at each depth; the node's ends are references. */
  private readonly mid: Float64Array[] = [];
  private readonly left: Float64Array[] = [];
  private readonly right: Float64Array[] = [];
  private readonly z: Float64Array;
  private leaf = -1;
  /** Known points of the current leaf, sorted by time: its ends and the queries inside it. */
  private points: { t: number; w: Float64Array; owned: boolean }[] = [];
  private pool: Float64Array[] = [];

  constructor(o: BrownianPathOptions) {
    this.T = o.T;
    this.depth = o.depth ?? BROWNIAN_DEPTH;
    if (!(this.T > 0) || !Number.isFinite(this.T)) throw new RangeError(`Brownian path: T must be finite and > 0, got ${this.T}`);
    if (!Number.isInteger(this.depth) || this.depth < 0 || this.depth > 30) throw new RangeError(`Brownian path: depth must be an integer in [0, 30], got ${this.depth}`);
    this.k0 = o.k0;
    this.k1 = o.k1;
    this.first = o.firstElement;
    this.len = o.length;
    this.leaves = 2 ** this.depth;
    this.z = new Float64Array(this.len);
    const wT = new Float64Array(this.len);
    fillNormal(wT, this.first, this.k0, this.k1, Stream.brownianTree, 0, 0, 0);
    const s = Math.sqrt(this.T);
    for (let j = 0; j < this.len; j++) wT[j] *= s;
    this.left[0] = new Float64Array(this.len);
    this.right[0] = wT;
  }

  /** W(t) of every element into out (length `length`); 0 ≤ t ≤ T. */
  valueAt(t: number, out: Float64Array): void {
    if (!(t >= 0 && t <= this.T)) throw new RangeError(`Brownian path: time ${t} is outside [0, ${this.T}]`);
    if (out.length !== this.len) throw new RangeError(`Brownian path: out has ${out.length} values, expected ${this.len}`);
    const leaf = this.leafOf(t);
    if (leaf !== this.leaf) this.descendTo(leaf);
    const pts = this.points;
    let i = 0;
    while (i + 2 < pts.length && pts[i + 1].t <= t) i++;
    const lo = pts[i];
    const hi = pts[i + 1];
    if (lo.t === t) return out.set(lo.w);
    if (hi.t === t) return out.set(hi.w);
    // Bridge between the neighbours: mean linear in t, variance (t − a)(b − t)/(b − a).
    const z = this.z;
    const [a0, a1] = timeAddress(t);
    fillNormal(z, this.first, this.k0, this.k1, Stream.brownianLeaf, 0, a0, a1);
    const f = (t - lo.t) / (hi.t - lo.t);
    const sd = Math.sqrt(((t - lo.t) * (hi.t - t)) / (hi.t - lo.t));
    const wl = lo.w;
    const wh = hi.w;
    const w = this.pool.pop() ?? new Float64Array(this.len);
    for (let j = 0; j < this.len; j++) w[j] = wl[j] + f * (wh[j] - wl[j]) + sd * z[j];
    pts.splice(i + 1, 0, { t, w, owned: true });
    out.set(w);
  }

  /** Time of the left end of a leaf (exact: the index is scaled by a power of two). */
  private leafStart(leaf: number): number {
    return this.T * (leaf / this.leaves);
  }

  private leafOf(t: number): number {
    let leaf = Math.min(this.leaves - 1, Math.floor((t / this.T) * this.leaves));
    // Rounding in t/T can land one leaf off next to a boundary: settle on leafStart ≤ t.
    while (leaf > 0 && t < this.leafStart(leaf)) leaf--;
    while (leaf + 1 < this.leaves && t >= this.leafStart(leaf + 1)) leaf++;
    return leaf;
  }

  /** Recomputes the path's levels below the deepest node it shares with the new leaf. */
  private descendTo(leaf: number): void {
    const D = this.depth;
    // The first depth whose node differs between the old and the new path (0 on a fresh path):
    // nodes above it are shared and keep their midpoints.
    let from = 0;
    if (this.leaf >= 0) {
      from = 1;
      while (this.leaf >> (D - from) === leaf >> (D - from)) from++;
    }
    for (let d = Math.max(from - 1, 0); d < D; d++) {
      if (d >= from) this.drawMidpoint(d, leaf);
      const goRight = (leaf >> (D - d - 1)) & 1;
      this.left[d + 1] = goRight ? this.mid[d] : this.left[d];
      this.right[d + 1] = goRight ? this.right[d] : this.mid[d];
    }
    this.leaf = leaf;
    for (const p of this.points) if (p.owned) this.pool.push(p.w);
    const a = this.leafStart(leaf);
    const b = leaf + 1 === this.leaves ? this.T : this.leafStart(leaf + 1);
    this.points = [
      { t: a, w: this.left[D], owned: false },
      { t: b, w: this.right[D], owned: false },
    ];
  }

  /** W at the midpoint of the depth-d node on the way to `leaf`: bridge mean + ½√width·z. */
  private drawMidpoint(d: number, leaf: number): void {
    const node = 2 ** d + (leaf >> (this.depth - d)); // heap numbering: root 1, children 2i, 2i + 1
    fillNormal(this.z, this.first, this.k0, this.k1, Stream.brownianTree, 0, node, 0);
    const m = (this.mid[d] ??= new Float64Array(this.len));
    const l = this.left[d];
    const r = this.right[d];
    const s = 0.5 * Math.sqrt(this.T / 2 ** d);
    const z = this.z;
    for (let j = 0; j < this.len; j++) m[j] = 0.5 * (l[j] + r[j]) + s * z[j];
  }
}
