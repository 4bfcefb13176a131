// Interop with the Rust shmfd (HeroicKatora/shmfd 5b87162) in both
// directions: our shm-fd runs the Rust `primes`, the Rust `shm-fd` runs our
// primes.js, and both continue one table. Needs the Rust binaries built by
// tests-integration/rust/build.sh; skipped with a message otherwise.
import fs from 'node:fs';
import path from 'node:path';

import { SharedFd } from '@shmkit/shm-fd';

import { bin, killAll, repoRoot, run } from './helpers/proc';

const rustDir = process.env['SHMKIT_RUST_SHM_FD_DIR'];
const rustShmFd = rustDir === undefined ? '' : path.join(rustDir, 'shm-fd');
const rustPrimes = rustDir === undefined ? '' : path.join(rustDir, 'primes');
const available = rustDir !== undefined && fs.existsSync(rustShmFd) && fs.existsSync(rustPrimes);
if (!available) {
  // stderr, not console: jest shows no console output of a suite whose tests all skip.
  process.stderr.write(
    'shm-fd-rust: skipped; set SHMKIT_RUST_SHM_FD_DIR to a build of the Rust HeroicKatora/shmfd: clone https://github.com/HeroicKatora/shmfd, then ' +
      '`SHMFD_REPO=<clone> OUT=/tmp/rust-shm-fd sh tests-integration/rust/build.sh` and SHMKIT_RUST_SHM_FD_DIR=/tmp/rust-shm-fd\n',
  );
}

const shmFd = bin('shm-fd', 'shm-fd');
const primes = path.join(repoRoot, 'examples', 'primes', 'primes.js');
const cleanEnv = { ...process.env, LISTEN_FDS: undefined, LISTEN_FDNAMES: undefined, LISTEN_PID: undefined };

afterEach(killAll);

function table(file: string): number[] {
  const buf = fs.readFileSync(file);
  const out: number[] = [];
  for (let at = 0; at + 8 <= buf.length; at += 8) {
    const v = buf.readBigUInt64LE(at);
    if (v === 0n) break;
    out.push(Number(v));
  }
  return out;
}

function isPrimeTable(t: number[]): boolean {
  const max = t[t.length - 1] as number;
  const composite = new Uint8Array(max + 1);
  let i = 0;
  for (let n = 2; n <= max; n++) {
    if (composite[n] === 1) continue;
    if (t[i++] !== n) return false;
    for (let j = n * n; j <= max; j += n) composite[j] = 1;
  }
  return i === t.length;
}

(available ? describe : describe.skip)('Rust shmfd interop', () => {
  it('the Rust primes and ours continue one table, under either wrapper', async () => {
    const file = `/dev/shm/shmkit-rust-${process.pid}`;
    fs.rmSync(file, { force: true });
    try {
      // Our wrapper, the Rust child.
      const a = await run([shmFd, '-q', '--file', file, '--', rustPrimes], { env: cleanEnv });
      expect(a.status).toBe(0);
      expect(a.stderr).toContain('generated 100000 more primes, total 100002');
      // The Rust wrapper reusing the file from LISTEN_FDS, our child.
      const fd = SharedFd.openFile(file);
      try {
        const b = await run([process.execPath, primes, '--chunk', '1000'], {
          cmd: rustShmFd,
          env: { ...cleanEnv, LISTEN_FDS: '1', LISTEN_FDNAMES: 'SHM_SHARED_FD' },
          stdio: ['ignore', 'pipe', 'pipe', fd.fd],
        });
        expect(b.stdout).toContain('generated 1000 more primes, total 101002');
      } finally {
        fd.close();
      }
      // And back to the Rust child under our wrapper.
      const c = await run([shmFd, '-q', '--file', file, '--', rustPrimes], { env: cleanEnv });
      expect(c.stderr).toContain('total 201002');
      const t = table(file);
      expect(t).toHaveLength(201002);
      expect(isPrimeTable(t)).toBe(true);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('the Rust wrapper creates a memfd our primes.js accepts', async () => {
    const r = await run([process.execPath, primes, '--size', '64k', '--chunk', '100'], { cmd: rustShmFd, env: cleanEnv });
    expect(r.stderr).toMatch(/Created new file at fd 3/);
    expect(r.stdout).toContain('generated 100 more primes, total 102');
  });

  it('libsystemd-style LISTEN_PID from our wrapper is accepted by the Rust consumer', async () => {
    const r = await run([shmFd, '-q', '--', rustPrimes], { env: cleanEnv });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('generated 100000 more primes, total 100002');
  });
});
