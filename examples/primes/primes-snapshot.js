#!/usr/bin/env node
// The prime sieve of primes.js, but crash-consistent: each chunk of new
// primes is committed through the shm-snapshot journal, so a SIGKILL at any
// moment loses at most the chunk in flight, never the table's consistency.
//
//   shm-restore --snapshot restore-v1 ./primes.backup -- node primes-snapshot.js 10
//
// Conventions of the Rust example (HeroicKatora/shmfd@5b87162
// examples/primes-snapshot): a 100,000,000-byte file, 256 entries and a
// 2 KiB data ring; each payload is the count of valid primes as an 8-byte
// big-endian integer; the primes are little-endian u64 in the tail.
'use strict';

const { SharedFd } = require('@shmkit/shm-fd');
const { SnapshotFile } = require('@shmkit/shm-snapshot');

const USAGE = `usage: node primes-snapshot.js [INTERVAL_MS] [LIMIT]
  INTERVAL_MS  pause between chunks (default 1000)
  LIMIT        stop once this many primes exist (default: until the table is full)
Run it under shm-restore (or shm-fd), which passes the shared file.`;

const FILE_BYTES = 100_000_000;
const CHUNK = 100_000; // candidates examined per commit

function parseArgs(argv) {
  if (argv.includes('-h') || argv.includes('--help')) {
    console.log(USAGE);
    process.exit(0);
  }
  const [interval = '1000', limit, extra] = argv;
  if (extra !== undefined || !/^[0-9]+$/.test(interval) || (limit !== undefined && !/^[1-9][0-9]*$/.test(limit))) {
    console.error(`primes-snapshot: bad arguments ${JSON.stringify(argv)}\n${USAGE}`);
    process.exit(2);
  }
  return { interval: Number(interval), limit: limit === undefined ? Infinity : Number(limit) };
}

function isPrime(n, primes) {
  for (let i = 0; i < primes.length; i++) {
    const p = primes[i];
    if (p * p > n) return true;
    if (n % p === 0) return false;
  }
  return true;
}

function countPayload(count) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(count));
  return b;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const shared = SharedFd.fromEnv();
  if (shared === null) {
    console.error('primes-snapshot: no shared file passed (LISTEN_FDS / SHM_SHARED_FD); run me under shm-restore or shm-fd');
    process.exit(2);
  }
  if (shared.size < FILE_BYTES) shared.resize(FILE_BYTES);
  const file = SnapshotFile.map(shared);
  let opened;
  try {
    opened = file.openWriter({ entries: 0x100, dataBytes: 0x800 });
  } catch (err) {
    console.error(`primes-snapshot: the shared file is not a usable journal: ${err.message} (${err.code})`);
    process.exit(1);
  }
  const { writer, recovered } = opened;
  const tail = writer.tail();

  // The newest valid entry says how many primes of the tail are committed;
  // anything after them is a chunk that was in flight when we died.
  let count = 0;
  const newest = recovered && recovered.newest();
  if (newest) count = Number(recovered.read(newest).readBigUInt64BE(0));
  if (count > tail.length) {
    console.error(`primes-snapshot: the newest entry claims ${count} primes but the tail holds ${tail.length}; the file is corrupt`);
    process.exit(1);
  }
  const primes = [];
  for (let i = 0; i < count; i++) primes.push(Number(Atomics.load(tail, i)));
  console.log(`resumed with ${count} primes`);

  let next = count === 0 ? 2 : primes[count - 1] + 1;
  while (count < o.limit) {
    if (count >= tail.length) {
      console.log(`the table is full with ${count} primes`);
      break;
    }
    const from = next;
    const to = next + CHUNK;
    const committed = writer.commitWith(countPayload(count), (tx) => {
      // Primes past `count` are not covered by any valid entry until this
      // commit marks its payload valid, so writing them here is safe.
      let n = count;
      let c = from;
      for (; c < to && n < tail.length && n < o.limit; c++) {
        if (!isPrime(c, primes)) continue;
        primes.push(c);
        Atomics.store(tx.tail, n, BigInt(c));
        n++;
      }
      next = c;
      tx.replace(countPayload(n));
      return n;
    });
    const added = committed.value - count;
    count = committed.value;
    console.log(`committed ${count} primes (+${added})`);
    if (o.interval > 0) await new Promise((r) => setTimeout(r, o.interval));
  }
  console.log(`done: ${count} primes, largest ${primes[count - 1]}`);
  file.close();
  shared.close();
}

main().catch((err) => {
  console.error(`primes-snapshot: ${err && err.message ? err.message : String(err)}`);
  process.exit(1);
});
