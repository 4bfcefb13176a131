// Interop with the Rust writer: a prime sieve child on the Rust shm-snapshot
// crate (packages/shm-snapshot/test/fixtures/rust-oracle/rust-primes.rs)
// under our shm-restore, taking turns with examples/primes/primes-snapshot.js
// on one BACKUP, some runs SIGKILLed. Needs the Rust binary, built from a
// clone of https://github.com/HeroicKatora/shmfd:
//   SHMFD_REPO=<clone> BUILD_ONLY=1 OUT=/tmp/rust-bins sh packages/shm-snapshot/test/fixtures/rust-oracle/generate.sh
//   SHMKIT_RUST_PRIMES=/tmp/rust-bins/rust-primes npx jest test/shm-restore-rust
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { killAll, killGroup, run, start } from './helpers/proc';
import { checkPrimes, decode, primeTable, primesSnapshot, shmRestore } from './shm-restore-helpers';

const rustPrimes = process.env['SHMKIT_RUST_PRIMES'];
if (rustPrimes === undefined) {
  // stderr, not console: jest shows no console output of a suite whose tests all skip.
  process.stderr.write(
    'shm-restore-rust: skipped; set SHMKIT_RUST_PRIMES to a rust-primes built from the Rust HeroicKatora/shmfd: clone https://github.com/HeroicKatora/shmfd, then ' +
      '`SHMFD_REPO=<clone> BUILD_ONLY=1 OUT=/tmp/rust-bins sh packages/shm-snapshot/test/fixtures/rust-oracle/generate.sh` and SHMKIT_RUST_PRIMES=/tmp/rust-bins/rust-primes\n',
  );
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shm-restore-rust-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(killAll);

(rustPrimes === undefined ? test.skip : test)('Rust and JS children continue each other\'s table through one BACKUP', async () => {
  const backup = path.join(dir, 'primes.backup');
  const rust = (...args: string[]) => [shmRestore, '--snapshot', 'restore-v1', backup, '--', rustPrimes as string, ...args];
  const js = (...args: string[]) => [shmRestore, '--snapshot', 'restore-v1', backup, '--', process.execPath, primesSnapshot, ...args];

  expect((await run(rust('0', '5000'))).status).toBe(0);
  expect(primeTable(backup)).toHaveLength(5000);
  const a = await run(js('0', '10000'));
  expect(a.stdout).toContain('resumed with 5000 primes');
  // The Rust writer only uses slot 0 and never invalidates: with small
  // chunks it wraps the ring over our entries, which must then read as
  // overwritten, not as corruption.
  const b = await run(rust('0', '40000', '300'));
  expect(b.stdout).toContain('resumed with 10000 primes');
  expect(b.status).toBe(0);
  const d = decode(fs.readFileSync(backup));
  expect(d?.writeOffset).toBeGreaterThan(2048);
  const c = await run(js('0', '45000'));
  expect(c.stdout).toContain('resumed with 40000 primes');
  expect(c.status).toBe(0);
  const table = primeTable(backup);
  checkPrimes(table);
  expect(table).toHaveLength(45000);

  // SIGKILLs at random moments, alternating writers.
  let previous = table.length;
  for (let round = 0; round < 6; round++) {
    const p = start(round % 2 === 0 ? rust('10') : js('10'));
    await p.waitFor(/resumed with \d+ primes/);
    await p.waitFor(new RegExp(`(committed \\d+ primes[^\\n]*\\n[^]*){${1 + Math.floor(Math.random() * 6)}}`));
    killGroup(p.child, 'SIGKILL');
    await p.exited;
    const now = primeTable(backup);
    checkPrimes(now);
    expect(now.length).toBeGreaterThanOrEqual(previous);
    previous = now.length;
  }
});
