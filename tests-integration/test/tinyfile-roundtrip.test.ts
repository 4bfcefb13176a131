// Real tinyd, real client processes: round trips of every shape of input,
// sync and async, 8 clients at once, and one input over 100 MB.
import fs from 'node:fs';
import path from 'node:path';

import { killAll, run } from './helpers/proc';
import { client, startDaemon, tempDir, tinyfileCli } from './tinyfile-helpers';

let dir: string;
let socket: string;

beforeEach(() => {
  dir = tempDir();
  socket = path.join(dir, 'tinyd.sock');
});
afterEach(async () => {
  await killAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('8 clients at once: empty, 1 byte, text, random, binary; sync and async; pipelined', async () => {
  await startDaemon(socket, ['--workers', '2', '--n-sms', '32', '--sms-size', '256']);
  const clients = Array.from({ length: 8 }, (_, i) => client('roundtrip', socket, String(i + 1)));
  const results = await Promise.all(clients.map((c) => c.exited));
  clients.forEach((c, i) => {
    expect({ i, status: results[i]!.status, out: c.stdout(), err: c.stderr() }).toMatchObject({ status: 0, out: expect.stringContaining('ok 6 inputs') });
  });
});

test('a 104 MiB buffer round-trips async, and a 104 MiB file through the CLI with --sync', async () => {
  const d = await startDaemon(socket, ['--workers', '2']);
  const c = client('big', socket, '104', 'async');
  const r = await c.exited;
  expect({ status: r.status, out: c.stdout() }).toMatchObject({ status: 0, out: expect.stringMatching(/^ok 109051904 bytes/) });

  const file = path.join(dir, 'big.bin');
  const chunk = Buffer.alloc(1024 * 1024);
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < 104; i++) {
    chunk.fill(i);
    chunk.write(`block ${i} `.repeat(1000), 0);
    fs.writeSync(fd, chunk);
  }
  fs.closeSync(fd);
  const comp = await run([tinyfileCli, '--socket', socket, 'compress', file, '--sync'], { timeoutMs: 120_000 });
  expect(comp).toMatchObject({ status: 0, stderr: expect.stringMatching(/big\.bin → .*big\.bin\.sz: 104\.0 MiB in, .* MB\/s \(sync\)/) });
  fs.renameSync(file, `${file}.orig`);
  const dec = await run([tinyfileCli, '--socket', socket, 'decompress', `${file}.sz`], { timeoutMs: 120_000 });
  expect(dec.status).toBe(0);
  expect(fs.statSync(file).size).toBe(104 * 1024 * 1024);
  const a = fs.readFileSync(file);
  const b = fs.readFileSync(`${file}.orig`);
  expect(a.equals(b)).toBe(true);
  expect(d.child.exitCode).toBeNull();
});
