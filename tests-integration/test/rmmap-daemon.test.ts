// The rmmapd command line: usage errors exit 2 with a clear message and no
// stack trace; SIGTERM closes gracefully; connections and errors are logged.
import fs from 'node:fs';
import path from 'node:path';

import { bin, killAll, run } from './helpers/proc';
import { startClient, startServer, tempRoot } from './rmmap-helpers';

const rmmapd = bin('rmmap', 'rmmapd');
let root: string;

beforeEach(() => {
  root = tempRoot();
  fs.writeFileSync(path.join(root, 'f.bin'), Buffer.alloc(4096, 0x61));
});

afterEach(async () => {
  await killAll();
  fs.rmSync(root, { recursive: true, force: true });
});

test.each([
  [[], /--root DIR is required/],
  [['--root'], /option --root needs a value/],
  [['--root', '/nonexistent/rmmap-root'], /cannot serve \/nonexistent\/rmmap-root/],
  [['--root', '.', '--port', 'http'], /--port: "http" is not a port number/],
  [['--root', '.', '--frobnicate'], /unknown option --frobnicate/],
  [['--root', '.', '--token-file', '/nonexistent/token'], /cannot read --token-file/],
  [['--root', '.', '--max-frame', '1'], /--max-frame/],
  [['--root', '.', '--max-connections', '0'], /--max-connections: "0"/],
])('usage error %j exits 2', async (args, message) => {
  const r = await run([rmmapd, ...args]);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
});

test('--help prints usage and exits 0', async () => {
  const r = await run([rmmapd, '--help']);
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('Usage: rmmapd --root DIR');
});

test('logs connections, --read-only refuses writes, SIGTERM exits 0', async () => {
  const server = await startServer(['--root', root, '--port', '0', '--read-only']);
  expect(server.proc.stdout()).toContain('read-only');
  const c = startClient({ host: '127.0.0.1', port: server.port, path: 'f.bin', length: 16, mode: 'faults', tag: 'x', firstSlot: 0, count: 1 });
  await c.exited;
  expect(c.stderr()).toMatch(/ERR_RMMAP_READ_ONLY/);
  const r = startClient({ host: '127.0.0.1', port: server.port, path: 'f.bin', length: 4, mode: 'read', writable: false });
  expect(await r.waitFor(/^read .*$/m)).toBe(`read ${Buffer.from('aaaa').toString('base64')}`);
  expect(server.proc.stderr()).toMatch(/connection from 127\.0\.0\.1:\d+/);
  server.proc.child.kill('SIGTERM');
  expect((await server.proc.exited).status).toBe(0);
});

test('a port already in use is reported without a stack trace', async () => {
  const first = await startServer(['--root', root, '--port', '0']);
  const r = await run([rmmapd, '--root', root, '--port', String(first.port), '--no-journal']);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  expect(r.stderr).not.toMatch(/\n\s+at /);
});

test('a client that returns without unmapping exits by itself; the server persists its write', async () => {
  const server = await startServer(['--root', root, '--port', '0']);
  const c = startClient({ host: '127.0.0.1', port: server.port, path: 'f.bin', length: 16, mode: 'leave', text: 'persisted' });
  await c.waitFor(/^left$/m);
  const timer = setTimeout(() => c.child.kill('SIGKILL'), 10_000);
  const status = (await c.exited).status;
  clearTimeout(timer);
  expect(status).toBe(0);
  await server.proc.waitFor(/closed/);
  expect(fs.readFileSync(path.join(root, 'f.bin')).subarray(0, 9).toString()).toBe('persisted');
});
