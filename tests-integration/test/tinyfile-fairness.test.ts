// Fairness: while one client streams a large input through tinyd, another's
// 4 KiB requests are served round-robin. The bound is counted in chunks, not
// milliseconds: between tinyd first seeing a small request and dispatching
// it, it dispatches at most one chunk of each other active client
// (README "Fairness"). Latencies are printed for the README, not asserted.

import { client, startDaemon, useTempSocket } from './tinyfile-helpers';

const t = useTempSocket();

test('a 4 KiB request waits for at most one chunk of a client streaming 32 MiB buffers', async () => {
  await startDaemon(t.socket, ['--workers', '1']);
  const hog = client('loop', t.socket, String(32 * 1024 * 1024));
  await hog.waitFor('ready', 60_000);
  const small = client('small', t.socket, '300');
  const r = await small.exited;
  expect({ status: r.status, out: small.stdout() }).toMatchObject({ status: 0, out: expect.stringContaining('small ') });
  const stats = JSON.parse(/small (.*)/.exec(small.stdout())![1]!) as { p50: number; p99: number; max: number; chunks: number; maxWaitedChunks: number };
  console.log(`fairness: 4 KiB request latency next to a 32 MiB stream: p50 ${stats.p50.toFixed(2)} ms, p99 ${stats.p99.toFixed(2)} ms, max ${stats.max.toFixed(2)} ms`);
  expect(stats.chunks).toBe(300);
  expect(stats.maxWaitedChunks).toBeLessThanOrEqual(1);
  // The hog was really streaming the whole time.
  expect(hog.stdout()).not.toMatch(/err|FAIL/);
});

test('with --qos a priority-7 client never waits behind a priority-0 stream', async () => {
  await startDaemon(t.socket, ['--workers', '1', '--qos']);
  const hog = client('loop', t.socket, String(32 * 1024 * 1024));
  await hog.waitFor('ready', 60_000);
  const vip = client('small', t.socket, '200', '7');
  const r = await vip.exited;
  expect({ status: r.status, out: vip.stdout() }).toMatchObject({ status: 0, out: expect.stringContaining('small ') });
  const stats = JSON.parse(/small (.*)/.exec(vip.stdout())![1]!) as { chunks: number; maxWaitedChunks: number };
  expect(stats.chunks).toBe(200);
  expect(stats.maxWaitedChunks).toBe(0);
});
