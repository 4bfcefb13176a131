// Exactly-once writes across a kill -9 and restart of rmmapd (PROTOCOL.md §6,
// "The write journal"): clients reconnect to the new process, no
// acknowledged write is lost, and none is applied twice.
//
// The decisive case is built without timing: a proxy in front of client A
// lets the handshake and MAPPED through, then withholds everything the
// server sends. When the withheld stream contains A's WROTE, the server has
// applied A's write and A has not heard of it: that is when rmmapd is
// killed. After the restart client B overwrites the same bytes; only then is
// A let back in, and it resends its write under the original request id. A
// server that applied it again would put A's bytes back over B's.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { bin, killAll, killGroup, run } from './helpers/proc';
import { expectWrittenOnce, jsonLine, record, startClient, startServer, tempRoot } from './rmmap-helpers';

const rmmapd = bin('rmmap', 'rmmapd');
let root: string;
let state: string;
let journal: string;

beforeEach(() => {
  root = tempRoot();
  state = tempRoot();
  journal = path.join(state, 'journal');
  fs.writeFileSync(path.join(root, 'f.bin'), Buffer.alloc(64, 0x2e));
  fs.writeFileSync(path.join(root, 'log.bin'), Buffer.alloc(4096 * 16));
});

afterEach(async () => {
  await killAll();
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(state, { recursive: true, force: true });
});

const FRAME_MAPPED = 0x82;
const FRAME_WROTE = 0x84;

/**
 * A TCP proxy for one client. Its first connection forwards the server's
 * frames up to and including the first MAPPED, then withholds the rest and
 * reports the version of a withheld WROTE. While paused, new connections
 * are accepted but held (their bytes buffered) until release().
 */
class WithholdingProxy {
  target: number;
  readonly wroteWithheld: Promise<number>;
  #onWrote: (version: number) => void = () => {};
  readonly #server = net.createServer((down) => this.#accept(down));
  readonly #sockets = new Set<net.Socket>();
  #first = true;
  #paused = false;
  readonly #held: Array<{ down: net.Socket; buffered: Buffer[] }> = [];

  constructor(target: number) {
    this.target = target;
    this.wroteWithheld = new Promise((r) => (this.#onWrote = r));
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.#server.listen(0, '127.0.0.1', () => resolve((this.#server.address() as net.AddressInfo).port)));
  }

  pause(): void {
    this.#paused = true;
  }

  release(): void {
    this.#paused = false;
    for (const h of this.#held.splice(0)) this.#connect(h.down, h.buffered, false);
  }

  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((r) => this.#server.close(() => r()));
  }

  #accept(down: net.Socket): void {
    this.#sockets.add(down);
    down.on('error', () => {});
    if (this.#paused) {
      const h = { down, buffered: [] as Buffer[] };
      down.on('data', (c: Buffer) => h.buffered.push(c));
      this.#held.push(h);
      return;
    }
    const withhold = this.#first;
    this.#first = false;
    this.#connect(down, [], withhold);
  }

  #connect(down: net.Socket, buffered: Buffer[], withhold: boolean): void {
    down.removeAllListeners('data');
    const up = net.connect(this.target, '127.0.0.1');
    this.#sockets.add(up);
    up.on('error', () => {});
    for (const c of buffered) up.write(c);
    down.on('data', (c: Buffer) => up.write(c));
    let pending = Buffer.alloc(0);
    let mapped = false;
    up.on('data', (c: Buffer) => {
      if (!withhold) {
        down.write(c);
        return;
      }
      pending = Buffer.concat([pending, c]);
      while (pending.length >= 5 && pending.length >= 4 + pending.readUInt32BE(0)) {
        const frame = pending.subarray(0, 4 + pending.readUInt32BE(0));
        pending = pending.subarray(frame.length);
        const type = frame[4];
        if (!mapped) {
          down.write(frame);
          mapped = type === FRAME_MAPPED;
        } else if (type === FRAME_WROTE) {
          // u32 length, u8 type, u32 request id, u64 version
          this.#onWrote(frame.readUInt32BE(9) * 0x100000000 + frame.readUInt32BE(13));
        }
      }
    });
    // The server went away: so does the client's connection (it reconnects).
    up.on('close', () => down.destroy());
    down.on('close', () => up.destroy());
  }
}

test.each([
  ['with the journal', ['--journal', 'JOURNAL'], 'b'],
  ['without it (--no-journal): the old behaviour, the retry is applied again', ['--no-journal'], 'a'],
])('kill -9 between applying a write and acknowledging it; restart %s', async (_name, journalArgs, winner) => {
  const args = ['--root', root, '--port', '0', ...journalArgs.map((a) => (a === 'JOURNAL' ? journal : a))];
  const first = await startServer(args);
  const proxy = new WithholdingProxy(first.port);
  const pport = await proxy.listen();
  try {
    const a = startClient({ host: '127.0.0.1', port: pport, path: 'f.bin', length: 64, mode: 'faults', tag: 'a', firstSlot: 0, count: 1 });
    const version = await proxy.wroteWithheld;
    // Applied (the file has it) but not acknowledged (A holds no ack).
    expect(fs.readFileSync(path.join(root, 'f.bin')).subarray(0, 16).toString()).toBe(record('a', 0));
    expect(a.stdout()).not.toMatch(/^ack /m);
    proxy.pause();
    killGroup(first.proc.child, 'SIGKILL');
    await first.proc.exited;

    const second = await startServer(args);
    proxy.target = second.port;
    const b = startClient({ host: '127.0.0.1', port: second.port, path: 'f.bin', length: 64, mode: 'faults', tag: 'b', firstSlot: 0, count: 1 });
    expect(await jsonLine(b, 'done')).toEqual({ acked: 1, failures: [] });
    await b.waitFor(/^bye$/m);
    expect(fs.readFileSync(path.join(root, 'f.bin')).subarray(0, 16).toString()).toBe(record('b', 0));

    proxy.release();
    expect(await jsonLine(a, 'done')).toEqual({ acked: 1, failures: [] });
    await a.waitFor(/^bye$/m);
    expect(a.stdout()).toMatch(/^reconnect 1$/m);
    expect(fs.readFileSync(path.join(root, 'f.bin')).subarray(0, 16).toString()).toBe(record(winner, 0));
    if (winner === 'b') {
      // The retry got the version the first server recorded; B's write came after it.
      expect(a.stdout()).toMatch(new RegExp(`^ack 0 ${version}$`, 'm'));
      expect(b.stdout()).toMatch(new RegExp(`^ack 0 ${version + 1}$`, 'm'));
      expect(second.proc.stderr()).toMatch(/1 session\(s\) restored, last write re-applied/);
    }
  } finally {
    await proxy.close();
  }
});

test('kill -9 mid-stream with the journal compacting: every write applied exactly once across the restart', async () => {
  const args = ['--root', root, '--port', '0', '--journal', journal, '--journal-max', '16k'];
  const first = await startServer(args);
  const per = 400;
  const clients = [0, 1, 2].map((c) =>
    startClient({ host: '127.0.0.1', port: first.port, path: 'log.bin', length: 4096 * 16, mode: 'faults', tag: `k${c}`, firstSlot: c * 1000, count: per, pauseEvery: 3 }),
  );
  await Promise.all(clients.map((c) => c.waitFor(/^progress 50$/m, 60000)));
  killGroup(first.proc.child, 'SIGKILL');
  await first.proc.exited;
  // A fast client may have finished before the kill; every other one was cut mid-stream.
  const cut = clients.filter((c) => !/^done /m.test(c.stdout()));
  expect(cut.length).toBeGreaterThan(0);
  const second = await startServer(args.map((a) => (a === '0' ? String(first.port) : a)));
  const results = await Promise.all(clients.map((c) => jsonLine<{ acked: number; failures: string[] }>(c, 'done', 90000)));
  await Promise.all(clients.map((c) => c.waitFor(/^bye$/m)));
  for (const r of results) expect(r).toEqual({ acked: per, failures: [] });
  for (const c of cut) expect(c.stdout()).toMatch(/^reconnect 1$/m);
  // The versions continue across the restart, so exactly once still ends at 3 × per.
  await expectWrittenOnce(root, clients, 'k', per, second.port);
  expect(first.proc.stderr() + second.proc.stderr()).toMatch(/compacted \d+ bytes to \d+/);
  expect(second.proc.stderr()).toMatch(/session\(s\) restored/);
});

test('a second rmmapd on the same journal, and a damaged journal, are refused with a code and no stack trace', async () => {
  const first = await startServer(['--root', root, '--port', '0', '--journal', journal]);
  const second = await run([rmmapd, '--root', root, '--port', '0', '--journal', journal]);
  expect(second.status).toBe(1);
  expect(second.stderr).toMatch(new RegExp(`ERR_RMMAP_JOURNAL_LOCKED: journal .* is in use by another rmmapd \\(pid ${first.proc.child.pid}\\)`));
  expect(second.stderr).not.toMatch(/\n\s+at /);
  killGroup(first.proc.child, 'SIGKILL');
  await first.proc.exited;

  fs.writeFileSync(journal, "not a journal at all, but someone's file\n");
  const third = await run([rmmapd, '--root', root, '--port', '0', '--journal', journal]);
  expect(third.status).toBe(1);
  expect(third.stderr).toMatch(/ERR_RMMAP_JOURNAL_CORRUPT: .*wrong magic.*mv /);
  expect(third.stderr).not.toMatch(/\n\s+at /);
  expect(fs.readFileSync(journal, 'utf8')).toBe("not a journal at all, but someone's file\n");
});
