#!/usr/bin/env node
// Runs before `npm run start:api` and `npm run start:worker` (plain Node, no dependencies): those
// run the compiled code in dist/, as the Docker image does, so this compiles it (npm run build)
// when any TypeScript source under src, workflows, activities or scripts has no compiled file or
// is newer than it. A fresh clone, or an edit since the last build, so never runs stale code.
const { existsSync, readdirSync, statSync } = require('node:fs');
const { execSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const SOURCES = ['src', 'workflows', 'activities', 'scripts'];

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(full);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield full;
  }
}

function stale() {
  for (const folder of SOURCES) {
    for (const file of sources(path.join(root, folder))) {
      const compiled = path.join(root, 'dist', path.relative(root, file)).replace(/\.ts$/, '.js');
      if (!existsSync(compiled) || statSync(compiled).mtimeMs < statSync(file).mtimeMs) return path.relative(root, file);
    }
  }
  return null;
}

const changed = stale();
if (changed !== null) {
  console.error(`Compiling (npm run build): ${changed} is newer than its compiled file`);
  execSync('npm run --silent build', { cwd: root, stdio: 'inherit' });
}
