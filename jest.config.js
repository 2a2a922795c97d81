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
  // Once every file has run, exit even if something is still open: a worker whose shutdown hung
  // (its stop then fails its file, naming what was in flight) kept a CI run waiting until it was
  // killed, with no summary printed.
  forceExit: true,
};
