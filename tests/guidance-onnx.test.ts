/**
 * Per-sample labels into ONNX networks, on real sessions over the exact conditional graphs of
 * models/exact (mixture-vp-t-eps-cond: dynamic batch, int64 label y; mixture-vp-t-score-cond-b8:
 * static batch of 8): the labelled outputs equal ClassMixtureScore's to float32 precision through
 * chunking (maxBatch) and padding; guided sampling through ONNX follows the JS exact model on the
 * same noise; one session.run per guided evaluation; and the card's conditioning is checked
 * (label input without conditioning, a null label among the classes, contradicting cards, the
 * label fed as a constant).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ClassMixtureScore, ClassifierFreeGuidance, GaussianMixtureSpec, OnnxScoreModel, VPSDE, isConditional, loadOnnxScoreModel, sample } from '../index';
import { ModelCard } from '../models/card';
import { InstrumentedModel } from '../bench/instrumented-model';
import { maxAbsDiff } from './support/stats';

const { abs, max } = Math;
const DIR = path.join(__dirname, '..', 'models', 'exact');
const EPS = path.join(DIR, 'mixture-vp-t-eps-cond.onnx');
const B8 = path.join(DIR, 'mixture-vp-t-score-cond-b8.onnx');
const vp = new VPSDE();
const quiet = { device: 'cpu' as const, log: () => {}, sde: vp };
const open: OnnxScoreModel[] = [];
async function load(file: string, opts: Parameters<typeof loadOnnxScoreModel>[1] = {}): Promise<OnnxScoreModel> {
  const m = await loadOnnxScoreModel(file, { ...quiet, ...opts });
  open.push(m);
  return m;
}
afterAll(async () => {
  for (const m of open) await m.dispose();
});

function cardOf(file: string): ModelCard {
  return JSON.parse(fs.readFileSync(file.replace(/\.onnx$/, '.card.json'), 'utf8')) as ModelCard;
}
const exact = new ClassMixtureScore(vp, cardOf(EPS).data!.mixture! as GaussianMixtureSpec, { classes: ['west', 'east', 'north'] });

/** Largest |a − b| / (1 + |b|). */
function relErr(a: Float64Array, b: Float64Array): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e = max(e, abs(a[i] - b[i]) / (1 + abs(b[i])));
  return e;
}

describe('labels into ONNX networks', () => {
  const n = 11;
  const x = Float64Array.from({ length: 2 * n }, (_, i) => 3 * Math.sin(0.9 * i));
  const t = Float64Array.from({ length: n }, (_, i) => 0.05 + 0.09 * i);
  const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 4); // classes 0–2 and the null label 3

  test.each([
    ['dynamic batch', EPS, {}],
    ['dynamic batch, chunks of 4', EPS, { maxBatch: 4 }],
    ['static batch of 8 (padded)', B8, {}],
  ] as const)('%s: scoreWithLabels is the exact conditional score to float32 precision; score() is the null label', async (_name, file, opts) => {
    const m = await load(file, opts);
    expect(isConditional(m)).toBe(true);
    expect(m.conditioning).toEqual({ classes: ['west', 'east', 'north'], nullLabel: 3 });
    const got = new Float64Array(2 * n);
    const want = new Float64Array(2 * n);
    await m.scoreWithLabels(x, t, labels, got);
    await exact.scoreWithLabels(x, t, labels, want);
    expect(relErr(got, want)).toBeLessThan(1e-6);
    await m.score(x, t, got);
    await exact.score(x, t, want);
    expect(relErr(got, want)).toBeLessThan(1e-6);
    // Control: the labels of other rows (shifted) give other scores.
    await m.scoreWithLabels(x, t, Int32Array.from(labels, (_, i) => labels[(i + 1) % n]), got);
    await exact.scoreWithLabels(x, t, labels, want);
    expect(relErr(got, want)).toBeGreaterThan(0.1);
  });

  test('a label that is neither a class nor the null label is refused', async () => {
    const m = await load(EPS);
    await expect(m.scoreWithLabels(x, t, Int32Array.from(labels, (l, i) => (i === 2 ? 4 : l)), new Float64Array(2 * n))).rejects.toThrow(
      /label 4 of row 2 is neither a class \(0 … 2\) nor the null label 3/,
    );
  });

  test('guided sampling through ONNX follows the exact model on the same noise, one session.run per guided evaluation', async () => {
    const timed = await InstrumentedModel.load(EPS, quiet);
    open.push(timed.model);
    const run = async (net: ClassMixtureScore | OnnxScoreModel) => {
      const g = new ClassifierFreeGuidance(net as ClassMixtureScore, { scale: 3, labels: [0, 1, 2] });
      const r = await sample({ sde: vp, model: g, solver: 'euler_maruyama', settings: { steps: 50 }, n: 60, batchSize: 25, seed: 4 });
      return { x: r.samples.data as Float64Array, r, g };
    };
    timed.reset();
    const viaOnnx = await run(timed.model);
    const viaJs = await run(exact);
    const diff = maxAbsDiff(viaOnnx.x, viaJs.x);
    console.log(`guided EM through ONNX vs exact JS: max |Δx| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-3);
    expect(timed.sessionRuns).toBe(viaOnnx.r.calls);
    expect(viaOnnx.g.network).toEqual({ calls: viaOnnx.r.calls, rows: 2 * viaOnnx.r.evaluations });
  });
});

describe("the card's conditioning", () => {
  const card = cardOf(EPS);

  test('a label input needs conditioning; the null label must not be a class; one label input', async () => {
    const { conditioning: _c, ...noConditioning } = card;
    await expect(load(EPS, { card: noConditioning as ModelCard })).rejects.toThrow(/names a label input \(inputs.label 'y'\) but has no 'conditioning'/);
    await expect(load(EPS, { card: { ...card, conditioning: { ...card.conditioning!, nullLabel: 1 } } })).rejects.toThrow(
      /conditioning.nullLabel 1, which is class 'east'; the null label must lie outside the classes 0 … 2/,
    );
    await expect(load(EPS, { card: { ...card, inputs: { ...card.inputs!, label: 'z' } } })).rejects.toThrow(/two label inputs: inputs.label 'z' and conditioning.input 'y'/);
    // A card that does not know the label input leaves it unfed, and says how to declare it.
    const { label: _l, ...inputs } = card.inputs!;
    await expect(load(EPS, { card: { ...noConditioning, inputs } as ModelCard })).rejects.toThrow(
      /the model has inputs \[y\] besides x \('x'\) and t \('t'\).*declare it in the card \('conditioning'/,
    );
  });

  test('the label is not a constant', async () => {
    await expect(load(EPS, { constants: { y: { data: [0], dims: [-1], type: 'int64' } } })).rejects.toThrow(/constant 'y' is the model's label input/);
  });

  test('a card file beside the network that contradicts its embedded conditioning is a conflict naming the field', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cond-card-'));
    try {
      const file = path.join(tmp, 'net.onnx');
      fs.copyFileSync(EPS, file);
      fs.writeFileSync(path.join(tmp, 'net.card.json'), JSON.stringify({ ...card, conditioning: { ...card.conditioning!, classes: ['a', 'b', 'c'] } }));
      await expect(load(file)).rejects.toThrow(/conditioning.classes: \[a, b, c\] vs \[west, east, north\]/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
