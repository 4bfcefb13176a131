// Shared jest settings. Tests import packages by their public specifiers
// (`@shmkit/shm-fd/sys`); the mapper below resolves them to `src/` using each
// package's `exports` map, so tests never depend on a stale `dist/`.
const fs = require('node:fs');
const path = require('node:path');

const root = __dirname;

function packageDirs() {
  const dirs = [];
  for (const group of ['packages', 'examples']) {
    const base = path.join(root, group);
    if (!fs.existsSync(base)) continue;
    for (const name of fs.readdirSync(base)) {
      const dir = path.join(base, name);
      if (fs.existsSync(path.join(dir, 'package.json'))) dirs.push(dir);
    }
  }
  return dirs;
}

function sourceAliases() {
  const map = {};
  for (const dir of packageDirs()) {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    for (const [sub, target] of Object.entries(pkg.exports ?? {})) {
      const types = typeof target === 'object' && target !== null ? target.types : undefined;
      if (typeof types !== 'string' || !types.startsWith('./dist/')) continue;
      const src = path.join(dir, types.slice('./dist/'.length).replace(/\.d\.ts$/, '.ts'));
      const spec = sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`;
      map[`^${spec.replace(/[/.]/g, '\\$&')}$`] = src;
    }
  }
  return map;
}

/** @param {string} dir the package directory @param {{ useSource?: boolean }} [opts] */
module.exports = function preset(dir, opts = {}) {
  return {
    rootDir: dir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
    moduleNameMapper: opts.useSource === false ? {} : sourceAliases(),
    setupFilesAfterEnv: [path.join(root, 'scripts', 'jest-setup.cjs')],
    testTimeout: 30000,
    maxWorkers: 1,
  };
};
