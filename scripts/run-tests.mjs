#!/usr/bin/env node
// Runs every package's tests through turbo (build first), then sums the jest
// JSON reports into one closing line: `N passed, N failed`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const groups = ['packages', 'examples', 'tests-integration', 'tests-packed'];

function testDirs() {
  const dirs = [];
  for (const g of groups) {
    const base = path.join(root, g);
    if (!fs.existsSync(base)) continue;
    const candidates = fs.existsSync(path.join(base, 'package.json'))
      ? [base]
      : fs.readdirSync(base).map((n) => path.join(base, n));
    for (const dir of candidates) {
      const pkgFile = path.join(dir, 'package.json');
      if (!fs.existsSync(pkgFile)) continue;
      const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
      if (pkg.scripts?.test) dirs.push({ dir, name: pkg.name });
    }
  }
  return dirs;
}

const dirs = testDirs();
for (const { dir } of dirs) fs.rmSync(path.join(dir, '.jest-results.json'), { force: true });

const extra = process.argv.slice(2);
// Build everything first: integration tests run the built bins of packages
// they do not import.
const build = spawnSync('npx', ['--no-install', 'turbo', 'run', 'build', '--output-logs=errors-only'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.log('build failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const turbo = spawnSync(
  'npx',
  ['--no-install', 'turbo', 'run', 'test', '--concurrency=1', '--continue', '--output-logs=full', ...extra],
  { cwd: root, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? '0' } },
);

let passed = 0;
let failed = 0;
let skipped = 0;
const rows = [];
for (const { dir, name } of dirs) {
  const file = path.join(dir, '.jest-results.json');
  if (!fs.existsSync(file)) {
    rows.push(`${name}: no results (did the build or the test runner fail?)`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  // A suite that fails to load reports no tests; count it as one failure.
  const brokenSuites = r.numRuntimeErrorTestSuites ?? 0;
  passed += r.numPassedTests;
  failed += r.numFailedTests + brokenSuites;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  rows.push(`${name}: ${r.numPassedTests} passed, ${r.numFailedTests + brokenSuites} failed, ${r.numPendingTests} skipped`);
}
console.log('\nTest summary by package:');
for (const row of rows) console.log(`  ${row}`);
if (turbo.status !== 0 && failed === 0) {
  console.log('turbo reported a failure outside the test counts');
  failed += 1;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
