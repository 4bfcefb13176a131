// The crash loop: shm-restore --snapshot restore-v1 over primes-snapshot.js,
// SIGKILLed as a whole process group at random moments and restarted. The
// backup must decode (with a reader independent of the writer) to a
// consistent table every time, and never shrink.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { killAll, killGroup, start } from './helpers/proc';
import { checkPrimes, primeTable, primesSnapshot, shmRestore, tempFiles } from './shm-restore-helpers';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shm-restore-crash-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(killAll);

test('20 SIGKILLs at random moments: the backup is always a consistent, never shrinking table', async () => {
  const backup = path.join(dir, 'primes.backup');
  let previous = 0;
  let grew = 0;
  for (let round = 0; round < 20; round++) {
    const leftovers = tempFiles(dir);
    const p = start([shmRestore, '--snapshot', 'restore-v1', '--interval', '20', backup, '--', process.execPath, primesSnapshot, '10']);
    const resumed = await p.waitFor(/resumed with (\d+) primes/);
    // The child resumes from what the wrapper restored: never less than the backup held.
    expect(Number(/(\d+)/.exec(resumed)?.[1])).toBeGreaterThanOrEqual(previous);
    // Temp files of the killed run are gone once the new run has started.
    for (const name of leftovers) expect(fs.existsSync(path.join(dir, name))).toBe(false);
    // Kill after a random number of commits, plus a random delay: sometimes
    // mid-copy, mid-rename or mid-commit.
    const commits = 1 + Math.floor(Math.random() * 12);
    await p.waitFor(new RegExp(`(committed \\d+ primes[^\\n]*\\n[^]*){${commits}}`), 30000);
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 40)));
    killGroup(p.child, 'SIGKILL');
    const exit = await p.exited;
    expect(exit.signal).toBe('SIGKILL');

    const table = primeTable(backup);
    checkPrimes(table);
    expect(table.length).toBeGreaterThanOrEqual(previous);
    if (table.length > previous) grew += 1;
    previous = table.length;
  }
  // Snapshots were taken while the child ran, not only at clean exits.
  expect(grew).toBeGreaterThan(5);
  expect(previous).toBeGreaterThan(0);
});
