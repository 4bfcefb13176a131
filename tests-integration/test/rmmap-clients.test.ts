// Several client processes map one file served by rmmapd and write disjoint
// and overlapping ranges at once. The file must end exactly as replaying the
// writes in the server's applied order (their versions) says, and every
// client's page cache must converge through NOTIFY.
import fs from 'node:fs';
import path from 'node:path';

import { killAll } from './helpers/proc';
import { jsonLine, prng, startClient, startServer, tempRoot } from './rmmap-helpers';

const SIZE = 64 * 1024;
let root: string;

beforeEach(() => {
  root = tempRoot();
  fs.writeFileSync(path.join(root, 'shared.bin'), Buffer.alloc(SIZE));
});

afterEach(async () => {
  await killAll();
  fs.rmSync(root, { recursive: true, force: true });
});

interface Write {
  at: number;
  hex: string;
  version?: number;
}

function makeWrites(rand: () => number, lo: number, hi: number, count: number): Write[] {
  const out: Write[] = [];
  for (let i = 0; i < count; i++) {
    const len = 1 + Math.floor(rand() * 700);
    const at = lo + Math.floor(rand() * (hi - lo - len));
    const bytes = Buffer.alloc(len);
    for (let j = 0; j < len; j++) bytes[j] = Math.floor(rand() * 256);
    out.push({ at, hex: bytes.toString('hex') });
  }
  return out;
}

test('4 client processes, disjoint and overlapping writes: file = applied order, caches converge', async () => {
  // A failure prints its seed; RMMAP_SEED=<seed> replays it.
  const seed = Number(process.env['RMMAP_SEED'] ?? Date.now() % 100000);
  const rand = prng(seed);
  const { port } = await startServer(['--root', root, '--port', '0']);
  const plans = [
    makeWrites(rand, 0, 16 * 1024, 120), // disjoint
    makeWrites(rand, 16 * 1024, 32 * 1024, 120), // disjoint
    makeWrites(rand, 24 * 1024, SIZE, 120), // overlaps client 1 and 3
    makeWrites(rand, 8 * 1024, SIZE, 120), // overlaps everyone
  ];
  const clients = plans.map((writes) => startClient({ host: '127.0.0.1', port, path: 'shared.bin', length: SIZE, mode: 'writer', writes }));
  await Promise.all(clients.map((c) => c.waitFor(/^ready$/m)));
  for (const c of clients) c.child.stdin?.write('go\n');
  const logs = await Promise.all(clients.map((c) => jsonLine<{ log: Required<Write>[] }>(c, 'done')));
  for (const c of clients) c.child.stdin?.write('check\n');
  const states = await Promise.all(clients.map((c) => jsonLine<{ changes: number; cachedBefore: number; full: string }>(c, 'state')));
  await Promise.all(clients.map((c) => c.waitFor(/^bye$/m)));

  // Every write was applied exactly once: the versions are exactly 1..N.
  const all = logs.flatMap((l) => l.log).sort((a, b) => a.version - b.version);
  expect(all).toHaveLength(480);
  expect(all.map((w) => w.version)).toEqual(all.map((_, i) => i + 1));

  const expected = Buffer.alloc(SIZE);
  for (const w of all) Buffer.from(w.hex, 'hex').copy(expected, w.at);
  const file = fs.readFileSync(path.join(root, 'shared.bin'));
  expect(file.equals(expected)).toBe(true);

  // Caches: what each client reads after the last NOTIFY is the file.
  for (const [i, s] of states.entries()) {
    const full = Buffer.from(s.full, 'base64');
    if (!full.equals(file)) throw new Error(`client ${i} did not converge (seed ${seed})`);
    // The overlapping clients were told about other clients' writes.
    if (i >= 1) expect(s.changes).toBeGreaterThan(0);
  }
});
