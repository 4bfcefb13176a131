#!/usr/bin/env node
// A prime sieve that keeps its table in the shared-memory file passed by
// shm-fd, so every run continues where the last one stopped:
//
//   shm-fd watch -n 0.1 -- node primes.js
//
// Layout (that of the Rust shmfd `primes` example, so both continue each
// other's table): little-endian u64 primes from offset 0, zero = empty.
'use strict';

const { SharedFd } = require('@shmkit/shm-fd');

const USAGE = `usage: node primes.js [--size BYTES] [--chunk N]
  --size   size of the table when the shared file is new (default 100000000, like the Rust example)
  --chunk  primes to add per run (default 100000)`;

function parseArgs(argv) {
  const o = { size: 100_000_000, chunk: 100_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (a === '--size' && v !== undefined) {
      o.size = parseSize(v);
      i++;
    } else if (a === '--chunk' && v !== undefined && /^[1-9][0-9]*$/.test(v)) {
      o.chunk = Number(v);
      i++;
    } else {
      console.error(`primes: bad argument ${JSON.stringify(a)}\n${USAGE}`);
      process.exit(2);
    }
  }
  return o;
}

function parseSize(text) {
  const m = /^(\d+)([kKmMgG]?)$/.exec(text);
  if (m === null) {
    console.error(`primes: --size ${JSON.stringify(text)} is not a size (e.g. 8M)\n${USAGE}`);
    process.exit(2);
  }
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase()];
  return Number(m[1]) * unit;
}

/** Number of filled slots: the table is a prefix of non-zero values. */
function countFilled(table) {
  let lo = 0;
  let hi = table.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (table[mid] !== 0n) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const shared = SharedFd.fromEnv();
  if (shared === null) {
    console.error(
      'primes: no shared file was passed to this process (LISTEN_FDS / SHM_SHARED_FD).\n' +
        'Run it under shm-fd so the table survives between runs:\n' +
        '  shm-fd watch -n 0.1 -- node primes.js',
    );
    process.exit(1);
  }
  try {
    if (shared.size === 0) shared.resize(opts.size);
    const mapping = shared.map();
    const table = new BigUint64Array(mapping.buffer.buffer, mapping.buffer.byteOffset, Math.floor(mapping.length / 8));
    run(table, opts.chunk);
    mapping.close();
  } finally {
    shared.close();
  }
}

function run(table, chunk) {
  if (table.length < 2) {
    console.error('primes: the shared file is too small for a table; give it at least 16 bytes');
    process.exit(1);
  }
  if (table[0] === 0n) {
    table[1] = 3n;
    table[0] = 2n;
  }
  const filled = countFilled(table);
  const end = Math.min(filled + chunk, table.length);
  if (filled >= end) {
    const last = table[filled - 1];
    const head = Array.from(table.subarray(0, 10), String).join(', ');
    const tail = Array.from(table.subarray(filled - 5, filled), String).join(', ');
    console.log(`no more primes to fill: the table is full with ${filled} primes (${head}, …, ${tail}); the largest is ${last}`);
    return;
  }
  // Divisors up to sqrt(candidate) as plain numbers: reading BigInts from the
  // table in the inner loop would be ~10x slower.
  const divisors = [];
  let nextDivisor = 0;
  let candidate = Number(table[filled - 1]) + 2;
  for (let slot = filled; slot < end; slot++) {
    for (;; candidate += 2) {
      while (nextDivisor < slot && divisors.length < slot) {
        const p = Number(table[nextDivisor]);
        if (p * p > candidate) break;
        divisors.push(p);
        nextDivisor++;
      }
      if (isPrime(candidate, divisors)) break;
    }
    table[slot] = BigInt(candidate);
    candidate += 2;
  }
  console.log(`generated ${end - filled} more primes, total ${end}`);
}

function isPrime(n, divisors) {
  for (let i = 0; i < divisors.length; i++) {
    const p = divisors[i];
    if (p * p > n) return true;
    if (n % p === 0) return false;
  }
  return true;
}

try {
  main();
} catch (err) {
  // shmkit's errors carry a code and say what to do; anything else is a bug worth its stack.
  if (err && typeof err.code === 'string') {
    console.error(`primes: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
