// Real tinyd, real client processes: round trips of every shape of input,
// sync and async, 8 clients at once, and one input over 100 MB.
import fs from 'node:fs';
import path from 'node:path';

import { TinyFile } from '@shmkit/tinyfile';
import { compressBlock } from '@shmkit/tinyfile/codec';
import { kUnsafeSubmit, OP, S_GROUP, S_IN_LEN } from '@shmkit/tinyfile/unstable-protocol';

import { run } from './helpers/proc';
import { client, startDaemon, tinyfileCli, useTempSocket } from './tinyfile-helpers';

const t = useTempSocket();

test('8 clients at once: empty, 1 byte, text, random, binary; sync and async; pipelined', async () => {
  await startDaemon(t.socket, ['--workers', '2', '--n-sms', '32', '--sms-size', '256']);
  const clients = Array.from({ length: 8 }, (_, i) => client('roundtrip', t.socket, String(i + 1)));
  const results = await Promise.all(clients.map((c) => c.exited));
  clients.forEach((c, i) => {
    expect({ i, status: results[i]!.status, out: c.stdout(), err: c.stderr() }).toMatchObject({ status: 0, out: expect.stringContaining('ok 6 inputs') });
  });
});

test('a 104 MiB buffer round-trips async, and a 104 MiB file through the CLI with --sync', async () => {
  const d = await startDaemon(t.socket, ['--workers', '2']);
  const c = client('big', t.socket, '104', 'async');
  const r = await c.exited;
  expect({ status: r.status, out: c.stdout() }).toMatchObject({ status: 0, out: expect.stringMatching(/^ok 109051904 bytes/) });

  const file = path.join(t.dir, 'big.bin');
  const chunk = Buffer.alloc(1024 * 1024);
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < 104; i++) {
    chunk.fill(i);
    chunk.write(`block ${i} `.repeat(1000), 0);
    fs.writeSync(fd, chunk);
  }
  fs.closeSync(fd);
  const comp = await run([tinyfileCli, '--socket', t.socket, 'compress', file, '--sync'], { timeoutMs: 120_000 });
  expect(comp).toMatchObject({ status: 0, stderr: expect.stringMatching(/big\.bin → .*big\.bin\.sz: 104\.0 MiB in, .* MB\/s \(sync\)/) });
  fs.renameSync(file, `${file}.orig`);
  const dec = await run([tinyfileCli, '--socket', t.socket, 'decompress', `${file}.sz`], { timeoutMs: 120_000 });
  expect(dec.status).toBe(0);
  expect(fs.statSync(file).size).toBe(104 * 1024 * 1024);
  const a = fs.readFileSync(file);
  const b = fs.readFileSync(`${file}.orig`);
  expect(a.equals(b)).toBe(true);
  expect(d.child.exitCode).toBeNull();
});

describe('one wake-up per call (S_GROUP)', () => {
  function text(n: number): Buffer {
    let s = '';
    for (let i = 0; s.length < n; i++) s += `row ${i % 1009} of the wake-up test ${(i * 17) % 89}\n`;
    return Buffer.from(s.slice(0, n));
  }

  test('a 3 MiB compress() is cut into 4 pieces on 2 workers and answered in one batch', async () => {
    // The js codec: a piece libsnappy compresses in a millisecond or two can
    // be done before a client descheduled on a loaded machine has pushed its
    // siblings, and is then answered alone; the slower codec keeps this test
    // about the grouping, not about the scheduler.
    await startDaemon(t.socket, ['--workers', '2', '--codec', 'js']);
    const tf = await TinyFile.connect({ socket: t.socket });
    try {
      const input = text(3 << 20);
      const expected = compressBlock(input);
      tf.resetStats();
      const calls = 10;
      for (let i = 0; i < calls; i++) expect((await tf.compress(input)).equals(expected)).toBe(true);
      const s = tf.stats;
      expect(s.chunks).toBe(4 * calls);
      // One per call; a little slack for a piece answered alone because the
      // client was descheduled between pushing two pieces. Answered piece by
      // piece, this would be 2–4 per call.
      expect(s.wakeUps).toBeGreaterThanOrEqual(calls);
      expect(s.wakeUps).toBeLessThanOrEqual(calls * 1.5);
    } finally {
      await tf.close();
    }
  });

  test('tinyd holds a finished chunk while a sibling of its group runs, and never holds a lone one', async () => {
    await startDaemon(t.socket, ['--workers', '1']);
    const tf = await TinyFile.connect({ socket: t.socket });
    try {
      const big = text(700_000);
      const small = text(1000);
      tf.resetStats();
      // The big chunk goes to the worker; the small one runs inline at once, but its answer waits for the big one.
      const [a, b] = await Promise.all([
        tf[kUnsafeSubmit]({ op: OP.COMPRESS_RAW, words: { [S_IN_LEN]: big.length, [S_GROUP]: 77 }, data: big }),
        tf[kUnsafeSubmit]({ op: OP.COMPRESS_RAW, words: { [S_IN_LEN]: small.length, [S_GROUP]: 77 }, data: small }),
      ]);
      expect([a.failed, b.failed]).toEqual([false, false]);
      expect(tf.stats.wakeUps).toBe(1);
      const lone = await tf[kUnsafeSubmit]({ op: OP.COMPRESS_RAW, words: { [S_IN_LEN]: small.length, [S_GROUP]: 78 }, data: small });
      expect(lone.failed).toBe(false);
      // A group word on a hostile request changes nothing else.
      const bad = await tf[kUnsafeSubmit]({ op: 99, words: { [S_IN_LEN]: 10, [S_GROUP]: -1 } });
      expect(bad).toMatchObject({ failed: true, status: 'ERR_TINYFILE_BAD_REQUEST' });
      expect((await tf.decompress(await tf.compress(big))).equals(big)).toBe(true);
    } finally {
      await tf.close();
    }
  });
});
