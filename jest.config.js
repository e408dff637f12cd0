/** Tests run TypeScript through swc (fast); `npm test` runs `tsc --noEmit` first for the types. */
module.exports = {
  testEnvironment: '<rootDir>/tests/support/node-environment.js',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] },
  testMatch: ['<rootDir>/tests/**/*.test.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 120000,
};
