/**
 * Child process of {@link bundleWorkflowsApart}: bundles the workflows into the file named by its
 * first argument (with the tracing interceptors when `--tracing` follows), then exits. Webpack's
 * own output is dropped; its errors go to stderr.
 */
import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { TRACING_WORKFLOW_MODULE } from './tracing';
import { WORKFLOW_PRELOAD_MODULES, WORKFLOWS_PATH } from './workflows-path';

const quiet = () => undefined;

async function main(out: string, tracing: boolean): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    preloadModules: WORKFLOW_PRELOAD_MODULES,
    ...(tracing ? { workflowInterceptorModules: [TRACING_WORKFLOW_MODULE] } : {}),
    logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: (message) => console.error(message) },
  });
  await writeFile(out, code);
}

main(process.argv[2]!, process.argv[3] === '--tracing').then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
