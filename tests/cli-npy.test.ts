import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import { NpyError, decodeNpy, encodeNpy, npyToFloat64, readNpy, writeNpy } from '../core/npy';
import { imageGridPng, scatterPng } from '../cli/preview';
import { formatTick, lineChartSvg, svgToPng } from '../cli/plot';

/** A .npy as NumPy writes it: magic, version, header padded to 64 bytes, then the data. */
function npyBytes(descr: string, shape: string, body: Buffer, fortran = false, major = 1): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shape}, }`;
  const pre = major === 1 ? 10 : 12;
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  header = header.padEnd(total - pre - 1) + '\n';
  const head = Buffer.alloc(pre);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]).copy(head);
  if (major === 1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

describe('.npy', () => {
  test('float32 and float64 round trip, header as NumPy writes it', () => {
    const data = Float64Array.from([1.5, -2, 3.25, 1e-8, 7, 8]);
    const f4 = encodeNpy(data, [3, 2]);
    expect(f4.length % 64).toBe((6 * 4) % 64);
    expect(f4.subarray(0, 8)).toEqual(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]));
    const header = f4.subarray(10, 10 + f4.readUInt16LE(8)).toString('latin1');
    expect(header).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(3, 2\), \} *\n$/);
    expect((10 + header.length) % 64).toBe(0);
    const a = decodeNpy(f4);
    expect(a).toMatchObject({ shape: [3, 2], dtype: 'float32', descr: '<f4' });
    expect(Array.from(a.data as Float32Array)).toEqual(Array.from(Float32Array.from(data)));
    const f8 = decodeNpy(encodeNpy(data, [6], 'float64'));
    expect(f8.shape).toEqual([6]);
    expect(npyToFloat64(f8)).toEqual(data);
    expect(decodeNpy(encodeNpy([], [0, 2])).shape).toEqual([0, 2]);
    expect(() => encodeNpy([1, 2, 3], [2, 2])).toThrow(/holds 4 values, data has 3/);
  });

  test('reads other dtypes, big-endian, Fortran order and version 2 headers', () => {
    expect(Array.from(decodeNpy(npyBytes('|u1', '(2, 2)', Buffer.from([0, 1, 254, 255]))).data as Uint8Array)).toEqual([0, 1, 254, 255]);
    const be = Buffer.alloc(16);
    be.writeDoubleBE(1.25, 0);
    be.writeDoubleBE(-3, 8);
    expect(npyToFloat64(decodeNpy(npyBytes('>f8', '(2,)', be)))).toEqual(Float64Array.from([1.25, -3]));
    const i4 = Buffer.alloc(8);
    i4.writeInt32LE(-7, 0);
    i4.writeInt32LE(9, 4);
    expect(Array.from(decodeNpy(npyBytes('<i4', '(2,)', i4, false, 2)).data as Int32Array)).toEqual([-7, 9]);
    const i8 = Buffer.alloc(8);
    i8.writeBigInt64LE(-5n, 0);
    expect(npyToFloat64(decodeNpy(npyBytes('<i8', '(1,)', i8)))).toEqual(Float64Array.from([-5]));
    // Fortran order [[1, 2, 3], [4, 5, 6]] is stored column by column: 1 4 2 5 3 6.
    const f = Buffer.alloc(24);
    [1, 4, 2, 5, 3, 6].forEach((v, i) => f.writeFloatLE(v, 4 * i));
    const fo = decodeNpy(npyBytes('<f4', '(2, 3)', f, true));
    expect(fo.shape).toEqual([2, 3]);
    expect(Array.from(fo.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('errors name the file and the problem', () => {
    expect(() => decodeNpy(Buffer.from('not numpy at all'), 'x.npy')).toThrow(/x\.npy: not a \.npy file/);
    expect(() => decodeNpy(npyBytes('<c16', '(1,)', Buffer.alloc(16)), 'c.npy')).toThrow(/c\.npy: unsupported dtype '<c16'/);
    expect(() => decodeNpy(npyBytes('<f4', '(10,)', Buffer.alloc(8)), 't.npy')).toThrow(/t\.npy: truncated/);
    expect(() => readNpy('/no/such/file.npy')).toThrow(NpyError);
  });

  test('the shipped reference .npy files read', () => {
    // A shipped file that is missing is a packaging loss: fail, don't skip.
    const ref = path.resolve(__dirname, '..', 'models', 'toy2d', 'mixture-reference.npy');
    const a = readNpy(ref);
    expect(a.descr).toBe('<f4');
    expect(a.shape).toEqual([5000, 2]);
  });

  test('writeNpy is atomic: no temporary file is left', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-npy-'));
    try {
      writeNpy(path.join(dir, 'a.npy'), [1, 2], [2]);
      expect(fs.readdirSync(dir)).toEqual(['a.npy']);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});

describe('previews and plots', () => {
  test('scatter: 512×512, points drawn where the data is', () => {
    const x = new Float64Array(400);
    for (let i = 0; i < 200; i++) {
      x[2 * i] = i % 2 ? 3 : -3;
      x[2 * i + 1] = 0;
    }
    const png = PNG.sync.read(scatterPng(x, 2, { reference: x }));
    expect([png.width, png.height]).toEqual([512, 512]);
    const at = (px: number, py: number) => Array.from(png.data.subarray(4 * (py * 512 + px), 4 * (py * 512 + px) + 3));
    // Equal scales, centred: x = ±3 sit symmetric about the middle, on the y = 0 row.
    let blue = 0;
    for (let px = 0; px < 512; px++) for (let py = 240; py < 272; py++) if (at(px, py)[2] > at(px, py)[0] + 40) blue++;
    expect(blue).toBeGreaterThan(4);
    expect(at(5, 5)).toEqual([255, 255, 255]);
    expect(at(15, 100)).toEqual([0, 0, 0]); // the axes box
  });

  test('image grid: layout, upscaling and the data range', () => {
    const shape = [1, 4, 3];
    const imgs = new Float64Array(10 * 12).fill(-1);
    imgs.fill(1, 0, 12); // the first image white
    const png = PNG.sync.read(imageGridPng(imgs, shape, { grid: 4, scale: 2, range: [-1, 1] }));
    // 10 images in a 4-wide grid: 3 rows; each cell 3·2 wide, 4·2 high, 2-pixel gaps.
    expect([png.width, png.height]).toEqual([4 * (6 + 2) + 2, 3 * (8 + 2) + 2]);
    const px = (x: number, y: number) => png.data[4 * (y * png.width + x)];
    expect(px(2, 2)).toBe(255);
    expect(px(7, 9)).toBe(255);
    expect(px(10, 2)).toBe(0);
  });

  test('line chart: SVG with log axes, ticks, legend; rendered to PNG', () => {
    const svg = lineChartSvg({
      title: 'q vs nfe',
      xLabel: 'NFE',
      yLabel: 'sw',
      series: [
        { name: 'euler_maruyama', points: [{ x: 10, y: 0.5 }, { x: 100, y: 0.2 }, { x: 1000, y: 0.1 }] },
        { name: 'pc <2>', points: [{ x: 20, y: 0.4 }, { x: 200, y: 0.15 }] },
      ],
    });
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toContain('>euler_maruyama</text>');
    expect(svg).toContain('>pc &lt;2&gt;</text>');
    for (const t of ['10', '100', '1000']) expect(svg).toContain(`>${t}</text>`);
    expect(svg).toContain('NFE (log)');
    expect((svg.match(/<polyline/g) ?? []).length).toBe(2);
    const png = PNG.sync.read(svgToPng(svg));
    expect([png.width, png.height]).toEqual([760, 460]);
    expect(formatTick(0.0001)).toBe('1e-4');
    expect(formatTick(2500)).toBe('2500');
  });
});
