import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CUDA_PROVIDER_LIBS, CudaDiagnosis, formatCudaDiagnosis } from '../models/onnx/cuda-diagnosis';
import { cudaDiagnosis, ortNativeDir, probeCudaSession } from '../models/onnx/execution-provider';
import { UsageError } from './exit-codes';

/**
 * `score-sde enable-cuda`: puts onnxruntime's CUDA provider libraries beside libonnxruntime.so.1 in
 * the onnxruntime-node that score-sde loads (found with require.resolve, so it works from the
 * repository and from an installed package alike), then says what, if anything, still stands
 * between this machine and a CUDA session.
 *
 * The libraries come from the npm package below (the registry, through the user's own npm and its
 * configuration; no NuGet), or from `--from` (that package's folder or .tgz, for offline machines).
 */

/** The npm package carrying the CUDA 13 provider built for each onnxruntime-node version. */
export const CUDA_PROVIDER_PACKAGES: Record<string, { name: string; version: string; libDir: string }> = {
  '1.29.0': { name: 'com.github.asus4.onnxruntime.linux-x64-gpu', version: '0.4.9', libDir: 'Plugins/Linux/x64' },
};

/** Every provider library the package carries (TensorRT's too, so no placeholder is left). */
const LIBS_TO_PLACE = [...CUDA_PROVIDER_LIBS, 'libonnxruntime_providers_tensorrt.so'];

export interface EnableCudaOptions {
  /** A folder or .tgz of the provider package, instead of fetching it with npm. */
  from?: string;
  /** Try a real CUDA session afterwards (default true). */
  check?: boolean;
  log: (line: string) => void;
}

export interface EnableCudaResult {
  placed: string[];
  nativeDir: string;
  diagnosis: CudaDiagnosis;
  /** The real session attempt; absent when not tried (check off, or something known missing). */
  session?: { ok: boolean; reason: string };
}

function ortVersion(): string {
  return (require(require.resolve('onnxruntime-node/package.json')) as { version: string }).version;
}

export async function enableCuda(opts: EnableCudaOptions): Promise<EnableCudaResult> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`onnxruntime-node has a CUDA provider on linux/x64 only; this is ${process.platform}/${process.arch}`);
  }
  const version = ortVersion();
  const source = CUDA_PROVIDER_PACKAGES[version];
  if (!source) {
    throw new Error(`no CUDA provider package is known for onnxruntime-node ${version} (known: ${Object.keys(CUDA_PROVIDER_PACKAGES).join(', ')})`);
  }
  const nativeDir = ortNativeDir();
  if (!fs.existsSync(path.join(nativeDir, 'libonnxruntime.so.1'))) {
    throw new Error(`${path.join(nativeDir, 'libonnxruntime.so.1')} not found: is onnxruntime-node installed?`);
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-cuda-'));
  try {
    const libDir = providerLibDir(source, opts.from, work, opts.log);
    const placed: string[] = [];
    for (const lib of LIBS_TO_PLACE) {
      const src = path.join(libDir, lib);
      if (!fs.existsSync(src)) {
        if (lib === 'libonnxruntime_providers_tensorrt.so') continue;
        throw new Error(`${lib} not found in ${libDir}`);
      }
      // Copy then rename: a process that has the old file mapped keeps its copy intact.
      const dest = path.join(nativeDir, lib);
      fs.copyFileSync(src, `${dest}.tmp`);
      fs.chmodSync(`${dest}.tmp`, 0o755);
      fs.renameSync(`${dest}.tmp`, dest);
      placed.push(lib);
      opts.log(`enable-cuda: placed ${lib} in ${nativeDir}`);
    }
    const diagnosis = cudaDiagnosis();
    const result: EnableCudaResult = { placed, nativeDir, diagnosis };
    if (opts.check !== false && diagnosis.librariesReady && diagnosis.device.present) result.session = await probeCudaSession();
    return result;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The folder holding the provider libraries: from --from (folder or .tgz), else fetched with npm pack. */
function providerLibDir(source: { name: string; version: string; libDir: string }, from: string | undefined, work: string, log: (line: string) => void): string {
  let tgz: string | undefined;
  if (from !== undefined) {
    const abs = path.resolve(from);
    if (!fs.existsSync(abs)) throw new UsageError(`--from ${from}: not found`);
    if (fs.statSync(abs).isDirectory()) {
      const inPackage = path.join(abs, source.libDir);
      return fs.existsSync(inPackage) ? inPackage : abs;
    }
    tgz = abs;
  } else {
    const installed = installedPackageDir(source);
    if (installed) {
      log(`enable-cuda: using the installed ${source.name} in ${installed}`);
      return path.join(installed, source.libDir);
    }
    const spec = `${source.name}@${source.version}`;
    log(`enable-cuda: npm pack ${spec} (about 179 MB; npm's cache is used when it has it)`);
    const r = spawnSync('npm', ['pack', spec, '--pack-destination', work, '--json', '--ignore-scripts'], { cwd: work, encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.error || r.status !== 0) {
      const why = r.error ? r.error.message : (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ');
      throw new Error(`npm pack ${spec} failed (${why}); fetch it elsewhere with \`npm pack ${spec}\` and run \`score-sde enable-cuda --from <that .tgz>\``);
    }
    tgz = path.join(work, (JSON.parse(r.stdout) as { filename: string }[])[0].filename);
  }
  const members = LIBS_TO_PLACE.map((lib) => `package/${source.libDir}/${lib}`);
  log(`enable-cuda: extracting ${LIBS_TO_PLACE.length} provider libraries from ${path.basename(tgz)}`);
  const x = spawnSync('tar', ['-xzf', tgz, '-C', work, ...members], { encoding: 'utf8' });
  // tar exits non-zero when a member is absent (an older package without TensorRT): what was
  // extracted is checked file by file by the caller.
  if (x.error) throw new Error(`tar could not run: ${x.error.message}`);
  return path.join(work, 'package', source.libDir);
}

/** The provider package where the user installed it (npm install <name>@<version>), at the right version. */
function installedPackageDir(source: { name: string; version: string }): string | undefined {
  try {
    const pj = require.resolve(`${source.name}/package.json`, { paths: [process.cwd()] });
    const version = (JSON.parse(fs.readFileSync(pj, 'utf8')) as { version?: string }).version;
    return version === source.version ? path.dirname(pj) : undefined;
  } catch {
    return undefined;
  }
}

/** The command: places the libraries, prints the diagnosis; exit 0 when CUDA works (or --no-check), else 1. */
export async function cmdEnableCuda(args: Record<string, unknown>, io: { stdout(s: string): void; stderr(s: string): void }): Promise<number> {
  const check = args.check !== false;
  const r = await enableCuda({ from: args.from === undefined ? undefined : String(args.from), check, log: (l) => io.stderr(`${l}\n`) });
  io.stdout(`${formatCudaDiagnosis(r.diagnosis).join('\n')}\n`);
  if (!check) {
    io.stdout('enable-cuda: provider libraries placed (no check asked for)\n');
    return 0;
  }
  if (r.session?.ok) {
    io.stdout("enable-cuda: a CUDA session was created: models load on the GPU with device 'auto' (the default) or 'cuda'\n");
    return 0;
  }
  const why = r.session ? [r.session.reason] : r.diagnosis.problems;
  io.stdout(`enable-cuda: provider libraries placed, but CUDA cannot run here yet: ${why.join('; ')}\n`);
  return 1;
}
