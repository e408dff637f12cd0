/**
 * The shipped conditional Fashion-MNIST U-Net (models/fashion-mnist/unet-vp-cond.onnx) through a
 * real onnxruntime session, judged by the shipped classifier: 40 images, four per class, with
 * DPM-Solver++(2M) at 10 steps from the same x_T.
 *   - γ = 3: the classifier puts at least 80% in their requested class (measured 0.98 on 100
 *     images with Heun at 40 evaluations: README);
 *   - controls: γ = 0 (the unconditional score, labels ignored) reaches at most 35% (chance is
 *     10%; measured 0.09 on 1 000), and the labels shifted by one class leave γ = 3 at most 35%
 *     against the requested ones.
 * Cost: 40 × 10 evaluations × 2 network rows, about 1 s of U-Net time on 2 cores.
 */
import * as path from 'path';
import { ClassifierFreeGuidance, OnnxScoreModel, isConditional, loadOnnxScoreModel, sample } from '../index';
import { FeatureClassifier } from '../metrics/features';
import { labelAccuracy } from '../metrics/coverage';

const DIR = path.join(__dirname, '..', 'models', 'fashion-mnist');
const N = 40;
const labels = Array.from({ length: 10 }, (_, c) => c);

let net: OnnxScoreModel;
let classifier: FeatureClassifier;
beforeAll(async () => {
  net = await loadOnnxScoreModel(path.join(DIR, 'unet-vp-cond.onnx'), { device: 'cpu', log: () => {} });
  classifier = await FeatureClassifier.load(path.join(DIR, 'classifier.onnx'));
});
afterAll(async () => {
  await net?.dispose();
  await classifier?.dispose();
});

async function accuracy(scale: number, asked: number[], scoredAgainst: number[]): Promise<number> {
  if (!isConditional(net)) throw new Error('the conditional U-Net lost its label input');
  const model = new ClassifierFreeGuidance(net, { scale, labels: asked });
  const r = await sample({ sde: net.sde!, model, solver: 'dpmpp_2m', settings: { steps: 10 }, n: N, seed: 7, dataRange: [-1, 1] });
  const { logits } = await classifier.run(r.samples.data as Float64Array, N);
  return labelAccuracy(logits, classifier.classes, scoredAgainst);
}

describe('shipped conditional U-Net with classifier-free guidance', () => {
  test('γ = 3 hits the requested classes; γ = 0 and shifted labels do not (controls)', async () => {
    expect(net.conditioning?.classes).toHaveLength(10);
    const guided = await accuracy(3, labels, labels);
    const unconditional = await accuracy(0, labels, labels);
    const shifted = await accuracy(3, labels.map((c) => (c + 1) % 10), labels);
    console.log(`label accuracy: γ = 3 ${guided.toFixed(3)}, γ = 0 ${unconditional.toFixed(3)}, shifted labels ${shifted.toFixed(3)}`);
    expect(guided).toBeGreaterThanOrEqual(0.8);
    expect(unconditional).toBeLessThanOrEqual(0.35);
    expect(shifted).toBeLessThanOrEqual(0.35);
  });
});
