import { spawnSync } from 'child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync } from 'fs';
import { delimiter, join } from 'path';

/**
 * What stands between this machine and onnxruntime's CUDA execution provider, found without
 * loading it: the provider libraries (present, missing, or the placeholders score-sde's install
 * writes), the shared libraries they need that the dynamic loader cannot find (by name, from
 * `ldd`, which runs the system's own loader), the libraries the provider opens only at run time,
 * and whether an NVIDIA device and driver are there.
 */

/** The provider libraries onnxruntime loads for CUDA, from onnxruntime-node's native folder. */
export const CUDA_PROVIDER_LIBS = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'] as const;

/** Libraries the CUDA provider opens with dlopen when a model needs them (not in its DT_NEEDED). */
export const CUDA_RUNTIME_LIBS = [{ library: 'libcudnn.so.9', why: 'cuDNN 9, needed by convolutional models such as the U-Nets' }] as const;

/** First bytes of a placeholder written by install/skip-onnxruntime-download.cjs. */
export const PLACEHOLDER_MARK = 'score-sde placeholder';

export type ProviderLibState = 'present' | 'missing' | 'placeholder' | 'not a library';

export interface CudaDiagnosis {
  /** linux/x64 is the only platform onnxruntime-node has a CUDA provider for. */
  platformSupported: boolean;
  platform: string;
  nativeDir: string;
  providerLibs: { file: string; state: ProviderLibState }[];
  /** Shared libraries the provider libraries need that the loader does not find (ldd "not found"). */
  missingLibraries: { library: string; neededBy: string }[];
  /** Run-time (dlopen) libraries not found in the loader cache or on LD_LIBRARY_PATH. */
  missingRuntimeLibraries: { library: string; why: string }[];
  /** Set when ldd could not be run, so missingLibraries is unknown. */
  lddError?: string;
  device: {
    /** /dev/nvidia0, /dev/nvidiactl, ... (WSL2 exposes /dev/dxg instead). */
    nodes: string[];
    /** First line of /proc/driver/nvidia/version, when the kernel driver is loaded. */
    driver?: string;
    /** `nvidia-smi -L` output, or why it could not run. */
    nvidiaSmi: { ran: boolean; output: string };
    present: boolean;
  };
  /** Everything found that onnxruntime needs for CUDA; only a real session proves it works. */
  librariesReady: boolean;
  /** The problems, one short clause each; empty when nothing is known to be missing. */
  problems: string[];
}

/** Where a missing library comes from, for the advice line. */
export function libraryOrigin(library: string): string {
  if (/^libcuda\.so/.test(library)) return 'the NVIDIA driver';
  if (/^libcudnn/.test(library)) return 'cuDNN 9';
  if (/^lib(cublas|cublasLt|curand|cudart|cufft|nvrtc)\.so/.test(library)) return 'the CUDA 13 toolkit or pip\'s nvidia-*-cu13 wheels';
  return 'elsewhere';
}

/** `libcublas.so.13, libcurand.so.10 (from the CUDA 13 toolkit ...); libcuda.so.1 (from the NVIDIA driver)`. */
function groupByOrigin(libraries: string[]): string {
  const groups = new Map<string, string[]>();
  for (const lib of libraries) groups.set(libraryOrigin(lib), [...(groups.get(libraryOrigin(lib)) ?? []), lib]);
  return [...groups].map(([origin, libs]) => `${libs.join(', ')} (from ${origin})`).join('; ');
}

/** Parses `ldd` output: the names of the libraries it could not find, in order, without repeats. */
export function parseLddNotFound(output: string): string[] {
  const missing: string[] = [];
  for (const line of output.split('\n')) {
    const m = /^\s*(\S+)\s+=>\s+not found\s*$/.exec(line);
    if (m && !missing.includes(m[1])) missing.push(m[1]);
  }
  return missing;
}

/** The libraries `file` needs (directly or through its dependencies) that the loader cannot find. */
export function librariesNotFound(file: string, env: NodeJS.ProcessEnv = process.env): { missing: string[]; error?: string } {
  const r = spawnSync('ldd', [file], { encoding: 'utf8', env, timeout: 30_000 });
  if (r.error) return { missing: [], error: `ldd could not run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})` };
  const missing = parseLddNotFound(r.stdout);
  if (r.status !== 0 && missing.length === 0) return { missing, error: `ldd ${file}: ${(r.stderr || r.stdout).trim().split('\n')[0]}` };
  return { missing };
}

/** 'present' for an ELF file, 'placeholder' for score-sde's placeholder, else what it is. */
export function providerLibState(file: string): ProviderLibState {
  if (!existsSync(file)) return 'missing';
  const head = Buffer.alloc(PLACEHOLDER_MARK.length);
  const fd = openSync(file, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (n >= 4 && head[0] === 0x7f && head.toString('latin1', 1, 4) === 'ELF') return 'present';
  if (head.toString('utf8', 0, n) === PLACEHOLDER_MARK) return 'placeholder';
  return 'not a library';
}

/** Directories the loader searches for a dlopen'ed name: LD_LIBRARY_PATH, then its cache (`ldconfig -p`). */
export function findLibrary(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean)) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  const cache = spawnSync('ldconfig', ['-p'], { encoding: 'utf8', timeout: 10_000 });
  const fromCache = cache.status === 0 ? parseLdconfig(cache.stdout).get(name) : undefined;
  if (fromCache) return fromCache;
  for (const dir of ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib']) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** `ldconfig -p` lines `\tlibfoo.so.1 (libc6,x86-64) => /path/libfoo.so.1`, x86-64 entries only. */
export function parseLdconfig(output: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of output.split('\n')) {
    const m = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)\s*$/.exec(line);
    if (m && m[2].includes('x86-64') && !map.has(m[1])) map.set(m[1], m[3]);
  }
  return map;
}

function nvidiaDevice(): CudaDiagnosis['device'] {
  let nodes: string[] = [];
  try {
    nodes = readdirSync('/dev').filter((n) => /^nvidia|^dxg$/.test(n)).map((n) => `/dev/${n}`);
  } catch {
    // no /dev to read: no device
  }
  let driver: string | undefined;
  try {
    driver = readFileSync('/proc/driver/nvidia/version', 'utf8').split('\n')[0].trim() || undefined;
  } catch {
    // no kernel driver loaded
  }
  const smi = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 20_000 });
  const nvidiaSmi = smi.error
    ? { ran: false, output: (smi.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'nvidia-smi not found' : smi.error.message }
    : { ran: smi.status === 0, output: (smi.stdout || smi.stderr).trim() };
  return { nodes, driver, nvidiaSmi, present: nodes.length > 0 || nvidiaSmi.ran };
}

/** The full diagnosis for onnxruntime-node's native folder `nativeDir`. */
export function diagnoseCuda(nativeDir: string): CudaDiagnosis {
  const platform = `${process.platform}/${process.arch}`;
  const platformSupported = platform === 'linux/x64';
  const providerLibs = CUDA_PROVIDER_LIBS.map((file) => ({ file, state: platformSupported ? providerLibState(join(nativeDir, file)) : ('missing' as const) }));
  const missingLibraries: CudaDiagnosis['missingLibraries'] = [];
  let lddError: string | undefined;
  const missingRuntimeLibraries: CudaDiagnosis['missingRuntimeLibraries'] = [];
  if (platformSupported) {
    for (const { file, state } of providerLibs) {
      if (state !== 'present') continue;
      const r = librariesNotFound(join(nativeDir, file));
      lddError ??= r.error;
      for (const library of r.missing) {
        if (!missingLibraries.some((m) => m.library === library)) missingLibraries.push({ library, neededBy: file });
      }
    }
    for (const lib of CUDA_RUNTIME_LIBS) {
      if (!findLibrary(lib.library)) missingRuntimeLibraries.push({ library: lib.library, why: lib.why });
    }
  }
  const device = platformSupported ? nvidiaDevice() : { nodes: [], nvidiaSmi: { ran: false, output: 'not probed' }, present: false };

  const problems: string[] = [];
  if (!platformSupported) problems.push(`onnxruntime-node has a CUDA provider on linux/x64 only, this is ${platform}`);
  const notInstalled = providerLibs.filter((l) => l.state !== 'present');
  if (platformSupported && notInstalled.length) {
    problems.push(`CUDA provider not installed (${notInstalled.map((l) => `${l.file} ${l.state}`).join(', ')}; run \`score-sde enable-cuda\`)`);
  }
  if (missingLibraries.length) {
    problems.push(`shared libraries not found: ${missingLibraries.map((m) => m.library).join(', ')} (needed by ${[...new Set(missingLibraries.map((m) => m.neededBy))].join(', ')}; add their folders to LD_LIBRARY_PATH)`);
  }
  if (lddError) problems.push(lddError);
  if (platformSupported && !device.present) {
    problems.push(`no NVIDIA device (no /dev/nvidia*; ${device.nvidiaSmi.output})`);
  }
  return {
    platformSupported,
    platform,
    nativeDir,
    providerLibs,
    missingLibraries,
    missingRuntimeLibraries,
    lddError,
    device,
    librariesReady: platformSupported && notInstalled.length === 0 && missingLibraries.length === 0 && !lddError,
    problems,
  };
}

/** The diagnosis as indented lines, for `inspect` and `enable-cuda`. */
export function formatCudaDiagnosis(d: CudaDiagnosis): string[] {
  const lines = [`CUDA on this machine (${d.platform}):`];
  if (!d.platformSupported) return [...lines, `  ${d.problems[0]}`];
  lines.push(`  provider libraries in ${d.nativeDir}: ${d.providerLibs.map((l) => `${l.file} ${l.state}`).join(', ')}`);
  if (d.providerLibs.every((l) => l.state === 'present')) {
    lines.push(
      d.missingLibraries.length
        ? `  shared libraries the provider needs and the loader cannot find: ${groupByOrigin(d.missingLibraries.map((m) => m.library))}`
        : d.lddError
          ? `  shared libraries: unknown (${d.lddError})`
          : '  shared libraries the provider needs: all found',
    );
  }
  if (d.missingRuntimeLibraries.length) {
    lines.push(`  loaded at run time, not found: ${d.missingRuntimeLibraries.map((m) => `${m.library} (${m.why})`).join(', ')}`);
  }
  const dev = d.device;
  lines.push(
    dev.present
      ? `  NVIDIA device: ${dev.nodes.join(', ') || 'no /dev/nvidia*'}${dev.driver ? `; driver: ${dev.driver}` : ''}; nvidia-smi: ${dev.nvidiaSmi.output.split('\n').join('; ')}`
      : `  NVIDIA device: none (no /dev/nvidia* or /dev/dxg; ${dev.nvidiaSmi.output}${dev.driver ? `; driver: ${dev.driver}` : '; no kernel driver loaded'})`,
  );
  return lines;
}
