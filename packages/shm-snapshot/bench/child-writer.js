// A child for child-rate.bench.ts: commits 8-byte payloads as fast as it
// can for DURATION_MS on the shared file, over a SIZE-byte file whose tail
// is fully written (so every snapshot copies all of it), then prints its
// rate as JSON. Uses the built package (bench depends on build).
'use strict';
const crypto = require('node:crypto');
const { SharedFd } = require('@shmkit/shm-fd');
const { SnapshotFile } = require('../dist/src/index.js');

const size = Number(process.env.SIZE || 100_000_000);
const duration = Number(process.env.DURATION_MS || 2000);
const shared = SharedFd.fromEnv();
if (shared === null) throw new Error('run under shm-restore');
if (shared.size < size) shared.resize(size);
const file = SnapshotFile.map(shared);
const writer = file.configure({ entries: 256, dataBytes: 2048 });
const tail = writer.tailBuffer();
for (let at = 0; at < tail.length; at += 1 << 20) crypto.randomFillSync(tail, at, Math.min(1 << 20, tail.length - at));
const payload = Buffer.alloc(8);
let n = 0;
const start = process.hrtime.bigint();
const end = start + BigInt(duration) * 1_000_000n;
let now = start;
while (now < end) {
  for (let i = 0; i < 10_000; i++) {
    payload.writeUInt32LE(n++ >>> 0, 0);
    writer.commit(payload);
  }
  now = process.hrtime.bigint();
}
console.log(JSON.stringify({ rate: n / (Number(now - start) / 1e9) }));
file.close();
shared.close();
