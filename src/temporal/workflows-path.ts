import path from 'node:path';

/**
 * The extension of this project's modules as they run: `.ts` from source (tsx, jest), `.js` when
 * compiled by `npm run build` into `dist/`. Paths to modules that are loaded by name use it.
 */
export const MODULE_EXT = path.extname(__filename);

/** The workflows' entry module, which the worker bundles. */
export const WORKFLOWS_PATH = path.resolve(__dirname, `../../workflows/index${MODULE_EXT}`);

/**
 * Modules the workflow sandbox evaluates once, when it starts, and shares between all the
 * workflow runs it hosts (the SDK's `preloadModules`): the workflows and everything they import.
 * Otherwise each run evaluates its own copy of every module its workflow imports (about twenty:
 * ours, `@temporalio/workflow`'s index and `@temporalio/common`'s), which took more of a
 * delivery's sandbox time than the workflow's own code. Sharing is safe because these modules
 * keep no state of their own at module scope (ESLint refuses it in `workflows/`; the SDK freezes
 * what they export), and their top level only defines things (`proxyLocalActivities`,
 * `defineQuery`): it runs before any workflow does.
 */
export const WORKFLOW_PRELOAD_MODULES = [WORKFLOWS_PATH];
