/** The ONNX layer's small parts: float16 conversion, time conventions, the ONNX top-level reader. */
import { readFileSync } from 'fs';
import { join } from 'path';
import { ort } from '../models/onnx/ort';
import { TIME_CONVENTIONS } from '../models/card';
import { fillTimeInput, float16Bits, float16Value, fromFloat16, readOnnxTopLevel, timeInputValue, toFloat16 } from '../models/onnx';
import { probeModelBytes } from '../models/onnx/onnx-file';
import { SubVPSDE, VESDE, VPSDE } from '../sdes';

describe('float16', () => {
  test('known values: rounding to nearest even, subnormals, overflow, NaN', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff], // largest half
      [65519.99, 0x7bff],
      [65520, 0x7c00], // rounds up to Infinity
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie → even (0)
      [3 * 2 ** -25, 0x0002], // tie → even (2)
      [1 + 2 ** -11, 0x3c00], // tie → even
      [1 + 3 * 2 ** -11, 0x3c02], // tie → even (up)
      [1 + 2 ** -10, 0x3c01],
      [0.1, 0x2e66],
      [1e-10, 0x0000],
    ];
    for (const [v, bits] of cases) expect([v, float16Bits(v)]).toEqual([v, bits]);
    expect(float16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(float16Bits(NaN) & 0x3ff).not.toBe(0);
  });

  test('every half value round-trips exactly', () => {
    for (let h = 0; h < 65536; h++) {
      const v = float16Value(h);
      if (Number.isNaN(v)) expect((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0).toBe(true);
      else if (float16Bits(v) !== h) throw new Error(`half 0x${h.toString(16)} → ${v} → 0x${float16Bits(v).toString(16)}`);
    }
  });

  test('arrays: to and from, with an offset', () => {
    const src = new Float64Array([9, 1.5, -3.25, 1000.5, 7e-5]);
    const h = new Uint16Array(4);
    toFloat16(src, 1, 4, h);
    const back = new Float32Array(4);
    fromFloat16(h, 4, back);
    expect(Array.from(back.subarray(0, 3))).toEqual([1.5, -3.25, 1000.5]);
    expect(Math.abs(back[3] - 7e-5)).toBeLessThan(7e-5 * 2 ** -10);
  });
});

describe('time conventions', () => {
  const vp = new VPSDE();
  const ve = new VESDE();
  const sub = new SubVPSDE();

  test('each convention as card.ts defines it', () => {
    for (const t of [1e-3, 0.25, 0.5, 1]) {
      expect(timeInputValue('t', vp, t)).toBe(t);
      expect(timeInputValue('t999', vp, t)).toBe(999 * t);
      expect(timeInputValue('sigma', vp, t)).toBe(vp.std(t));
      expect(timeInputValue('sigma', ve, t)).toBe(ve.sigma(t));
      expect(timeInputValue('timestep', vp, t, 1000)).toBe(Math.round(t * 999));
      expect(timeInputValue('edm_c_noise', vp, t)).toBeCloseTo(0.25 * Math.log(vp.std(t) / vp.meanCoef(t)), 14);
      expect(timeInputValue('edm_c_noise', ve, t)).toBeCloseTo(0.25 * Math.log(ve.sigma(t)), 14);
      expect(timeInputValue('edm_c_noise', sub, t)).toBeCloseTo(0.25 * Math.log(sub.std(t) / sub.meanCoef(t)), 14);
    }
    // timestep scales by T and clamps to the grid.
    const vp2 = new VPSDE({ T: 2 });
    expect(timeInputValue('timestep', vp2, 1, 1000)).toBe(500);
    expect(timeInputValue('timestep', vp2, 2.5, 1000)).toBe(999);
    expect(() => timeInputValue('timestep', vp, 0.5)).toThrow(/needs timesteps/);
    expect(() => timeInputValue('bogus' as 't', vp, 0.5)).toThrow(/unknown time convention 'bogus'/);
  });

  test('fillTimeInput writes each element type, and agrees with timeInputValue', () => {
    const t = new Float64Array([0.9, 0.1, 0.5, 0.2501, 1]);
    for (const conv of TIME_CONVENTIONS) {
      const f32 = new Float32Array(3);
      fillTimeInput(conv, vp, t, 1, 3, f32, 'float32', 1000);
      expect(Array.from(f32)).toEqual([0.1, 0.5, 0.2501].map((ti) => Math.fround(timeInputValue(conv, vp, ti, 1000))));
      const f16 = new Uint16Array(3);
      fillTimeInput(conv, vp, t, 1, 3, f16, 'float16', 1000);
      expect(Array.from(f16)).toEqual([0.1, 0.5, 0.2501].map((ti) => float16Bits(timeInputValue(conv, vp, ti, 1000))));
    }
    const i64 = new BigInt64Array(5);
    fillTimeInput('timestep', vp, t, 0, 5, i64, 'int64', 1000);
    expect(Array.from(i64)).toEqual([899n, 100n, 500n, 250n, 999n]);
    const i32 = new Int32Array(5);
    fillTimeInput('timestep', vp, t, 0, 5, i32, 'int32', 1000);
    expect(Array.from(i32)).toEqual([899, 100, 500, 250, 999]);
  });
});

describe('ONNX top-level reader', () => {
  test('reads the card out of a shipped file', () => {
    const top = readOnnxTopLevel(readFileSync(join(__dirname, '..', 'models', 'exact', 'mixture-vp-timestep-x0.onnx')));
    expect(top.hasGraph).toBe(true);
    expect(top.irVersion).toBeGreaterThan(0);
    const card = JSON.parse(top.metadata.score_sde_card);
    expect(card).toMatchObject({ format: 'score-sde-card/1', timeInput: 'timestep', timesteps: 1000, parameterization: 'x0' });
  });

  test('rejects what is not a ModelProto', () => {
    expect(() => readOnnxTopLevel(new Uint8Array())).toThrow(/empty/);
    expect(() => readOnnxTopLevel(new TextEncoder().encode('hello world, no protobuf here'))).toThrow();
    expect(() => readOnnxTopLevel(Uint8Array.from([0x08, 0x08]))).toThrow(/no graph/);
  });

  test('the probe model is valid ONNX that onnxruntime runs', async () => {
    const bytes = probeModelBytes();
    expect(readOnnxTopLevel(bytes).hasGraph).toBe(true);
    const s = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
    const r = await s.run({ a: new ort.Tensor('float32', Float32Array.from([2.5]), [1]) });
    expect(Array.from(r.b.data as Float32Array)).toEqual([2.5]);
    await s.release();
  });
});
