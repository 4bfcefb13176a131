// rmmapd against hostile clients, each a real process speaking the real
// protocol: one that floods MAPs over many connections, one that pipelines
// READs and never reads a reply, one that never finishes its HELLO, a
// connection flood, and paths chosen to make error texts reveal the root.
// rmmapd stays up within its budgets, and an honest client is served.
import fs from 'node:fs';
import path from 'node:path';

import { killAll, start, type Proc } from './helpers/proc';
import { jsonLine, startClient, startServer, tempRoot } from './rmmap-helpers';

const hostileFixture = path.join(__dirname, 'fixtures', 'hostile-rmmapd', 'hostile-client.js');
const MiB = 1024 * 1024;

let root: string;

beforeEach(() => {
  root = tempRoot();
  fs.writeFileSync(path.join(root, 'f.bin'), Buffer.alloc(64 * 1024, 0x61));
  fs.writeFileSync(path.join(root, 'big.bin'), Buffer.alloc(4 * MiB, 0x62));
  fs.mkdirSync(path.join(root, 'legit'));
  fs.writeFileSync(path.join(root, 'legit', 'data.bin'), Buffer.alloc(4096 * 16));
});

afterEach(async () => {
  await killAll();
  fs.rmSync(root, { recursive: true, force: true });
});

function hostile(...args: (string | number)[]): Proc {
  return start([hostileFixture, ...args.map(String)], { stdio: ['pipe', 'pipe', 'pipe'] });
}

/** rmmapd's resident memory now, from /proc/PID/status (bytes). */
function vmRss(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** An honest client reading `length` bytes of f.bin: resolves with its stdout line or its error. */
async function honestRead(port: number, length = 16): Promise<string> {
  const c = startClient({ host: '127.0.0.1', port, path: 'f.bin', length, mode: 'read', reconnectTimeoutMs: 2000 });
  const { status } = await c.exited;
  return status === 0 ? (/^read (.*)$/m.exec(c.stdout())?.[1] ?? c.stdout()) : c.stderr().trim();
}

const sixteenA = Buffer.alloc(16, 0x61).toString('base64');

interface MapFloodResult {
  mapped: number;
  errors: Record<string, number>;
  sample: Record<string, string>;
  closed: boolean;
}

test('a MAP flood over 20 connections (80,000 MAPs) is held to the mapping budgets; rmmapd stays up and logs a few lines', async () => {
  // 80,000 mappings would pass vm.max_map_count (65,530): mmap then fails
  // for V8 as well and the process aborts (std::bad_alloc).
  const server = await startServer(['--root', root, '--port', '0']);
  const h = hostile('map-flood', server.port, 20, 4000);
  const results = await jsonLine<MapFloodResult[]>(h, 'result', 90_000);
  expect(server.proc.child.exitCode).toBeNull();
  expect(results).toHaveLength(20);
  for (const r of results) {
    expect(r.closed).toBe(false);
    expect(r.mapped).toBeLessThanOrEqual(1024);
    expect(r.mapped + (r.errors['ERR_RMMAP_TOO_MANY_MAPPINGS'] ?? 0) + (r.errors['ERR_RMMAP_BUDGET'] ?? 0)).toBe(4000);
  }
  expect(results.reduce((n, r) => n + r.mapped, 0)).toBe(16384);
  const samples = Object.assign({}, ...results.map((r) => r.sample)) as Record<string, string>;
  expect(samples['ERR_RMMAP_TOO_MANY_MAPPINGS']).toMatch(/holds 1024 mappings, the server's limit per connection \(--max-mappings 1024\)/);
  expect(samples['ERR_RMMAP_BUDGET']).toMatch(/mappings: the server holds 16384, its limit for all connections \(--max-mappings-total 16384\)/);
  // While the flood holds every mapping, an honest MAP is refused with the budget's code, not a crash.
  expect(await honestRead(server.port)).toMatch(/ERR_RMMAP_BUDGET/);
  // 63,616 refusals, logged at most once a second per client and kind.
  const refusals = server.proc.stderr().split('\n').filter((l) => l.includes('MAP refused'));
  expect(refusals.length).toBeGreaterThan(0);
  expect(refusals.length).toBeLessThan(100);
  expect(server.proc.stderr()).toMatch(/MAP refused: .* reached \(\d+ similar suppressed\)/);
  // The flood ends: its mappings are given back and the honest client is served.
  h.child.stdin?.end();
  await h.exited;
  expect(await honestRead(server.port)).toBe(sixteenA);
  expect(server.proc.child.exitCode).toBeNull();
  expect(server.proc.stderr()).not.toMatch(/bad_alloc|internal error|ENOMEM/);
}, 120_000);

test('a client pipelining READs and never reading the replies: rmmapd stops reading it at its budget, its RSS stays bounded, an honest client is served', async () => {
  const budget = 8 * MiB;
  const server = await startServer(['--root', root, '--port', '0', '--max-unread', '8M', '--max-unread-total', '64M', '--max-frame', '1M']);
  const pid = server.proc.child.pid as number;
  // Warm up: the honest client's path once, and big.bin's pages touched.
  expect(await honestRead(server.port)).toBe(sixteenA);
  const baseline = vmRss(pid);
  const h = hostile('read-flood', server.port, 'big.bin', MiB);
  await h.waitFor('flooding');
  await server.proc.waitFor(/stopped reading: \d+ bytes of replies unread \(--max-unread 8 MiB\)/);
  let peak = vmRss(pid);
  const probe = setInterval(() => (peak = Math.max(peak, vmRss(pid))), 20);
  try {
    // An honest writer works while the flood keeps pushing READs.
    const legit = startClient({ host: '127.0.0.1', port: server.port, path: 'legit/data.bin', length: 4096 * 16, mode: 'faults', tag: 'ok', firstSlot: 0, count: 500, pauseEvery: 1 });
    const done = await jsonLine<{ acked: number; failures: string[] }>(legit, 'done', 60_000);
    expect(done).toEqual({ acked: 500, failures: [] });
    expect(await honestRead(server.port)).toBe(sixteenA);
  } finally {
    clearInterval(probe);
  }
  expect(h.child.exitCode).toBeNull();
  expect(server.proc.child.exitCode).toBeNull();
  // The budget, one max frame (1 MiB) of overshoot, big.bin's 4 MiB of pages, and 64 MiB for V8's own growth.
  const bound = baseline + budget + 1 * MiB + 4 * MiB + 64 * MiB;
  expect(peak).toBeLessThan(bound);
  const file = fs.readFileSync(path.join(root, 'legit', 'data.bin'));
  for (let i = 0; i < 500; i++) expect(file.subarray(i * 16, i * 16 + 16).toString()).toBe(`ok:${String(i).padStart(8, '0')}`.padEnd(16, '.'));
}, 120_000);

test('a client that never finishes its HELLO is told ERR_RMMAP_HANDSHAKE and closed after --handshake-timeout', async () => {
  const server = await startServer(['--root', root, '--port', '0', '--handshake-timeout', '300']);
  const h = hostile('slow-hello', server.port);
  await h.waitFor('sent half a hello');
  const closed = await jsonLine<{ frames: { code?: string; message?: string }[] }>(h, 'closed', 20_000);
  expect(closed.frames).toEqual([{ code: 'ERR_RMMAP_HANDSHAKE', message: 'no HELLO within 300 ms (PROTOCOL.md §3)' }]);
  expect(await honestRead(server.port)).toBe(sixteenA);
  expect(server.proc.stderr()).toMatch(/ERR_RMMAP_HANDSHAKE: no HELLO within 300 ms .*; closing/);
});

test('a connection flood past --max-connections: the rest are told ERR_RMMAP_BUDGET and closed, logged once a second; served again once it ends', async () => {
  const server = await startServer(['--root', root, '--port', '0', '--max-connections', '8']);
  const h = hostile('conn-flood', server.port, 40);
  const result = await jsonLine<{ ok: number; refused: number; closedWithoutWord: number; messages: string[] }>(h, 'result', 60_000);
  expect(result.ok).toBe(8);
  expect(result.ok + result.refused + result.closedWithoutWord).toBe(40);
  expect(result.refused).toBeGreaterThan(0);
  expect(result.messages).toContain('ERR_RMMAP_BUDGET connections: the server already serves 8 (its --max-connections); retry later');
  const refusedLines = server.proc.stderr().split('\n').filter((l) => l.includes('refused a connection'));
  expect(refusedLines.length).toBeGreaterThan(0);
  expect(refusedLines.length).toBeLessThanOrEqual(5);
  h.child.stdin?.end();
  await h.exited;
  expect(await honestRead(server.port)).toBe(sixteenA);
  expect(server.proc.child.exitCode).toBeNull();
});

test('error texts name paths relative to the served root, never the root itself', async () => {
  const outside = tempRoot();
  try {
    fs.mkdirSync(path.join(root, 'dir'));
    fs.symlinkSync(outside, path.join(root, 'escape'));
    fs.symlinkSync('/nonexistent-target', path.join(root, 'dangling'));
    fs.writeFileSync(path.join(outside, 'x'), 'x');
    const server = await startServer(['--root', root, '--port', '0']);
    const h = hostile('paths', server.port, 'missing.bin', 'dir/missing.bin', 'dir', 'escape/x', 'f.bin/x', 'dangling', '../f.bin', '/etc/passwd');
    expect((await h.exited).status).toBe(0);
    expect(h.stdout().trim().split('\n')).toEqual([
      'error ENOENT ENOENT: "missing.bin": no such file or directory',
      'error ENOENT ENOENT: "dir/missing.bin": no such file or directory',
      'error EISDIR EISDIR: "dir": illegal operation on a directory',
      'error ERR_RMMAP_BAD_PATH path "escape/x" resolves outside the served root (a symlink escape)',
      'error ERR_RMMAP_IO ENOTDIR: "f.bin/x": not a directory',
      'error ENOENT ENOENT: "dangling": no such file or directory',
      'error ERR_RMMAP_BAD_PATH path "../f.bin" contains \'..\'; paths must stay inside the served root',
      'error ERR_RMMAP_BAD_PATH path "/etc/passwd" is absolute; give a path relative to the served root',
    ]);
    for (const spelling of [root, fs.realpathSync(root), outside]) expect(h.stdout()).not.toContain(spelling);
  } finally {
    fs.rmSync(outside, { recursive: true, force: true });
  }
});
