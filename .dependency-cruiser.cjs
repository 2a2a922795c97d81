/**
 * The project's layering, checked by `npm run lint` (dependency-cruiser). Imports point down:
 *
 *   api → services → temporal → workflows / activities → db, http, security, integrations → domain
 *
 * Type-only imports count too: a cycle through `import type` is still a design cycle.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules import each other in a circle; move the shared part down.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-imports-nothing',
      severity: 'error',
      comment: 'src/domain is the shared vocabulary at the bottom: it imports nothing of the project.',
      from: { path: '^src/domain/' },
      to: { path: '^(src|activities|workflows|scripts|test)/', pathNot: '^src/domain/' },
    },
    {
      name: 'db-stays-below',
      severity: 'error',
      comment: 'Repositories return plain records; they never reach up into the API, use cases or Temporal code.',
      from: { path: '^src/db/' },
      to: { path: '^(src/api|src/services|src/temporal|src/dev|activities|workflows)/' },
    },
    {
      name: 'http-and-security-stay-below',
      severity: 'error',
      comment: 'Outbound HTTP and security primitives know nothing of activities, workflows or the API.',
      from: { path: '^src/(http|security)/' },
      to: { path: '^(src/api|src/services|activities|workflows)/' },
    },
    {
      name: 'workflows-are-deterministic',
      severity: 'error',
      comment:
        'Workflow code runs in the deterministic sandbox: only workflow-safe modules (the workflow SDK, ' +
        'src/domain, the Temporal identity modules) and activity *types*.',
      from: { path: '^workflows/' },
      to: {
        pathNot: [
          '^workflows/',
          '^src/domain/',
          '^src/temporal/(search-attributes|delivery-workflows|key-rotations|idempotent-start|tenant-deletions|fifo-sequencers|recoveries)\\.ts$',
          '^activities/',
          'node_modules/@temporalio/(workflow|common)/',
        ],
      },
    },
    {
      name: 'workflows-import-activity-types-only',
      severity: 'error',
      comment: 'Workflows call activities through proxies; they import only their types.',
      from: { path: '^workflows/' },
      to: { path: '^activities/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'activities-never-import-workflows',
      severity: 'error',
      comment: 'Workflows import activity types, so activities importing workflows closes a loop.',
      from: { path: '^activities/' },
      to: { path: '^workflows/', pathNot: '^workflows/retry-policy\\.ts$' },
    },
    {
      name: 'production-code-never-imports-dev-tooling',
      severity: 'error',
      comment: 'The dev server launcher and the cluster tooling serve npm start, tests and scripts only.',
      from: { path: '^(src|activities|workflows)/', pathNot: '^src/(dev/|main\\.ts$)' },
      to: { path: '^src/dev/' },
    },
    {
      name: 'not-to-test',
      severity: 'error',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist|coverage|\\.tools|\\.data)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
