import { setupTestRun } from '../global-setup';

/** `npm run test:cluster`: the run's Temporal is a server on Postgres (see test/global-setup.ts). */
export default function clusterGlobalSetup(): Promise<void> {
  return setupTestRun('cluster');
}
