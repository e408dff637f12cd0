import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cli as runCli } from './support/cli';
import { encodeNpy } from '../core/npy';
import type { Manifest } from '../cli/manifest';

/**
 * Small hostile or broken inputs fail fast with exit 2 and a message naming the field (or file) and
 * the limit, instead of aborting the process, hanging, or being accepted silently.
 */

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-limits-'));
  write('small.yaml', SMALL);
  fs.writeFileSync(path.join(tmp, 'good.npy'), encodeNpy(new Float32Array(80).map((_, i) => Math.sin(i)), [40, 2]));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = (args: string[], cwd = tmp) => runCli(args, cwd);

const SMALL = `sde: {kind: vp}
model:
  type: mixture
  means: [[-2.0, 0.0], [2.0, 0.0]]
  stds: [0.5, 0.5]
solver: {name: ode_euler, steps: 5}
sampling: {n: 40, seed: 1}
output: {preview: false}
`;

function write(name: string, text: string | Buffer): string {
  const file = path.join(tmp, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** A .npy with a hand-written header (dtype and shape text as given). */
function npyWithHeader(descr: string, shape: string, body: Buffer): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 11) + '\n';
  const head = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

let never = 0;
/** Exit 2 from both validate and run (into a fresh folder, or output.dir), each message matching; nothing written. */
async function expectBoth(args: string[], message: RegExp, opts: { out?: boolean } = {}): Promise<void> {
  const out = path.join(tmp, `never-${never++}`);
  for (const cmd of ['validate', 'run']) {
    const r = await cli([cmd, ...args, ...(cmd === 'run' && opts.out !== false ? ['--out', out] : [])]);
    expect({ cmd, code: r.code }).toEqual({ cmd, code: 2 });
    expect(r.stderr).toMatch(message);
  }
  expect(fs.existsSync(out)).toBe(false);
}

describe('limits where a small input could exhaust memory, the stack or never end', () => {
  test('a config nested thousands deep: exit 2 under validate (was an abort), as under run', async () => {
    write('deep.json', `${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}`);
    await expectBoth(['deep.json'], /deep\.json:1:316: nested more than 64 levels deep \(the limit for a config\)/);
    write('deep70.yaml', `${SMALL}description: 1\nx: ${'['.repeat(70)}1${']'.repeat(70)}\n`);
    await expectBoth(['deep70.yaml'], /deep70\.yaml:10:67: nested more than 64 levels deep/);
  });

  test('--set list indices may append one element, not allocate 10^8', async () => {
    await expectBoth(['small.yaml', '--set', 'model.means.99999999=[1,1]'], /model\.means\.99999999: index 99999999 is beyond the end: the list has 2 elements, so the largest index allowed is 2 \(appending one\)/);
    const ok = await cli(['validate', 'small.yaml', '--set', 'model.means.2=[0,3]', '--set', 'model.stds.2=1', '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).model.means).toEqual([[-2, 0], [2, 0], [0, 3]]);
  });

  test('a sweep of 10^6 cells is refused before a cell is built', async () => {
    const axes = ['sampling.seed', 'solver.steps', 'sampling.n', 'reference.seed', 'reference.projections', 'reference.projectionSeed'];
    write('huge-sweep.yaml', `base: small.yaml\naxes:\n${axes.map((a) => `  ${a}: [1,2,3,4,5,6,7,8,9,10]`).join('\n')}\n`);
    for (const cmd of ['validate', 'sweep']) {
      const r = await cli([cmd, 'huge-sweep.yaml']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/huge-sweep\.yaml:2:1: axes: 1000000 cells \(10 × 10 × 10 × 10 × 10 × 10\) exceed the limit of 10000 cells per sweep/);
    }
  });

  test('/dev/zero as extends, x_T or reference: not a regular file (exit 2), never read', async () => {
    if (!fs.existsSync('/dev/zero')) return;
    write('zero-extends.yaml', `extends: /dev/zero\n${SMALL}`);
    await expectBoth(['zero-extends.yaml'], /extends: extended file \/dev\/zero: not a regular file/);
    await expectBoth(['small.yaml', '--set', 'sampling.xT=/dev/zero'], /sampling\.xT: not a usable \.npy file: not a regular file/);
    await expectBoth(['small.yaml', '--set', 'reference.path=/dev/zero'], /reference: not a usable \.npy file: not a regular file/);
  });

  test('a config file over 4 MiB (a 5 MB list of mixture means) is refused, naming the file and the limit', async () => {
    const means = Array.from({ length: 250000 }, (_, i) => `[${i}, ${i}]`).join(', ');
    write('huge.yaml', `${SMALL.replace('means: [[-2.0, 0.0], [2.0, 0.0]]', `means: [${means}]`).replace('stds: [0.5, 0.5]', '')}`);
    expect(fs.statSync(path.join(tmp, 'huge.yaml')).size).toBeGreaterThan(4 * 1024 * 1024);
    await expectBoth(['huge.yaml'], /huge\.yaml: cannot read config file: is 4\.\d+ MiB, over the limit of 4\.00 MiB for this input/);
  });

  test('--out /proc/x fails at once (Node\'s recursive mkdir loops there)', async () => {
    if (!fs.existsSync('/proc/self')) return;
    const r = await cli(['run', 'small.yaml', '--out', '/proc/x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out: cannot write \/proc\/x: the file system of \/proc has no room for files/);
  });
});

describe('fail before the compute', () => {
  test('an output path that is a file, or under a file: validate and run exit 2', async () => {
    write('afile', 'x');
    await expectBoth(['small.yaml', '--set', 'output.dir=afile'], /output\.dir: .*afile is a file, not a folder/, { out: false });
    await expectBoth(['small.yaml', '--set', 'output.dir=afile/sub'], /output\.dir: cannot create .*afile\/sub: .*afile is a file/, { out: false });
    const r = await cli(['run', 'small.yaml', '--out', 'afile']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out: .*afile is a file/);
  });

  test('an unwritable output folder', async () => {
    // Root writes into any mode-0555 folder; /proc/sys refuses even root (EACCES on Linux).
    let ro = path.join(tmp, 'readonly');
    if (process.getuid?.() === 0) {
      ro = '/proc/sys';
      expect(() => fs.accessSync(ro, fs.constants.W_OK)).toThrow(); // else this machine has no folder root cannot write
    } else {
      fs.mkdirSync(ro, { mode: 0o555 });
    }
    const name = ro.replace(/[/.]/g, (c) => `\\${c}`);
    await expectBoth(['small.yaml', '--set', `output.dir=${ro}/run`], new RegExp(`output\\.dir: cannot create ${name}/run: ${name} is not writable`), { out: false });
  });

  test('an n whose samples.npy cannot fit on the disk', async () => {
    await expectBoth(['small.yaml', '--set', 'sampling.n=1000000000000000'], /samples\.npy needs 7\.11 PiB, but the disk of .* has [\d.]+ \w+ free/);
  });

  test('n: 1 with a reference is an error (exit 2); with reference auto the run draws one sample without metrics', async () => {
    await expectBoth(['small.yaml', '--set', 'sampling.n=1', '--set', 'reference=exact'], /sampling\.n: the metrics against reference 'exact' need at least 2 samples; set reference: none/);
    const out = path.join(tmp, 'one');
    const r = await cli(['run', 'small.yaml', '--set', 'sampling.n=1', '--out', out]);
    expect(r.code).toBe(0);
    const m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Manifest;
    expect(m.reference).toEqual({ source: 'none', from: 'sampling.n < 2: the metrics need at least 2 samples' });
  });

  test('a reference with zero rows, with NaN, or of the wrong row size', async () => {
    write('empty-ref.npy', encodeNpy([], [0, 2]));
    await expectBoth(['small.yaml', '--set', 'reference.path=empty-ref.npy'], /reference: has 0 rows; the metrics need at least 2 reference samples/);
    write('ref3.npy', encodeNpy(new Float32Array(30), [10, 3]));
    await expectBoth(['small.yaml', '--set', 'reference.path=ref3.npy'], /reference: has shape \[10, 3\]: rows of 3 values, but a sample has 2/);
    const nan = new Float32Array(80);
    nan[13] = NaN;
    write('nan-ref.npy', encodeNpy(nan, [40, 2]));
    const r = await cli(['run', 'small.yaml', '--set', 'reference.path=nan-ref.npy', '--out', 'never']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/reference: row 6 holds NaN \(value 1 of the row\): the file must hold finite numbers only/);
  });
});

describe('clear errors instead of silent acceptance', () => {
  test('x_T of integer or bool dtype, or with a fractional shape, is refused', async () => {
    write('int.npy', npyWithHeader('<i4', '(40, 2)', Buffer.alloc(320)));
    write('bool.npy', npyWithHeader('|b1', '(40, 2)', Buffer.alloc(80)));
    write('frac.npy', npyWithHeader('<f4', '(40, 2.5)', Buffer.alloc(400)));
    await expectBoth(['small.yaml', '--set', 'sampling.xT=int.npy'], /sampling\.xT: has dtype '<i4' \(int32\); x_T must be float32 or float64/);
    await expectBoth(['small.yaml', '--set', 'sampling.xT=bool.npy'], /sampling\.xT: has dtype '\|b1'.*must be float32 or float64/);
    await expectBoth(['small.yaml', '--set', 'sampling.xT=frac.npy'], /sampling\.xT: not a usable \.npy file: shape \(40, 2\.5\) is not a tuple of non-negative integers/);
    expect((await cli(['validate', 'small.yaml', '--set', 'sampling.xT=good.npy'])).code).toBe(0);
  });

  test('.inf in --set is shown as Infinity, not null', async () => {
    const r = await cli(['validate', 'small.yaml', '--set', 'solver.steps=.inf']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/solver\.steps: .*; got Infinity/);
  });

  test('eps >= T passes neither validate nor run, naming solver.eps', async () => {
    await expectBoth(['small.yaml', '--set', 'solver.eps=1.5'], /solver\.eps: must be smaller than the SDE's end time T = 1 .*; got 1\.5/);
    await expectBoth(['small.yaml', '--set', 'sde.T=0.0005'], /sde\.T: the SDE's end time T = 0\.0005 is not above the default eps 0\.001/);
  });

  test('a model file that is not ONNX exits 2 under run, as under inspect', async () => {
    write('bad.onnx', 'not a network');
    fs.copyFileSync(path.resolve(__dirname, '..', 'models', 'exact', 'mixture-vp-t-score.card.json'), path.join(tmp, 'bad.card.json'));
    write('bad-model.yaml', `model: {type: onnx, path: bad.onnx, device: cpu}\nsampling: {n: 10}\n`);
    const r = await cli(['run', 'bad-model.yaml', '--out', 'never']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/model\.path: .*bad\.onnx: not an ONNX model/);
    expect((await cli(['inspect', 'bad.onnx'])).code).toBe(2);
  });

  test('an extends through a symlink loop, or a cycle through a symlink, is named as such', async () => {
    fs.symlinkSync('loop-b.yaml', path.join(tmp, 'loop-a.yaml'));
    fs.symlinkSync('loop-a.yaml', path.join(tmp, 'loop-b.yaml'));
    write('via-loop.yaml', `extends: loop-a.yaml\n${SMALL}`);
    await expectBoth(['via-loop.yaml'], /extends: extended file .*loop-a\.yaml: symbolic link loop/);
    write('self.yaml', `extends: self-link.yaml\n${SMALL}`);
    fs.symlinkSync('self.yaml', path.join(tmp, 'self-link.yaml'));
    await expectBoth(['self.yaml'], /extends: extends cycle: .*self\.yaml -> .*self-link\.yaml/);
  });

  test('a YAML alias bomb exits 2 naming the file', async () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 6; i++) levels.push(`${'abcdef'[i]}: &${'abcdef'[i]} [${Array(9).fill(`*${'abcdef'[i - 1]}`).join(', ')}]`);
    write('bomb.yaml', `${SMALL}${levels.join('\n')}\n`);
    await expectBoth(['bomb.yaml'], /bomb\.yaml: YAML aliases expand too far/);
  });

  test('__proto__, constructor and prototype keys are refused in --set, config files and sweep axes', async () => {
    await expectBoth(['small.yaml', '--set', 'reference.__proto__.source=none'], /reference\.__proto__\.source: the key '__proto__' is not allowed/);
    await expectBoth(['small.yaml', '--set', 'model={constructor: 1}'], /model\.constructor: the key 'constructor' is not allowed/);
    write('proto.yaml', `${SMALL}reference:\n  __proto__: {source: none}\n`);
    await expectBoth(['proto.yaml'], /proto\.yaml:10:3: reference\.__proto__: the key '__proto__' is not allowed/);
    write('proto-sweep.yaml', `base: small.yaml\naxes:\n  solver.prototype: [1]\n`);
    const r = await cli(['sweep', 'proto-sweep.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/proto-sweep\.yaml:3:3: solver\.prototype: the key 'prototype' is not allowed/);
  });

  test('samples that blow up are flagged (pc, ald corrector, snr 100); the same run with snr 0.16 is not', async () => {
    const run = async (snr: number) => {
      const out = path.join(tmp, `pc-${snr}`);
      const r = await cli(['run', 'small.yaml', '--out', out, '--set', `solver={name: pc, steps: 20, snr: ${snr}, corrector: ald}`, '--set', 'output.dtype=float64']);
      return { r, m: JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Manifest };
    };
    const bad = await run(100);
    expect(bad.r.code).toBe(0);
    expect(bad.r.stderr).toMatch(/warning: samples reach \|x\| = [\d.]+e\+\d+, over 1e\+6 × the scale of the prior and data \([\d.]+\): the solver diverged/);
    expect(bad.m.warnings.some((w) => /samples reach/.test(w))).toBe(true);
    const good = await run(0.16);
    expect(good.m.warnings.some((w) => /samples reach/.test(w))).toBe(false);
  });
});
