// Checks shipped ONNX models with onnxruntime-node (the runtime the TypeScript sampler uses):
// runs each model on the probe batch saved by the Python exporter and compares to PyTorch,
// and checks a different batch size works (dynamic batch axis).
//   node models/training/verify_onnx.js
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const root = path.resolve(__dirname, '..', '..');
const ckpt = path.join(__dirname, 'checkpoints');

const flat = (a) => (Array.isArray(a) ? a.flat(Infinity) : [a]);

async function check(onnxPath, probePath, sampleShape) {
  const card = JSON.parse(fs.readFileSync(onnxPath.replace(/\.onnx$/, '.card.json'), 'utf8'));
  const session = await ort.InferenceSession.create(onnxPath);
  const dim = sampleShape.reduce((a, b) => a * b, 1);
  let maxErr = NaN;
  if (fs.existsSync(probePath)) {
    const probe = JSON.parse(fs.readFileSync(probePath, 'utf8'));
    const x = Float32Array.from(flat(probe.x));
    const t = Float32Array.from(flat(probe.t));
    const n = t.length;
    const res = await session.run({
      [card.inputs.x]: new ort.Tensor('float32', x, [n, ...sampleShape]),
      [card.inputs.t]: new ort.Tensor('float32', t, [n]),
    });
    const out = res[card.output].data;
    const ref = flat(probe.out);
    maxErr = 0;
    for (let i = 0; i < ref.length; i++) maxErr = Math.max(maxErr, Math.abs(out[i] - ref[i]));
  }
  const n2 = 7;
  const res2 = await session.run({
    [card.inputs.x]: new ort.Tensor('float32', new Float32Array(n2 * dim).fill(0.1), [n2, ...sampleShape]),
    [card.inputs.t]: new ort.Tensor('float32', new Float32Array(n2).fill(0.5), [n2]),
  });
  const out2 = res2[card.output];
  const finite = Array.from(out2.data).every(Number.isFinite);
  console.log(`${path.relative(root, onnxPath)}: inputs ${session.inputNames} output ${session.outputNames} ` +
    `maxAbsErr(vs torch) ${maxErr.toExponential(2)} batch7 dims [${out2.dims}] finite ${finite}`);
  return (Number.isNaN(maxErr) || maxErr < 1e-3) && finite && out2.dims[0] === n2;
}

(async () => {
  let ok = true;
  const toy = path.join(root, 'models', 'toy2d');
  if (fs.existsSync(toy)) {
    for (const f of fs.readdirSync(toy).filter((f) => f.endsWith('.onnx')).sort()) {
      ok = (await check(path.join(toy, f), path.join(ckpt, `toy2d-${f.replace('.onnx', '')}-probe.json`), [2])) && ok;
    }
  }
  const fm = path.join(root, 'models', 'fashion-mnist');
  if (fs.existsSync(fm)) {
    for (const f of fs.readdirSync(fm).filter((f) => f.endsWith('.onnx')).sort()) {
      const kind = f.replace('unet-', '').replace('.onnx', '');
      ok = (await check(path.join(fm, f), path.join(ckpt, `fashion-${kind}-probe.json`), [1, 28, 28])) && ok;
    }
  }
  console.log(ok ? 'OK' : 'FAILED');
  process.exit(ok ? 0 : 1);
})();
