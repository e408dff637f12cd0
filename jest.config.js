/**
 * Tests run TypeScript through ts-jest in transpile-only mode (types are checked once, by the
 * `tsc --noEmit` that `npm test` runs first). ts-jest is pure JavaScript: packages with
 * per-platform native binaries (swc, jest 30's resolver) break `npm ci` where the registry
 * serves only some platforms.
 */
module.exports = {
  testEnvironment: '<rootDir>/tests/support/node-environment.js',
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, tsconfig: { target: 'ES2022', module: 'commonjs', esModuleInterop: true, resolveJsonModule: true } }] },
  testMatch: ['<rootDir>/tests/**/*.test.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 120000,
};
