// shm-restore --snapshot restore-v1 supervising a child that damages the
// shared file it was given: a head word, an entry length, or the file's
// size. The wrapper must survive, log a coded error, keep the last good
// BACKUP byte for byte, and exit with the child's status.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { killAll, start } from './helpers/proc';
import { decode, shmRestore } from './shm-restore-helpers';

const child = path.join(__dirname, 'fixtures', 'hostile-snapshot', 'child.js');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-snapshot-'));
});
afterEach(async () => {
  await killAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

test.each([
  ['write-offset-flip', 'ERR_SNAPSHOT_OFFSET_RANGE'],
  ['write-offset-2^53', 'ERR_SNAPSHOT_OFFSET_RANGE'],
  ['entry-length', 'ERR_SNAPSHOT_BAD_ENTRY'],
  ['entry-mask', 'ERR_SNAPSHOT_TRUNCATED'],
  ['huge-size', 'ERR_SNAPSHOT_FILE_TOO_LARGE'],
])('a child that damages the shared file (%s): shm-restore survives, logs %s, BACKUP keeps the last good state', async (damage, code) => {
  const backup = path.join(dir, 'state');
  const p = start([shmRestore, '--snapshot', 'restore-v1', '--interval', '5', backup, '--', process.execPath, child, damage], {
    env: { ...process.env, NODE_DEBUG: 'shm-restore' },
  });
  const committed = await p.waitFor(/committed \d+ pid \d+/);
  const [, end, pid] = /committed (\d+) pid (\d+)/.exec(committed) as RegExpExecArray;
  await p.waitFor(new RegExp(`snapshot written .*stream end ${end}`));
  const good = fs.readFileSync(backup);
  expect(decode(good)?.valid.at(-1)?.payload.toString()).toBe('state 19');

  process.kill(Number(pid), 'SIGUSR2');
  await p.waitFor('damaged');
  await p.waitFor(new RegExp(`no snapshot, BACKUP kept: .*\\(${code}\\)`));
  process.kill(Number(pid), 'SIGTERM');
  const exit = await p.exited;

  expect(exit.status).toBe(0); // the child's
  expect(p.stderr()).toMatch(new RegExp(`BACKUP kept as it was: .*\\(${code}\\)`));
  expect(p.stderr()).not.toMatch(/\n\s+at /); // no stack trace
  expect(fs.readFileSync(backup).equals(good)).toBe(true);
  expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
});
