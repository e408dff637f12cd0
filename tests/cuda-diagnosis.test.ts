/**
 * The CUDA diagnosis (models/onnx/cuda-diagnosis.ts): parsing of captured ldd / ldconfig output,
 * then the real thing on this machine's files, with the system's dynamic loader (process.dlopen)
 * and onnxruntime itself as the ground truth. No filesystem mocks.
 */
import { spawnSync } from 'child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ort } from '../models/onnx/ort';
import { probeModelBytes } from '../models/onnx/onnx-file';
import {
  CUDA_PROVIDER_LIBS,
  PLACEHOLDER_MARK,
  formatCudaDiagnosis,
  libraryOrigin,
  librariesNotFound,
  parseLddNotFound,
  parseLdconfig,
  providerLibState,
} from '../models/onnx/cuda-diagnosis';
import { cudaDiagnosis, cudaPrecheck, ortNativeDir } from '../models/onnx/execution-provider';

/** `ldd libonnxruntime_providers_cuda.so` (com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9) on this project's machine. */
const LDD_CUDA_PROVIDER = `\tlinux-vdso.so.1 (0x00007f6ec04d5000)
\tlibcublasLt.so.13 => not found
\tlibcublas.so.13 => not found
\tlibcurand.so.10 => not found
\tlibcudart.so.13 => /usr/local/cuda-13.0/lib/libcudart.so.13 (0x00007f6eb2200000)
\tlibcuda.so.1 => not found
\tlibdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f6ec04b8000)
\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f6eb1e00000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f6eb201e000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f6ec04d7000)
`;

const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64' ? test : test.skip;

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'score-sde-cuda-diag-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('parsing', () => {
  test('ldd output: the "not found" libraries, in order', () => {
    expect(parseLddNotFound(LDD_CUDA_PROVIDER)).toEqual(['libcublasLt.so.13', 'libcublas.so.13', 'libcurand.so.10', 'libcuda.so.1']);
    // negative control: the same output with everything resolved lists nothing
    expect(parseLddNotFound(LDD_CUDA_PROVIDER.replace(/=> not found/g, '=> /opt/cuda/lib/x.so (0x0)'))).toEqual([]);
  });

  test('ldconfig -p output: x86-64 entries by name', () => {
    const cache = parseLdconfig('123 libs found in cache `/etc/ld.so.cache\'\n\tlibcudart.so.13 (libc6,x86-64) => /usr/local/cuda-13.0/lib/libcudart.so.13\n\tlibfoo.so.1 (libc6) => /usr/lib32/libfoo.so.1\n');
    expect(cache.get('libcudart.so.13')).toBe('/usr/local/cuda-13.0/lib/libcudart.so.13');
    expect(cache.has('libfoo.so.1')).toBe(false);
  });

  test('where a missing library comes from', () => {
    expect(libraryOrigin('libcuda.so.1')).toMatch(/driver/);
    expect(libraryOrigin('libcublasLt.so.13')).toMatch(/CUDA 13 toolkit/);
    expect(libraryOrigin('libcudnn.so.9')).toMatch(/cuDNN/);
  });
});

describe('on this machine, with the real loader', () => {
  onLinuxX64("ldd finds what a library needs beside it, and names what it cannot find (onnxruntime's own binding)", () => {
    const binding = join(ortNativeDir(), 'onnxruntime_binding.node');
    // In place, libonnxruntime.so.1 sits beside it ($ORIGIN): nothing missing.
    expect(librariesNotFound(binding)).toEqual({ missing: [] });
    // Alone in a folder, its libonnxruntime.so.1 cannot be found ...
    const lonely = join(tmp, 'lonely.node');
    copyFileSync(binding, lonely);
    expect(librariesNotFound(lonely).missing).toEqual(['libonnxruntime.so.1']);
    // ... which the loader itself confirms, in a fresh process (this one has libonnxruntime.so.1
    // loaded already, which would satisfy the name).
    const load = spawnSync(process.execPath, ['-e', 'process.dlopen({ exports: {} }, process.argv[1])', lonely], { encoding: 'utf8' });
    expect(load.status).not.toBe(0);
    expect(load.stderr).toMatch(/libonnxruntime\.so\.1: cannot open shared object file/);
  });

  test('provider file states: an ELF library, a placeholder, another file, nothing', () => {
    expect(providerLibState(join(ortNativeDir(), 'onnxruntime_binding.node'))).toBe('present');
    writeFileSync(join(tmp, 'placeholder.so'), `${PLACEHOLDER_MARK}: not a library\n`);
    expect(providerLibState(join(tmp, 'placeholder.so'))).toBe('placeholder');
    writeFileSync(join(tmp, 'text.so'), 'hello\n');
    expect(providerLibState(join(tmp, 'text.so'))).toBe('not a library');
    expect(providerLibState(join(tmp, 'nope.so'))).toBe('missing');
  });

  onLinuxX64('the diagnosis agrees with the loader: each installed provider library that it says lacks something fails to load, naming one of them', () => {
    const d = cudaDiagnosis();
    for (const lib of CUDA_PROVIDER_LIBS) {
      const file = join(d.nativeDir, lib);
      const state = d.providerLibs.find((l) => l.file === lib)!.state;
      expect(state).toBe(providerLibState(file));
      const missing = d.missingLibraries.filter((m) => m.neededBy === lib).map((m) => m.library);
      if (state !== 'present' || missing.length === 0) continue;
      let error = '';
      try {
        process.dlopen({ exports: {} } as NodeJS.Module, file);
      } catch (e) {
        error = (e as Error).message;
      }
      expect(missing.some((name) => error.includes(`${name}: cannot open shared object file`))).toBe(true);
    }
    const text = formatCudaDiagnosis(d).join('\n');
    for (const m of d.missingLibraries) expect(text).toContain(m.library);
    expect(text).toMatch(d.device.present ? /NVIDIA device: (?!none)/ : /NVIDIA device: none/);
    expect(d.device.present).toBe(d.device.nodes.length > 0 || d.device.nvidiaSmi.ran);
  });

  onLinuxX64('the precheck agrees with onnxruntime: where it says no, a real CUDA session fails; where it says yes, one starts', async () => {
    const pre = cudaPrecheck();
    const attempt = ort.InferenceSession.create(probeModelBytes(), { executionProviders: ['cuda'], logSeverityLevel: 4 });
    if (pre.ok) {
      await expect(attempt).resolves.toBeDefined();
    } else {
      await expect(attempt).rejects.toThrow();
      expect(pre.reason.length).toBeGreaterThan(0);
      if (!existsSync('/dev/nvidia0') && !existsSync('/dev/dxg')) expect(pre.reason).toMatch(/no NVIDIA device/);
    }
  });
});
