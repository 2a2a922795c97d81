/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // test/cluster/ runs against a Temporal server on Postgres: `npm run test:cluster`.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/cluster/'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 90_000,
  // Once every file has run, exit even if something is still open: in one CI try a test file's
  // stop hung and what it left open kept Jest waiting until the run was killed, with no summary
  // printed. A stop that hangs now fails its own file, naming the part that did not close.
  forceExit: true,
};
