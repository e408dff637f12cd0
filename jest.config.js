/**
 * Tests run TypeScript through ts-jest in transpile-only mode (types are checked once, by the
 * `tsc --noEmit` that `npm test` runs first). ts-jest is pure JavaScript: packages with
 * per-platform native binaries (swc, jest 30's resolver) break `npm ci` where the registry
 * serves only some platforms.
 */
module.exports = {
  testEnvironment: '<rootDir>/tests/support/node-environment.js',
  // Test code runs in a vm context where every lookup of a global (Math.sqrt, Infinity,
  // Number.isFinite) goes through the context's interceptors: measured 40–60× slower in a hot
  // loop. Injecting them as module-wrapper locals makes them as fast as outside jest, so
  // production code needs no module-level `const { sqrt } = Math` aliases.
  sandboxInjectedGlobals: ['Math', 'Number', 'Infinity'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, tsconfig: { target: 'ES2022', module: 'commonjs', esModuleInterop: true, resolveJsonModule: true } }] },
  testMatch: ['<rootDir>/tests/**/*.test.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 120000,
};
