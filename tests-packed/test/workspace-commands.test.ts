// The commands as a contributor gets them from a clone: `pnpm install` links
// all eight without warnings (each package's bin is a committed shim that
// loads dist/, so the link target exists before any build), an unbuilt
// command says to build instead of failing with a stack trace, and after the
// build each one runs through `pnpm exec`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { cleanEnv, expectSuccess, run, warnings } from './helpers/run';
import { publicPackages, repoRoot } from './helpers/workspace';

const commands = publicPackages().flatMap((p) => Object.keys(p.json.bin ?? {}));
const pnpm = (args: string[], cwd: string) => run('npx', ['-y', 'pnpm@10', ...args], { cwd, env: cleanEnv() });

test('all eight commands are bins of public packages', () => {
  expect(commands.sort()).toEqual(['ipcbuffer', 'rmmapd', 'shm-fd', 'shm-push', 'shm-restore', 'shm-state', 'tinyd', 'tinyfile']);
});

describe('a fresh copy of the sources, not built', () => {
  let copy: string;
  beforeAll(() => {
    copy = fs.mkdtempSync(path.join(os.tmpdir(), 'shmkit-clone-'));
    const files = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot });
    expectSuccess(files);
    for (const f of files.stdout.split('\0').filter(Boolean)) {
      const from = path.join(repoRoot, f);
      if (!fs.existsSync(from)) continue; // deleted in the work tree, not yet committed
      fs.mkdirSync(path.dirname(path.join(copy, f)), { recursive: true });
      fs.copyFileSync(from, path.join(copy, f));
      fs.chmodSync(path.join(copy, f), fs.statSync(from).mode);
    }
  }, 120000);
  afterAll(() => {
    if (copy !== undefined) fs.rmSync(copy, { recursive: true, force: true });
  });

  test('pnpm install links every command and warns about nothing', () => {
    // Offline: the store already holds everything the lockfile names (the
    // workspace was installed from it); scripts off, the copy is no git repo.
    const r = pnpm(['install', '--frozen-lockfile', '--offline', '--ignore-scripts'], copy);
    expectSuccess(r);
    expect(warnings(r.stdout + r.stderr)).toEqual([]);
    for (const cmd of commands) expect(fs.existsSync(path.join(copy, 'node_modules', '.bin', cmd))).toBe(true);
  });

  test.each(commands)('%s, as linked, says it needs a build', (cmd) => {
    const r = run(path.join(copy, 'node_modules', '.bin', cmd), ['--help'], { cwd: copy, env: cleanEnv() });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${cmd}: `);
    expect(r.stderr).toContain('npx -y pnpm@10 build');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('this workspace, built', () => {
  test.each(commands)('pnpm exec %s --help runs it', (cmd) => {
    const r = pnpm(['exec', cmd, '--help'], repoRoot);
    expectSuccess(r);
    expect(r.stdout).toMatch(new RegExp(`\\b${cmd}\\b`));
  });

  test("the README's shm-fd watch line runs the primes example", () => {
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const line = /^cd examples\/primes && npx -y pnpm@10 exec shm-fd watch -n 0\.1 -- node primes\.js$/m.exec(readme);
    expect(line).not.toBeNull();
    // The README's loop runs until Ctrl-C; here three runs of it.
    const r = pnpm(['exec', 'shm-fd', 'watch', '-n', '0.1', '--count', '3', '--', 'node', 'primes.js'], path.join(repoRoot, 'examples', 'primes'));
    expectSuccess(r);
    const totals = [...r.stdout.matchAll(/total (\d+)/g)].map((m) => Number(m[1]));
    expect(totals).toHaveLength(3);
    expect(totals[2]).toBeGreaterThan(totals[0] as number);
  });
});
