// Runs a TypeScript entry of this repository in a plain `node` child process (for tests that kill
// real processes): .ts files are transpiled with TypeScript (a dev dependency), the output cached
// on disk by content hash so that repeated children start quickly.
//   node tests/support/ts-bootstrap.js <entry.ts> [args...]
// The entry for the CLI is cli/main.ts, which runs main() when it is the main module.
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const cacheDir = path.join(os.tmpdir(), `score-sde-ts-cache-${process.getuid ? process.getuid() : 'u'}`);
fs.mkdirSync(cacheDir, { recursive: true });
let ts;
require.extensions['.ts'] = function (module, filename) {
  const src = fs.readFileSync(filename, 'utf8');
  const key = crypto.createHash('sha1').update(filename).update('\0').update(src).digest('hex');
  const cached = path.join(cacheDir, `${key}.js`);
  let js;
  try {
    js = fs.readFileSync(cached, 'utf8');
  } catch {
    ts = ts || require('typescript');
    js = ts.transpileModule(src, {
      fileName: filename,
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true, resolveJsonModule: true },
    }).outputText;
    const tmp = `${cached}.${process.pid}`;
    fs.writeFileSync(tmp, js);
    fs.renameSync(tmp, cached);
  }
  module._compile(js, filename);
};

const entry = path.resolve(process.argv[2]);
process.argv.splice(1, 2, entry);
require.main = undefined;
const m = require('module');
m.runMain ? (process.argv[1] = entry, m.runMain()) : require(entry);
