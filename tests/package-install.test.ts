/**
 * score-sde as a package a stranger installs: `npm pack`, then a plain `npm install <tarball>` in a
 * scratch project in a temp folder, as a consumer would (no .npmrc, no environment switches).
 *
 * - Nothing is downloaded by onnxruntime-node's installer: its HTTPS goes through global-agent,
 *   pointed here at a local proxy that records every request; it must record none. The negative
 *   control runs the same installer with a download forced and sees the proxy record nuget.org.
 * - The README's library snippet, extracted from README.md, runs as written from the scratch
 *   folder in ESM and (imports turned into require) in CommonJS.
 * - The consumer project type-checks with `tsc --noEmit` and no skipLibCheck, and `r.samples`
 *   is not `any` (the ndarray types reach consumers).
 * - The installed CLI validates a shipped config that needs the reference .npy, lists the shipped
 *   networks, and reports the CUDA provider files as placeholders without onnxruntime noise.
 *
 * Needs the npm registry or npm's cache (after `npm ci`, everything is in the cache). About a minute.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { readNpy } from '../core/npy';

const ROOT = path.resolve(__dirname, '..');
/** onnxruntime-node's installer downloads (and score-sde writes placeholders) on linux/x64 only. */
const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64' ? test : test.skip;
const run = promisify(execFile);
const TYPES_NODE = `@types/node@${(JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/@types/node/package.json'), 'utf8')) as { version: string }).version}`;

interface Recorder {
  url: string;
  seen: string[];
  close(): Promise<void>;
}

/** An HTTP proxy that records and refuses every request (CONNECT tunnels included). */
async function recordingProxy(): Promise<Recorder> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(502).end();
  });
  server.on('connect', (req: http.IncomingMessage, socket: import('net').Socket) => {
    seen.push(`CONNECT ${req.url}`);
    socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The first ```ts block of the README's "As a library" section. */
function readmeSnippet(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## As a library'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('README.md: no ```ts block under "## As a library"');
  return m[1];
}

/** The ESM snippet as CommonJS: imports become a require, the rest runs in an async function. */
function toCommonJs(esm: string): string {
  const cjs = esm.replace(/^import \{([^}]*)\} from '([^']+)';$/m, "const {$1} = require('$2');");
  const [head, ...rest] = cjs.split('\n');
  return `${head}\n(async () => {\n${rest.join('\n')}\n})().catch((e) => { console.error(e); process.exit(1); });\n`;
}

const env = (extra: Record<string, string>): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, ...extra };
  // A consumer's install runs with none of this repository's settings or the test runner's.
  for (const k of Object.keys(e)) if (/^(npm_|ONNXRUNTIME_NODE_INSTALL|JEST_|NODE_OPTIONS$)/i.test(k)) delete e[k];
  return e;
};

let scratch: string;
let proxy: Recorder;
let installLog: string;
let snippet: string;

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-consumer-'));
  proxy = await recordingProxy();
  const packed = await run('npm', ['pack', '--pack-destination', scratch, '--json'], { cwd: ROOT, env: env({}), maxBuffer: 1 << 26 });
  const tarball = path.join(scratch, (JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string }[])[0].filename);
  const project = path.join(scratch, 'project');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  const proxied = { GLOBAL_AGENT_HTTP_PROXY: proxy.url, GLOBAL_AGENT_HTTPS_PROXY: proxy.url };
  const install = await run('npm', ['install', tarball, TYPES_NODE, '--foreground-scripts', '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: project,
    env: env(proxied),
    maxBuffer: 1 << 26,
  });
  installLog = `${install.stdout}\n${install.stderr}`;
  snippet = readmeSnippet();
}, 300_000);

afterAll(async () => {
  await proxy?.close();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

const project = () => path.join(scratch, 'project');

describe('npm install <tarball> in a fresh project', () => {
  onLinuxX64("succeeds with nothing downloaded: onnxruntime-node's installer finds its files and sends no request", async () => {
    expect(installLog).toMatch(/score-sde preinstall: wrote placeholders for libonnxruntime_providers_cuda\.so/);
    expect(installLog).toMatch(/onnxruntime-node@1\.29\.0 postinstall/); // it ran ...
    expect(installLog).not.toMatch(/Downloading|nuget/i); // ... and fetched nothing
    expect(proxy.seen).toEqual([]);
  });

  onLinuxX64('negative control: without the placeholders the same installer downloads, through the recording proxy', async () => {
    const ortDir = path.join(project(), 'node_modules/onnxruntime-node');
    const binDir = path.join(ortDir, 'bin/napi-v6/linux/x64');
    const aside = fs.mkdtempSync(path.join(scratch, 'aside-'));
    const placeholders = fs.readdirSync(binDir).filter((f) => f.startsWith('libonnxruntime_providers_'));
    expect(placeholders).toHaveLength(3);
    for (const f of placeholders) fs.renameSync(path.join(binDir, f), path.join(aside, f));
    try {
      const attempt = run('node', [path.join(ortDir, 'script/install.js')], { cwd: project(), env: env({ GLOBAL_AGENT_HTTPS_PROXY: proxy.url, GLOBAL_AGENT_HTTP_PROXY: proxy.url }) });
      await expect(attempt).rejects.toThrow(); // the proxy refuses, so the download fails
      expect(proxy.seen).toContain('CONNECT api.nuget.org:443');
    } finally {
      for (const f of placeholders) fs.renameSync(path.join(aside, f), path.join(binDir, f));
      proxy.seen.length = 0;
    }
  });

  test.each([
    ['ESM', 'snippet.mjs', (s: string) => s],
    ['CommonJS', 'snippet.cjs', toCommonJs],
  ])("the README snippet runs as written (%s) from the consumer's folder", async (_kind, file, transform) => {
    fs.rmSync(path.join(project(), 'images.npy'), { force: true });
    fs.writeFileSync(path.join(project(), file), transform(snippet));
    const r = await run('node', [file], { cwd: project(), env: env({}) });
    expect(r.stdout).toMatch(/^\[ 1000, 2 \] 100$/m);
    expect(r.stderr).not.toMatch(/onnxruntime|execution provider/i); // log: () => {} silenced the provider line
    const images = readNpy(path.join(project(), 'images.npy'));
    expect(images.shape).toEqual([8, 1, 28, 28]);
  }, 120_000);

  test('the consumer type-checks with tsc --noEmit, no skipLibCheck, and r.samples is typed', async () => {
    fs.writeFileSync(path.join(project(), 'snippet.mts'), snippet);
    fs.writeFileSync(
      path.join(project(), 'typed.mts'),
      [
        "import { sample, VPSDE, GaussianMixtureScore } from 'score-sde';",
        "const sde = new VPSDE();",
        "const r = await sample({ sde, model: new GaussianMixtureScore(sde, { means: [[0]], stds: [1] }), solver: 'ode_euler', settings: { steps: 2 }, n: 2 });",
        'type IsAny<T> = 0 extends 1 & T ? true : false;',
        'const samplesAreTyped: IsAny<typeof r.samples> = false;',
        'const first: number = r.samples.get(0, 0);',
        'export { samplesAreTyped, first };',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(project(), 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022'], types: ['node'], strict: true, noEmit: true, skipLibCheck: false }, files: ['snippet.mts', 'typed.mts'] }),
    );
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    const typeCheck = () => run('node', [tsc, '-p', project()], { cwd: project(), env: env({}) }).catch((e: { stdout: string }) => ({ stdout: e.stdout }));
    expect((await typeCheck()).stdout).toBe('');
    // Negative control: without @types/ndarray (a devDependency before), the same check fails.
    const types = path.join(project(), 'node_modules/@types/ndarray');
    fs.renameSync(types, `${types}.aside`);
    try {
      expect((await typeCheck()).stdout).toMatch(/TS7016: Could not find a declaration file for module 'ndarray'/);
    } finally {
      fs.renameSync(`${types}.aside`, types);
    }
  }, 180_000);

  test('the installed CLI: a shipped config with its reference data is valid; shipped names listed; CUDA placeholders reported', async () => {
    const bin = path.join(project(), 'node_modules/.bin/score-sde');
    const config = path.join(project(), 'node_modules/score-sde/configs/examples/fashion-mnist-vp.yaml');
    const validate = await run(bin, ['validate', config], { cwd: project(), env: env({}) });
    expect(validate.stdout).toMatch(/: valid experiment config/);
    expect(validate.stdout).toMatch(/fashion-mnist-test-1000\.npy/);
    const list = await run(bin, ['inspect', '--list'], { cwd: project(), env: env({}) });
    expect(list.stdout).toMatch(/^fashion-mnist\/unet-vp +VP, eps\(x, t\), \[1, 28, 28\], fashion-mnist: Small U-Net/m);
    const inspect = await run(bin, ['inspect', 'toy2d/mixture-vp'], { cwd: project(), env: env({}) });
    expect(inspect.stdout).toMatch(/card \(.*\):\n {2}name: toy2d-mixture-vp/);
    expect(inspect.stdout).toMatch(/libonnxruntime_providers_cuda\.so placeholder/);
    expect(inspect.stderr).not.toMatch(/onnxruntime|invalid ELF/i);
  }, 120_000);
});
