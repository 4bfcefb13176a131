import fs from 'node:fs';
import path from 'node:path';

import { bin, killAll, repoRoot, run } from './helpers/proc';

const shmFd = bin('shm-fd', 'shm-fd');
const primes = path.join(repoRoot, 'examples', 'primes', 'primes.js');

afterEach(killAll);

/** Independent check: every prime below the table's largest, in order (sieve of Eratosthenes). */
function primesUpTo(n: number): number[] {
  const composite = new Uint8Array(n + 1);
  const out: number[] = [];
  for (let i = 2; i <= n; i++) {
    if (composite[i] === 1) continue;
    out.push(i);
    for (let j = i * i; j <= n; j += i) composite[j] = 1;
  }
  return out;
}

function readTable(file: string): number[] {
  const buf = fs.readFileSync(file);
  const table: number[] = [];
  for (let at = 0; at + 8 <= buf.length; at += 8) {
    const v = buf.readBigUInt64LE(at);
    if (v === 0n) break;
    table.push(Number(v));
  }
  return table;
}

describe('shm-fd watch -- node primes.js', () => {
  it('continues the table across five runs on one memfd', async () => {
    const r = await run([shmFd, 'watch', '-q', '-n', '0', '--count', '5', '--', process.execPath, primes, '--size', '1M', '--chunk', '2000']);
    expect(r.status).toBe(0);
    const totals = [...r.stdout.matchAll(/generated (\d+) more primes, total (\d+)/g)].map((m) => Number(m[2]));
    expect(totals).toEqual([2002, 4002, 6002, 8002, 10002]);
  });

  it('leaves a table that is all primes, increasing, without gaps (tmpfs file, verified after exit)', async () => {
    const file = `/dev/shm/shmkit-primes-${process.pid}`;
    fs.rmSync(file, { force: true });
    try {
      const r = await run([shmFd, 'watch', '-q', '-n', '0', '--count', '5', '--file', file, '--', process.execPath, primes, '--size', '512k', '--chunk', '3000']);
      expect(r.status).toBe(0);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const table = readTable(file);
      expect(table).toHaveLength(15002);
      expect(table).toEqual(primesUpTo(table[table.length - 1] as number));
      // The wrapper's own restart keeps the state: one more run continues it.
      const again = await run([shmFd, '-q', '--file', file, '--', process.execPath, primes, '--chunk', '10']);
      expect(again.stdout).toContain('generated 10 more primes, total 15012');
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('says when the table is full and prints a summary', async () => {
    const r = await run([shmFd, 'watch', '-q', '-n', '0', '--count', '3', '--', process.execPath, primes, '--size', '4096', '--chunk', '400']);
    expect(r.stdout).toContain('generated 400 more primes, total 402');
    expect(r.stdout).toContain('generated 110 more primes, total 512');
    expect(r.stdout).toMatch(/no more primes to fill: the table is full with 512 primes .* the largest is 3671/);
  });

  it('explains how to run it when started without shm-fd', async () => {
    const r = await run([primes], { env: { ...process.env, LISTEN_FDS: undefined } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Run it under shm-fd/);
  });
});
