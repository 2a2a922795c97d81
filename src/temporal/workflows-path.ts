import path from 'node:path';

/** The workflows' entry module, which the worker bundles. */
export const WORKFLOWS_PATH = path.resolve(__dirname, '../../workflows/index.ts');
