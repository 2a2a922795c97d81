#!/usr/bin/env node
// Runs before `npm start` and `npm test` (plain Node, no dependencies): installs the locked
// dependencies when node_modules is missing or older than package-lock.json, so both commands
// work on a fresh clone.
const { existsSync, statSync } = require('node:fs');
const { execSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const lock = path.join(root, 'package-lock.json');
const installed = path.join(root, 'node_modules', '.package-lock.json');

if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  console.error('Installing dependencies (npm ci)…');
  try {
    execSync('npm ci --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
  } catch {
    // A lock made where the registry lacks other platforms' optional binaries fails npm ci's
    // completeness check; npm install still installs the locked versions for this platform.
    console.error('npm ci failed; installing the same locked versions with npm install');
    execSync('npm install --no-save --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
  }
}
