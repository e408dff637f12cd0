// Lets plain `node` load this repository's TypeScript: .ts files are transpiled with TypeScript (a
// dev dependency), the output cached on disk by content hash so that repeated processes start
// quickly. Loaded by ts-bootstrap.js, and with `node -r` (child-cli.ts) so that worker threads
// inherit it (a thread runs the parent's --require modules first) and start as quickly.
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

if (!require.extensions['.ts']) {
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
      const tmp = `${cached}.${process.pid}.${Math.random().toString(36).slice(2, 8)}`;
      fs.writeFileSync(tmp, js);
      fs.renameSync(tmp, cached);
    }
    module._compile(js, filename);
  };
}
