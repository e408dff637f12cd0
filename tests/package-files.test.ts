/**
 * The published file list (`npm pack --dry-run --json`) holds everything a shipped config or model
 * card points at: models, extended configs, reference `.npy` files, x_T files, the scripts a card
 * names as its provenance, and each shipped network's card.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';

const ROOT = path.resolve(__dirname, '..');
const FILE_REF = /^[^\s:]+\.(ya?ml|json|onnx|npy|py)$/;

/** Paths (package-relative) that the shipped configs and cards in `files` refer to, with who refers. */
function references(files: readonly string[]): { path: string; from: string }[] {
  const refs: { path: string; from: string }[] = [];
  const add = (p: string, from: string) => refs.push({ path: path.posix.normalize(p), from });
  for (const file of files.filter((f) => /^configs\/.*\.ya?ml$/.test(f))) {
    const dir = path.posix.dirname(file);
    const walk = (v: unknown): void => {
      if (typeof v === 'string') {
        if (v.startsWith('shipped:')) add(`models/${v.slice('shipped:'.length)}.onnx`, file);
        else if (FILE_REF.test(v)) add(path.posix.join(dir, v), file);
      } else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(YAML.parse(fs.readFileSync(path.join(ROOT, file), 'utf8')));
  }
  for (const file of files.filter((f) => f.endsWith('.card.json'))) {
    const card = JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8')) as {
      data?: { reference?: string; classifier?: string };
      reference?: { test?: string; train?: string };
      training?: { script?: string };
    };
    const dir = path.posix.dirname(file);
    if (card.data?.reference) add(path.posix.join(dir, card.data.reference), file);
    if (card.data?.classifier) add(path.posix.join(dir, card.data.classifier), file);
    if (card.training?.script) add(card.training.script, file); // written relative to the package root
    // A feature classifier's card names its reference statistics, and those their .npy files.
    for (const stats of [card.reference?.test, card.reference?.train].filter((s): s is string => !!s)) {
      const json = path.posix.join(dir, stats);
      add(json, file);
      const ref = JSON.parse(fs.readFileSync(path.join(ROOT, json), 'utf8')) as { mean: string; cov: string; features?: { file: string } };
      for (const npy of [ref.mean, ref.cov, ref.features?.file].filter((s): s is string => !!s)) add(path.posix.join(dir, npy), json);
    }
  }
  for (const file of files.filter((f) => f.startsWith('models/') && f.endsWith('.onnx'))) add(file.replace(/\.onnx$/, '.card.json'), file);
  return refs;
}

function missingFrom(files: readonly string[]): { path: string; from: string }[] {
  const set = new Set(files);
  return references(files).filter((r) => !set.has(r.path));
}

let packed: string[];

beforeAll(() => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
  packed = (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
});

describe('the packed package', () => {
  test('ships the configs, the networks and their cards, LICENSE and the preinstall script', () => {
    for (const f of ['LICENSE', 'install/skip-onnxruntime-download.cjs', 'configs/examples/fashion-mnist-vp.yaml', 'models/fashion-mnist/unet-vp.onnx']) {
      expect(packed).toContain(f);
    }
    const refs = references(packed);
    // The walk finds what is there to find: models, extended configs, reference data, scripts.
    expect(refs.map((r) => r.path)).toEqual(
      expect.arrayContaining([
        'models/fashion-mnist/unet-vp.onnx',
        'configs/examples/mixture-base.yaml',
        'models/fashion-mnist/fashion-mnist-test-1000.npy',
        'models/training/toy2d.py',
        'models/fashion-mnist/classifier.onnx',
        'models/fashion-mnist/classifier-reference-test.json',
        'models/fashion-mnist/classifier-reference-test-features.npy',
      ]),
    );
  });

  test('every path a shipped config or card refers to is in the package', () => {
    expect(missingFrom(packed)).toEqual([]);
  });

  test('negative control: the file list `files` gave before (no .npy) misses the cards\' reference data', () => {
    const before = packed.filter((f) => !f.endsWith('.npy'));
    const missing = missingFrom(before).map((m) => m.path);
    expect(missing).toContain('models/fashion-mnist/fashion-mnist-test-1000.npy');
    expect(missing).toContain('models/toy2d/mixture-reference.npy');
  });

  test('ships no sources, tests or training checkpoints', () => {
    expect(packed.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    expect(packed.filter((f) => /^(tests|dist\/tests)\//.test(f) || f.includes('checkpoints/') || f.endsWith('.pt'))).toEqual([]);
  });
});
