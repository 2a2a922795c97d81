import path from 'node:path';

/**
 * The extension of this project's modules as they run: `.ts` from source (tsx, jest), `.js` when
 * compiled by `npm run build` into `dist/`. Paths to modules that are loaded by name use it.
 */
export const MODULE_EXT = path.extname(__filename);

/** The workflows' entry module, which the worker bundles. */
export const WORKFLOWS_PATH = path.resolve(__dirname, `../../workflows/index${MODULE_EXT}`);
