/**
 * Loading ONNX score networks: where the card comes from, the execution provider choice and its
 * log line, and the errors for missing files, non-ONNX files, cards that contradict a config,
 * data shapes that do not fit, and bad calls. Real onnxruntime sessions on the shipped files.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  ModelCardMismatchError,
  ModelFileError,
  OnnxScoreModel,
  availableExecutionProviders,
  checkCard,
  loadOnnxScoreModel,
  readOnnxTopLevel,
} from '../models/onnx';
import { TinyNode, TinyValue, encodeTinyModel } from '../models/onnx/onnx-file';
import { ParameterError } from '../core/errors';

const DIR = join(__dirname, '..', 'models', 'exact');
const EPS_FILE = join(DIR, 'mixture-vp-t-eps.onnx');
const quiet = { device: 'cpu' as const, log: () => {} };
let tmp: string;
const open: OnnxScoreModel[] = [];

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'score-sde-onnx-'));
});
afterAll(async () => {
  for (const m of open) await m.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

async function load(file: string, opts: Parameters<typeof loadOnnxScoreModel>[1] = {}): Promise<OnnxScoreModel> {
  const m = await loadOnnxScoreModel(file, { ...quiet, ...opts });
  open.push(m);
  return m;
}

/** The same model bytes without ModelProto.metadata_props (field 14): a file whose card must come from elsewhere. */
function withoutMetadata(bytes: Uint8Array): Uint8Array {
  const keep: number[] = [];
  let pos = 0;
  const varint = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = bytes[pos++];
      v += (b & 0x7f) * mul;
      if (!(b & 0x80)) return v;
      mul *= 128;
    }
  };
  while (pos < bytes.length) {
    const start = pos;
    const key = varint();
    const wire = key & 7;
    if (wire === 0) varint();
    else if (wire === 2) {
      const len = varint();
      pos += len;
    }
    else pos += wire === 1 ? 8 : 4;
    if (key >>> 3 !== 14) keep.push(...bytes.subarray(start, pos));
  }
  return Uint8Array.from(keep);
}

describe('the model card', () => {
  test('comes from the ONNX metadata, and sets the SDE, shapes and names', async () => {
    const copy = join(tmp, 'meta-only.onnx'); // no card.json beside it
    copyFileSync(EPS_FILE, copy);
    expect(readOnnxTopLevel(readFileSync(copy)).metadata.score_sde_card).toBeDefined();
    const m = await load(copy);
    expect(m.card.parameterization).toBe('eps');
    expect(m.card.timeInput).toBe('t');
    expect(m.sde.kind).toBe('vp');
    expect(m.sampleShape).toEqual([2]);
    expect(m.inputNames).toEqual({ x: 'x', t: 't' });
    expect(m.outputName).toBe('out');
    expect(m.path).toBe(copy);
  });

  test("falls back to '<model>.card.json' beside the file", async () => {
    const bare = join(tmp, 'bare.onnx');
    writeFileSync(bare, withoutMetadata(readFileSync(EPS_FILE)));
    expect(readOnnxTopLevel(readFileSync(bare)).metadata.score_sde_card).toBeUndefined();
    await expect(loadOnnxScoreModel(bare, quiet)).rejects.toThrow(ModelFileError);
    await expect(loadOnnxScoreModel(bare, quiet)).rejects.toThrow(/no model card: looked for ONNX metadata key 'score_sde_card'.*bare\.card\.json/);
    copyFileSync(join(DIR, 'mixture-vp-t-eps.card.json'), join(tmp, 'bare.card.json'));
    const m = await load(bare);
    expect(m.card.parameterization).toBe('eps');
  });

  test('the card option (a path or an object) overrides both', async () => {
    const scoreCard = JSON.parse(readFileSync(join(DIR, 'mixture-vp-t-score.card.json'), 'utf8'));
    const byObject = await load(EPS_FILE, { card: { ...scoreCard, name: 'override' } });
    expect(byObject.card.name).toBe('override');
    expect(byObject.card.parameterization).toBe('score');
    const byPath = await load(EPS_FILE, { card: join(DIR, 'mixture-vp-t-score.card.json') });
    expect(byPath.card.parameterization).toBe('score');
  });

  test('an invalid card is a ModelFileError naming the field', async () => {
    const card = JSON.parse(readFileSync(join(DIR, 'mixture-vp-t-eps.card.json'), 'utf8'));
    await expect(loadOnnxScoreModel(EPS_FILE, { ...quiet, card: { ...card, parameterization: 'v' } })).rejects.toThrow(
      /model card in the card option is invalid: parameterization/,
    );
    const broken = join(tmp, 'broken.card.json');
    writeFileSync(broken, '{ not json');
    await expect(loadOnnxScoreModel(EPS_FILE, { ...quiet, card: broken })).rejects.toThrow(/broken\.card\.json is not valid JSON/);
  });
});

describe('execution provider', () => {
  test("device 'cpu' reports cpu and logs one line", async () => {
    const lines: string[] = [];
    const m = await load(EPS_FILE, { device: 'cpu', log: (l) => lines.push(l) });
    expect(m.executionProvider).toBe('cpu');
    expect(lines).toEqual(['score-sde: execution provider cpu (requested)']);
  });

  test("device 'auto' uses CUDA where it works, else falls back to cpu with one line naming the reason", async () => {
    const { cpu, cuda } = await availableExecutionProviders();
    expect(cpu).toBe(true);
    const lines: string[] = [];
    const m = await load(EPS_FILE, { device: 'auto', log: (l) => lines.push(l) });
    expect(lines).toHaveLength(1);
    if (cuda.ok) {
      expect(m.executionProvider).toBe('cuda');
      expect(lines[0]).toMatch(/^score-sde: execution provider cuda \(/);
    } else {
      expect(m.executionProvider).toBe('cpu');
      expect(m.deviceReason).toMatch(/^cuda unavailable: .+/);
      expect(lines[0]).toBe(`score-sde: execution provider cpu (${m.deviceReason})`);
      expect(cuda.reason.length).toBeGreaterThan(0);
    }
  });

  test("device 'cuda' without CUDA throws an error saying how to enable it", async () => {
    const { cuda } = await availableExecutionProviders();
    if (cuda.ok) {
      const m = await load(EPS_FILE, { device: 'cuda' });
      expect(m.executionProvider).toBe('cuda');
      return;
    }
    const attempt = loadOnnxScoreModel(EPS_FILE, { device: 'cuda', log: () => {} });
    await expect(attempt).rejects.toThrow(/CUDA execution provider is unavailable/);
    await expect(loadOnnxScoreModel(EPS_FILE, { device: 'cuda', log: () => {} })).rejects.toThrow(/score-sde enable-cuda/);
  });
});

describe('errors', () => {
  test('a missing file names the file', async () => {
    const missing = join(tmp, 'nope.onnx');
    await expect(loadOnnxScoreModel(missing, quiet)).rejects.toThrow(ModelFileError);
    await expect(loadOnnxScoreModel(missing, quiet)).rejects.toThrow(`${missing}: model file not found`);
  });

  test('a file that is not ONNX is a ModelFileError, not an onnxruntime crash', async () => {
    const garbage = join(tmp, 'garbage.onnx');
    writeFileSync(garbage, 'this is not a protobuf, just some text pretending to be a model\n'.repeat(20));
    await expect(loadOnnxScoreModel(garbage, quiet)).rejects.toThrow(ModelFileError);
    await expect(loadOnnxScoreModel(garbage, quiet)).rejects.toThrow(/garbage\.onnx: not an ONNX model/);
    const empty = join(tmp, 'empty.onnx');
    writeFileSync(empty, '');
    await expect(loadOnnxScoreModel(empty, quiet)).rejects.toThrow(/empty\.onnx: not an ONNX model \(.*empty/);
  });

  test("a parameterization option contradicting the card → ModelCardMismatchError naming 'parameterization'", async () => {
    const attempt = loadOnnxScoreModel(EPS_FILE, { ...quiet, parameterization: 'score' });
    await expect(attempt).rejects.toThrow(ModelCardMismatchError);
    await expect(loadOnnxScoreModel(EPS_FILE, { ...quiet, parameterization: 'score' })).rejects.toThrow(
      /parameterization = 'eps', but the config says 'score'/,
    );
    await expect(loadOnnxScoreModel(EPS_FILE, { ...quiet, timeInput: 'sigma' })).rejects.toThrow(/timeInput = 't', but the config says 'sigma'/);
    // Agreeing settings are fine.
    const m = await load(EPS_FILE, { parameterization: 'eps', timeInput: 't' });
    expect(m.card.parameterization).toBe('eps');
  });

  test('checkCard names the first mismatching field: data shape, sde, parameterization, timeInput', async () => {
    const m = await load(EPS_FILE);
    const mismatch = (expected: Parameters<typeof checkCard>[1]) => {
      try {
        checkCard(m.card, expected, 'configs/x.json');
      } catch (e) {
        expect(e).toBeInstanceOf(ModelCardMismatchError);
        return e as ModelCardMismatchError;
      }
      throw new Error('no mismatch raised');
    };
    const shape = mismatch({ sampleShape: [3] });
    expect(shape.field).toBe('sampleShape');
    expect(shape.message).toBe(
      "configs/x.json: the model card says sampleShape = [2], but the config says [3]; a network must be sampled with what it was trained with: fix the config or drop the field to take the card's",
    );
    expect(mismatch({ sde: { kind: 've' } }).field).toBe('sde.kind');
    expect(mismatch({ sde: { kind: 'vp', betaMax: 10 } }).message).toMatch(/sde\.betaMax = 20, but the config says 10/);
    expect(mismatch({ parameterization: 'x0' }).field).toBe('parameterization');
    expect(mismatch({ timeInput: 'timestep' }).field).toBe('timeInput');
    // Agreement, and keys the card does not record (N), pass.
    expect(() =>
      checkCard(m.card, { sde: { kind: 'vp', betaMin: 0.1, betaMax: 20, N: 1000 }, parameterization: 'eps', timeInput: 't', sampleShape: [2] }, 'ok'),
    ).not.toThrow();
  });

  test("a card whose sampleShape does not fit the graph's input is a ModelFileError with expected vs actual", async () => {
    const card = JSON.parse(readFileSync(join(DIR, 'mixture-vp-t-eps.card.json'), 'utf8'));
    await expect(loadOnnxScoreModel(EPS_FILE, { ...quiet, card: { ...card, sampleShape: [3] } })).rejects.toThrow(
      /mixture-vp-t-eps\.onnx: input 'x' has shape \[batch, 2\], but the card's sampleShape \[3\] needs \[batch, 3\]/,
    );
    await expect(loadOnnxScoreModel(EPS_FILE, { ...quiet, card: { ...card, sampleShape: [1, 2] } })).rejects.toThrow(
      /input 'x' has shape \[batch, 2\], but the card's sampleShape \[1, 2\] needs \[batch, 1, 2\]/,
    );
  });

  test('names that are not in the graph, and constants for inputs that do not exist', async () => {
    await expect(loadOnnxScoreModel(EPS_FILE, { ...quiet, inputs: { x: 'image' } })).rejects.toThrow(
      /input 'image' \(for x\) is not in the model; its inputs are \[x, t\]/,
    );
    await expect(loadOnnxScoreModel(EPS_FILE, { ...quiet, output: 'eps' })).rejects.toThrow(/output 'eps' is not in the model; its outputs are \[out\]/);
    await expect(loadOnnxScoreModel(EPS_FILE, { ...quiet, constants: { label: { data: [1], dims: [1] } } })).rejects.toThrow(
      /constant 'label' is not an input of the model/,
    );
  });

  test('score() with x of the wrong length names the expected size', async () => {
    const m = await load(EPS_FILE);
    const out = new Float64Array(6);
    await expect(m.score(new Float64Array(6), new Float64Array(2), out)).rejects.toThrow(ParameterError);
    await expect(m.score(new Float64Array(5), new Float64Array(2), new Float64Array(5))).rejects.toThrow(
      /x has 5 values, expected n × sample size = 2 × 2 = 4/,
    );
    await expect(m.score(new Float64Array(4), new Float64Array(2), new Float64Array(3))).rejects.toThrow(/out has 3 values, expected 4/);
    // The model still works after a rejected call.
    const ok = new Float64Array(4);
    await m.score(new Float64Array([0, 0, 1, 1]), new Float64Array([0.5, 0.5]), ok);
    expect(ok.every(Number.isFinite)).toBe(true);
  });

  test('bad options', async () => {
    await expect(loadOnnxScoreModel(EPS_FILE, { ...quiet, maxBatch: 0 })).rejects.toThrow(/maxBatch must be an integer >= 1/);
    await expect(loadOnnxScoreModel(EPS_FILE, { ...quiet, threads: 1.5 })).rejects.toThrow(/threads must be an integer >= 1/);
    await expect(loadOnnxScoreModel(EPS_FILE, { ...quiet, device: 'gpu' as 'cpu' })).rejects.toThrow(/device must be 'auto', 'cuda' or 'cpu'/);
  });

  test('threads and dispose', async () => {
    const m = await loadOnnxScoreModel(EPS_FILE, { ...quiet, threads: 1 });
    const out = new Float64Array(2);
    await m.score(new Float64Array([1, 2]), new Float64Array([0.3]), out);
    await m.dispose();
    await m.dispose();
    await expect(m.score(new Float64Array([1, 2]), new Float64Array([0.3]), out)).rejects.toThrow(/after dispose/);
  });
});

describe('graphs that do not fit their card (built here as tiny ONNX models)', () => {
  const card = () => JSON.parse(readFileSync(join(DIR, 'mixture-vp-t-score.card.json'), 'utf8'));
  function write(name: string, nodes: TinyNode[], inputs: TinyValue[], outputs: TinyValue[]): string {
    const file = join(tmp, name);
    writeFileSync(file, encodeTinyModel({ nodes, inputs, outputs }));
    return file;
  }
  const X: TinyValue = { name: 'x', type: 'float32', dims: ['batch', 2] };
  const T: TinyValue = { name: 't', type: 'float32', dims: ['batch'] };

  test('an output of the wrong shape is a ModelFileError with expected vs actual', async () => {
    const concat: TinyNode[] = [{ op: 'Concat', inputs: ['x', 'x'], outputs: ['out'], ints: { axis: 1 } }];
    for (const dims of [['batch', 4], ['batch', 'd']]) {
      const file = write(`wide-${dims[1]}.onnx`, concat, [X, T], [{ name: 'out', type: 'float32', dims }]);
      await expect(loadOnnxScoreModel(file, { ...quiet, card: card() })).rejects.toThrow(ModelFileError);
      await expect(loadOnnxScoreModel(file, { ...quiet, card: card() })).rejects.toThrow(
        /output 'out' has shape \[(batch|1), 4\].*sampleShape \[2\] needs \[(batch|1), 2\]/,
      );
    }
  });

  test('extra inputs must be fed as constants; per-sample (-1) and fixed constants both work', async () => {
    const file = write(
      'conditional.onnx',
      [{ op: 'Add', inputs: ['x', 'label_emb'], outputs: ['out'] }],
      [X, T, { name: 'label_emb', type: 'float32', dims: ['batch', 2] }],
      [{ name: 'out', type: 'float32', dims: ['batch', 2] }],
    );
    await expect(loadOnnxScoreModel(file, { ...quiet, card: card() })).rejects.toThrow(
      /the model has inputs \[label_emb\] besides x \('x'\) and t \('t'\): feed them with the constants option/,
    );
    const perSample = await load(file, { card: card(), constants: { label_emb: { data: [10, 20], dims: [-1, 2] } } });
    const x = new Float64Array([1, 2, 3, 4, 5, 6]);
    const out = new Float64Array(6);
    await perSample.score(x, new Float64Array([0.1, 0.2, 0.3]), out);
    expect(Array.from(out)).toEqual([11, 22, 13, 24, 15, 26]);
    const broadcast = write(
      'conditional-fixed.onnx',
      [{ op: 'Add', inputs: ['x', 'shift'], outputs: ['out'] }],
      [X, T, { name: 'shift', type: 'float32', dims: [1, 2] }],
      [{ name: 'out', type: 'float32', dims: ['batch', 2] }],
    );
    const fixed = await load(broadcast, { card: card(), constants: { shift: { data: [-1, 1], dims: [1, 2] } } });
    await fixed.score(x, new Float64Array([0.1, 0.2, 0.3]), out);
    expect(Array.from(out)).toEqual([0, 3, 2, 5, 4, 7]);
    await expect(loadOnnxScoreModel(file, { ...quiet, card: card(), constants: { label_emb: { data: [1, 2, 3], dims: [-1, 2] } } })).rejects.toThrow(
      /constant 'label_emb': data has 3 values, dims \[-1, 2\] need 2/,
    );
  });

  test('an integer time input needs the timestep convention', async () => {
    const file = write(
      'int-time.onnx',
      [{ op: 'Identity', inputs: ['x'], outputs: ['out'] }],
      [X, { name: 't', type: 'int64', dims: ['batch'] }],
      [{ name: 'out', type: 'float32', dims: ['batch', 2] }],
    );
    await expect(loadOnnxScoreModel(file, { ...quiet, card: card() })).rejects.toThrow(
      /time input 't' has type int64, but timeInput 't' needs one of float32, float16, float64/,
    );
    const m = await load(file, { card: { ...card(), timeInput: 'timestep', timesteps: 1000 } });
    const out = new Float64Array(2);
    await m.score(new Float64Array([0.5, -0.5]), new Float64Array([0.5]), out);
    expect(Array.from(out)).toEqual([0.5, -0.5]);
  });

  test('static batch axes that disagree, and a time input of the wrong rank', async () => {
    const id: TinyNode[] = [{ op: 'Identity', inputs: ['x'], outputs: ['out'] }];
    const out: TinyValue = { name: 'out', type: 'float32', dims: [8, 2] };
    const bad = write('batch-mismatch.onnx', id, [{ ...X, dims: [8, 2] }, { ...T, dims: [4] }], [out]);
    await expect(loadOnnxScoreModel(bad, { ...quiet, card: card() })).rejects.toThrow(/the batch axes disagree: x \[8, 2\], t \[4\], output \[8, 2\]/);
    const rank3 = write('t-rank.onnx', id, [{ ...X, dims: [8, 2] }, { ...T, dims: [8, 2, 2] }], [out]);
    await expect(loadOnnxScoreModel(rank3, { ...quiet, card: card() })).rejects.toThrow(/time input 't' has shape \[8, 2, 2\], expected \[batch\]/);
  });

  test('input and output names are discovered when the card gives none', async () => {
    const file = write(
      'named.onnx',
      [{ op: 'Identity', inputs: ['sample'], outputs: ['eps_pred'] }],
      [{ ...X, name: 'sample' }, { ...T, name: 'timestep' }],
      [{ name: 'eps_pred', type: 'float32', dims: ['batch', 2] }],
    );
    const { inputs: _i, output: _o, ...bare } = card();
    const m = await load(file, { card: bare });
    expect(m.inputNames).toEqual({ x: 'sample', t: 'timestep' });
    expect(m.outputName).toBe('eps_pred');
    const byRank = write(
      'by-rank.onnx',
      [{ op: 'Identity', inputs: ['a'], outputs: ['y'] }],
      [{ ...T, name: 'b' }, { ...X, name: 'a' }],
      [{ name: 'y', type: 'float32', dims: ['batch', 2] }],
    );
    const r = await load(byRank, { card: bare });
    expect(r.inputNames).toEqual({ x: 'a', t: 'b' });
  });
});
