import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = [
  'assert', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises',
  'http', 'http2', 'https', 'net', 'os', 'path', 'perf_hooks', 'process', 'readline', 'stream', 'tls',
  'url', 'util', 'worker_threads', 'zlib',
];

export default tseslint.config(
  { ignores: ['eslint.config.mjs', '.dependency-cruiser.cjs', 'scripts/ensure-deps.js', 'scripts/lint.js', 'scripts/ensure-build.js', 'node_modules/', 'dist/', '.tools/', '.data/', 'coverage/', 'jest.config.js', 'jest.cluster.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The portal's browser code: plain ES modules served as they are, outside the TypeScript project.
    files: ['portal/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      parserOptions: { projectService: false },
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'navigator', 'fetch', 'EventSource', 'EventTarget', 'CustomEvent', 'URLSearchParams', 'ResizeObserver',
          'addEventListener', 'removeEventListener', 'confirm', 'setTimeout', 'clearTimeout', 'console'].map((name) => [name, 'readonly']),
      ),
    },
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
  {
    // Workflow code must stay deterministic: no I/O libraries, no Node built-ins.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...NODE_BUILTINS, ...NODE_BUILTINS.map((m) => `node:${m}`), 'knex', 'pg', 'undici', 'pino', 'pino-http', 'express', 'knex-pglite'].map(
            (name) => ({ name, message: 'workflows must be deterministic: do I/O in activities' }),
          ),
          patterns: [
            { group: ['node:*'], message: 'workflows must not use Node built-ins' },
            { group: ['**/src/db/**', '**/src/api/**', '**/src/config', '**/src/logger'], message: 'workflows must not import side-effecting modules' },
          ],
        },
      ],
      // The sandbox evaluates workflow modules once and shares them between runs (WORKFLOW_PRELOAD_MODULES).
      'no-restricted-syntax': [
        'error',
        {
          selector: ':matches(Program, ExportNamedDeclaration) > VariableDeclaration[kind!="const"]',
          message: 'workflow modules are shared by every workflow run in the sandbox: no mutable state at module scope',
        },
        {
          selector: ':matches(Program, ExportNamedDeclaration) > VariableDeclaration > VariableDeclarator > NewExpression[callee.name=/^(Map|Set|WeakMap|WeakSet)$/]',
          message: 'workflow modules are shared by every workflow run in the sandbox: no collections filled at run time at module scope',
        },
      ],
    },
  },
);
