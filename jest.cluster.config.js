/**
 * `npm run test:cluster`: the integration tests that depend most on how Temporal stores things
 * (delivery, delivery logs read from SQL visibility, redelivery, Schedules), run against a
 * Temporal server on Postgres started for the run, then the scale-out kill test (test/cluster/).
 */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  globalSetup: '<rootDir>/test/cluster/global-setup.ts',
  testPathIgnorePatterns: ['/node_modules/'],
  testMatch: [
    '<rootDir>/test/integration/delivery.test.ts',
    '<rootDir>/test/integration/ingest.test.ts',
    '<rootDir>/test/integration/keys-auto.test.ts',
    '<rootDir>/test/integration/housekeeping.test.ts',
    '<rootDir>/test/cluster/**/*.test.ts',
  ],
  testTimeout: 180_000,
};
