/**
 * One reader of model cards with one precedence (models/onnx/card-source.ts), used by `validate`
 * and `run` alike; contradicting cards are errors naming both; and one SDE object shared by the
 * network and the sampler, so that no config can give them different α(t), σ(t).
 * Real ONNX files and onnxruntime sessions (except where the point is that none starts).
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { experimentConfigSchema } from '../configs/schema';
import { checkExperiment } from '../configs/resolve';
import { ModelCache, buildModel } from '../configs/model-loader';
import { ConfigError } from '../configs/errors';
import { ModelCardConflictError, ModelCardMismatchError, OnnxScoreModel, loadOnnxScoreModel } from '../models/onnx';
import { readModelCard } from '../models/onnx/card-source';
import { VESDE, VPSDE, makeSDE, predict } from '../sdes';

const SRC = join(__dirname, '..', 'models', 'exact', 'mixture-vp-t-eps.onnx');
const SRC_CARD = SRC.replace(/\.onnx$/, '.card.json');
const quiet = { device: 'cpu' as const, log: () => {} };
let tmp: string;
let n = 0;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'score-sde-cards-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A fresh copy of the network (its card embedded), with `beside` as its card file if given. */
function network(beside?: (card: Record<string, any>) => Record<string, any>): string {
  const file = join(tmp, `net${n++}.onnx`);
  copyFileSync(SRC, file);
  if (beside) writeFileSync(file.replace(/\.onnx$/, '.card.json'), JSON.stringify(beside(JSON.parse(readFileSync(SRC_CARD, 'utf8')))));
  return file;
}

function writeCard(name: string, edit: (card: Record<string, any>) => Record<string, any>): string {
  const file = join(tmp, name);
  writeFileSync(file, JSON.stringify(edit(JSON.parse(readFileSync(SRC_CARD, 'utf8')))));
  return file;
}

const configFor = (model: Record<string, unknown>, sde?: Record<string, unknown>) =>
  experimentConfigSchema.parse({ model: { type: 'onnx', ...model }, device: 'cpu', ...(sde ? { sde } : {}) });

function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('precedence', () => {
  test('embedded only: the ONNX metadata card', () => {
    const file = network();
    const r = readModelCard(file);
    expect(r.source).toBe(`embedded in ${file}`);
    expect(r.cardFile).toBeUndefined();
    expect(r.card.sde).toEqual({ kind: 'vp', schedule: 'linear', betaMin: 0.1, betaMax: 20, T: 1 });
  });

  test('a card file beside the model is the card; descriptive fields may differ from the embedded card', () => {
    const file = network((c) => ({ ...c, name: 'renamed', data: { name: 'elsewhere', reference: 'ref.npy' } }));
    const r = readModelCard(file);
    expect(r.cardFile).toBe(file.replace(/\.onnx$/, '.card.json'));
    expect(r.card.name).toBe('renamed');
    expect(r.card.data?.reference).toBe('ref.npy');
    expect(r.embedded).toBe(true);
  });

  test('an explicit card is the card; it may differ from the embedded one except in its SDE', () => {
    const file = network();
    const explicit = writeCard('explicit-ok.card.json', (c) => ({ ...c, name: 'explicit', inputs: undefined }));
    expect(readModelCard(file, explicit).card.name).toBe('explicit');
  });
});

describe('contradicting cards are errors naming both, in validate and in run', () => {
  test('card file beside the model vs embedded card: the SDE', async () => {
    const file = network((c) => ({ ...c, sde: { ...c.sde, betaMax: 10 } }));
    const beside = file.replace(/\.onnx$/, '.card.json');
    const message = new RegExp(`the model card in ${beside.replace(/[.]/g, '\\.')} contradicts the card embedded in the network .* on sde\\.betaMax: 10 vs 20`);
    expect(() => readModelCard(file)).toThrow(ModelCardConflictError);
    expect(() => readModelCard(file)).toThrow(message);
    const err = configError(() => checkExperiment(configFor({ path: file }))); // validate
    expect(err.issues[0].file).toBe(beside);
    expect(err.message).toMatch(message);
    await expect(loadOnnxScoreModel(file, quiet)).rejects.toThrow(message); // the library loader
    await expect(buildModel(configFor({ path: file }))).rejects.toThrow(message); // run
  });

  test('card file vs embedded card: any field about the network (parameterization, time input, shape)', () => {
    for (const [edit, field] of [
      [(c: Record<string, any>) => ({ ...c, parameterization: 'score' }), /parameterization: 'score' vs 'eps'/],
      [(c: Record<string, any>) => ({ ...c, timeInput: 't999' }), /timeInput: 't999' vs 't'/],
      [(c: Record<string, any>) => ({ ...c, sampleShape: [1, 2] }), /sampleShape: \[1, 2\] vs \[2\]/],
    ] as const) {
      expect(() => readModelCard(network(edit))).toThrow(field);
    }
  });

  test('an explicit card whose SDE contradicts the network: a VE card on a VP network', async () => {
    const file = network();
    const ve = writeCard('ve.card.json', (c) => ({ ...c, sde: { kind: 've' } }));
    const err = configError(() => checkExperiment(configFor({ path: file, card: ve })));
    expect(err.issues[0].path).toBe('model.card');
    expect(err.message).toMatch(/ve\.card\.json contradicts the card embedded in the network .* on sde\.kind: 've' vs 'vp'; sde\.sigmaMin: 0\.01 vs \(absent\)/);
    await expect(loadOnnxScoreModel(file, { ...quiet, card: ve })).rejects.toThrow(ModelCardConflictError);
    await expect(loadOnnxScoreModel(file, { ...quiet, card: ve })).rejects.toThrow(/fix the explicit card or drop it/);
  });
});

test('validate reads the embedded card without starting onnxruntime', () => {
  const file = network(); // no card file: the card is only in the ONNX metadata
  jest.isolateModules(() => {
    const fail = () => {
      throw new Error('onnxruntime was loaded');
    };
    jest.doMock('onnxruntime-node', fail);
    jest.doMock('../models/onnx/ort', fail);
    const resolve = require('../configs/resolve') as typeof import('../configs/resolve');
    const schema = require('../configs/schema') as typeof import('../configs/schema');
    const checked = resolve.checkExperiment(schema.experimentConfigSchema.parse({ model: { type: 'onnx', path: file, timeInput: 't' } }));
    expect(checked.sde).toEqual({ kind: 'vp', schedule: 'linear', betaMin: 0.1, betaMax: 20, T: 1, N: 1000 });
    expect(checked.cardSource).toBe(`embedded in ${file}`);
    expect(checked.reference?.source).toBe('exact'); // the embedded card's mixture
    // The control: loading the model does need onnxruntime, and the mock stops it.
    const onnx = () => require('../models/onnx');
    expect(onnx).toThrow(/onnxruntime was loaded/);
  });
});

describe('one SDE for the network and the sampler', () => {
  test('buildModel gives the sampler the very SDE object the network converts with (with and without the session cache)', async () => {
    const file = network();
    const built = await buildModel(configFor({ path: file }, { kind: 'vp', N: 50 }));
    try {
      expect(built.sde).toBe((built.model as OnnxScoreModel).sde);
      expect(built.sde.N).toBe(50);
    } finally {
      await built.model.dispose!();
    }
    const cache = new ModelCache();
    try {
      const a = await buildModel(configFor({ path: file }), { cache });
      expect(a.model.sde).toBe(a.sde);
    } finally {
      await cache.dispose();
    }
  });

  test('a config cannot give them different α(t), σ(t): every way in is an error', async () => {
    const file = network();
    // A stated SDE field that contradicts the card.
    expect(configError(() => checkExperiment(configFor({ path: file }, { kind: 'vp', betaMax: 10 }))).message).toMatch(/sde\.betaMax: disagrees with the model card/);
    await expect(buildModel(configFor({ path: file }, { kind: 'vp', T: 2 }))).rejects.toThrow(/sde\.T: disagrees with the model card/);
    // A schedule parameter the card's schedule does not have.
    await expect(buildModel(configFor({ path: file }, { kind: 'vp', alphaBarMin: 0.01 }))).rejects.toThrow(/sde\.alphaBarMin: alphaBarMin is a parameter of the cosine schedule/);
    // An explicit card with another SDE (above), and a library caller passing another SDE object.
    await expect(loadOnnxScoreModel(file, { ...quiet, sde: new VPSDE({ betaMax: 10 }) })).rejects.toThrow(ModelCardMismatchError);
    await expect(loadOnnxScoreModel(file, { ...quiet, sde: new VESDE() })).rejects.toThrow(/model card says sde = .*kind.*vp.*an SDE whose kernel differs \(kind ve vs vp\)/);
    // The same kernel with another discretization default is the same SDE: accepted, and used.
    const same = new VPSDE({ N: 7 });
    const m = await loadOnnxScoreModel(file, { ...quiet, sde: same });
    try {
      expect(m.sde).toBe(same);
      // Solvers that pass a different SDE to predict() are stopped too.
      const x = new Float64Array([0.5, -0.5]);
      const t = new Float64Array([0.5]);
      const out = new Float64Array(2);
      await predict(m, makeSDE({ kind: 'vp' }), 'eps', x, t, out); // same kernel, another object: fine
      await expect(predict(m, new VPSDE({ betaMin: 0.2 }), 'eps', x, t, out)).rejects.toThrow(/the model's SDE and the solver's SDE differ \(α\(/);
    } finally {
      await m.dispose();
    }
  });
});
