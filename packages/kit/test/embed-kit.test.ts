// The build step that puts the kit's code into a package's dist: run on a
// made-up dist against the kit's own built dist (turbo builds it before tests).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const script = path.join(__dirname, '..', 'scripts', 'embed-kit.mjs');
const kitDist = path.join(__dirname, '..', 'dist', 'src');
let pkg: string;

beforeAll(() => {
  if (!fs.existsSync(kitDist)) throw new Error(`${kitDist} is missing: build the kit first (npx -y pnpm@10 --filter @shmkit/kit build)`);
});

beforeEach(() => {
  pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'embed-kit-'));
  fs.mkdirSync(path.join(pkg, 'dist', 'src', 'cli'), { recursive: true });
  fs.mkdirSync(path.join(pkg, 'dist', 'bin'), { recursive: true });
});
afterEach(() => fs.rmSync(pkg, { recursive: true, force: true }));

function embed() {
  return spawnSync(process.execPath, [script], { cwd: pkg, encoding: 'utf8' });
}

it('copies the imported parts, rewrites specifiers to relative paths, and the result runs', () => {
  fs.writeFileSync(path.join(pkg, 'dist', 'src', 'cli', 'main.js'), `"use strict";\nconst cli_1 = require("@shmkit/kit/cli");\nexports.size = (t) => (0, cli_1.sizeOption)('--size', t);\n`);
  fs.writeFileSync(path.join(pkg, 'dist', 'src', 'cli', 'main.d.ts'), `import type { Io } from '@shmkit/kit/cli';\nexport declare const io: Io;\n`);
  fs.writeFileSync(path.join(pkg, 'dist', 'bin', 'x.js'), `require("../src/cli/main.js");\n`);
  const r = embed();
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  expect(fs.readdirSync(path.join(pkg, 'dist', 'kit'))).toEqual(['cli']);
  expect(fs.readdirSync(path.join(pkg, 'dist', 'kit', 'cli')).some((f) => f.endsWith('.map'))).toBe(false);
  expect(fs.readFileSync(path.join(pkg, 'dist', 'src', 'cli', 'main.js'), 'utf8')).toContain('require("../../kit/cli/index.js")');
  expect(fs.readFileSync(path.join(pkg, 'dist', 'src', 'cli', 'main.d.ts'), 'utf8')).toContain(`from '../../kit/cli/index.js'`);
  const main = require(path.join(pkg, 'dist', 'src', 'cli', 'main.js')) as { size: (t: string) => number };
  expect(main.size('8M')).toBe(8 * 1024 * 1024);
});

it('fails on a part the kit does not have and on a specifier it cannot rewrite', () => {
  const file = path.join(pkg, 'dist', 'src', 'cli', 'main.js');
  fs.writeFileSync(file, `require("@shmkit/kit/nothing");\n`);
  expect(embed()).toMatchObject({ status: 1, stderr: expect.stringMatching(/@shmkit\/kit\/nothing is imported but the kit has no such part/) });
  fs.writeFileSync(file, `require("@shmkit/kit");\n`);
  expect(embed()).toMatchObject({ status: 1, stderr: expect.stringMatching(/still names @shmkit\/kit after rewriting/) });
});
