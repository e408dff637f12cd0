// Runs a TypeScript entry of this repository in a plain `node` child process (for tests that kill
// real processes), with .ts files transpiled and cached by ts-register.js.
//   node tests/support/ts-bootstrap.js <entry.ts> [args...]
// The entry for the CLI is cli/main.ts, which runs main() when it is the main module.
require('./ts-register');

const path = require('path');
const entry = path.resolve(process.argv[2]);
process.argv.splice(1, 2, entry);
require.main = undefined;
const m = require('module');
m.runMain ? (process.argv[1] = entry, m.runMain()) : require(entry);
