// A seeded shared-memory fuzzer against tinyd: a hostile client writes
// random values into every word of its channel it can reach (slot headers,
// queue positions and records, notifier words, lengths) and submits
// garbage, while honest clients compress, decompress and verify their data.
// tinyd must stay up, answer every honest request correctly or with a coded
// error, and stop on SIGTERM.
//
// SHMKIT_FUZZ_MS: how long the hostile client runs (default 3000).
// SHMKIT_FUZZ_SEED: replays a run (every run prints its seed).
import { killGroup, start } from './helpers/proc';
import { startDaemon, useTempSocket } from './tinyfile-helpers';

import path from 'node:path';

const fixtures = path.join(__dirname, 'fixtures', 'hostile-tinyfile');
const fuzzMs = Number(process.env['SHMKIT_FUZZ_MS'] ?? 3000);
const seedArg = process.env['SHMKIT_FUZZ_SEED'] ?? '';

const t = useTempSocket();

test('tinyd under a shared-memory fuzzer: stays up, honest clients get right answers or coded errors, SIGTERM stops it', async () => {
  const d = await startDaemon(t.socket, ['--workers', '2', '--handshake-timeout-ms', '2000']);
  const honest = [1, 2].map((i) => start([path.join(fixtures, 'honest-client.js'), 'verify', t.socket, `honest-${i}`, String(fuzzMs + 500)]));
  for (const h of honest) await h.waitFor('ready', 60_000);
  const hostile = start([path.join(fixtures, 'hostile-client.js'), 'fuzz', t.socket, seedArg, String(fuzzMs)]);
  const seedLine = await hostile.waitFor(/fuzz seed=\d+/);
  console.log(`tinyd fuzzer: ${seedLine} (replay with SHMKIT_FUZZ_SEED=${seedLine.split('=')[1]})`);

  const h = await hostile.exited;
  expect({ status: h.status, out: hostile.stdout() }).toMatchObject({ status: 0, out: expect.stringMatching(/fuzz done seed=\d+ registrations=[1-9]\d* drops=\d+ actions=[1-9]/) });
  console.log(`tinyd fuzzer: ${/fuzz done .*/.exec(hostile.stdout())![0]}`);
  for (const c of honest) {
    const r = await c.exited;
    expect({ status: r.status, out: c.stdout() }).toMatchObject({ status: 0, out: expect.stringMatching(/verify ok=[1-9]\d* coded=\d+ maxMs=\d+/) });
    const maxMs = Number(/maxMs=(\d+)/.exec(c.stdout())![1]);
    // A hang guard, not a timing assertion: no honest request may wait on the fuzzer for long.
    expect(maxMs).toBeLessThan(10_000);
  }
  expect(d.child.exitCode).toBeNull();
  killGroup(d.child, 'SIGTERM');
  const r = await d.exited;
  expect(r.status).toBe(0);
  // Rate-limited: a line per kind per client process per second, not one per bad word.
  expect(d.stderr().length).toBeLessThan(200 * 1024);
});
