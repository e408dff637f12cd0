// Preload for child processes that run the TypeScript sources directly (node -r this file x.ts):
// transpiles each .ts on require with TypeScript (a dev dependency), as cli/sweep.ts does for its
// worker threads when run from sources.
const fs = require('fs');
const ts = require('typescript');
require.extensions['.ts'] = function (module, filename) {
  const src = fs.readFileSync(filename, 'utf8');
  const out = ts.transpileModule(src, { fileName: filename, compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true, resolveJsonModule: true } });
  module._compile(out.outputText, filename);
};
