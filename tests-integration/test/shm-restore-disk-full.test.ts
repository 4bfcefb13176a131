// A full disk during the final write-back: shm-restore says so, exits 1,
// and BACKUP still holds the previous version with no temp file left.
// Needs a small tmpfs, so it runs where mount(8) is permitted (root).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { killAll, run } from './helpers/proc';
import { childFixture, shmRestore, tempFiles } from './shm-restore-helpers';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shm-restore-full-'));
const small = path.join(dir, 'small');
fs.mkdirSync(small);
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0700', 'tmpfs', small]).status === 0;

afterEach(killAll);
afterAll(() => {
  if (mounted) spawnSync('umount', [small]);
  fs.rmSync(dir, { recursive: true, force: true });
});

(mounted ? test : test.skip)('ENOSPC on write-back: a clear message, status 1, BACKUP unchanged, no temp file', async () => {
  const backup = path.join(small, 'state');
  const first = await run([shmRestore, backup, '--', process.execPath, childFixture, 'write', '4096', 'hello']);
  expect(first.status).toBe(0);
  const second = await run([shmRestore, backup, '--', process.execPath, childFixture, 'fill', String(2 * 1024 * 1024)]);
  expect(second.stdout).toContain('filled');
  expect(second.status).toBe(1);
  expect(second.stderr).toMatch(/could not write .*state; it still holds the previous version \(this run.s final state is lost\): ENOSPC/);
  expect(second.stderr).not.toMatch(/\n\s+at /);
  const bytes = fs.readFileSync(backup);
  expect(bytes.length).toBe(4096);
  expect(bytes.subarray(0, 5).toString()).toBe('hello');
  expect(tempFiles(small)).toEqual([]);
});
