import fs from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { RmmapServer, type ServerOptions } from '../src/index';
import { FrameType, WireError } from '../src/constants';
import * as msg from '../src/messages';
import type { RawFrame } from '../src/parser';
import { connectRaw, type RawClient as Raw } from './helpers/raw-client';

let root: string;
let server: RmmapServer | undefined;
const sockets: net.Socket[] = [];

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'rmmap-budget-'));
  fs.writeFileSync(path.join(root, 'data.bin'), Buffer.alloc(256 * 1024, 0x2e));
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await server?.close();
  server = undefined;
  fs.rmSync(root, { recursive: true, force: true });
});

async function serve(options: Partial<ServerOptions>): Promise<number> {
  server = new RmmapServer({ root, journalPath: false, ...options });
  return (await server.listen(0)).port;
}

/** A protocol client that reads only when told to (the test pauses its socket). */
async function raw(port: number, hello = true): Promise<Raw> {
  const c = await connectRaw(port);
  sockets.push(c.socket);
  c.socket.on('error', () => {});
  if (hello) {
    c.send(msg.encodeHello(0, Buffer.alloc(16, sockets.length), Buffer.alloc(0)));
    expect((await c.next()).type).toBe(FrameType.HELLO_OK);
  }
  return c;
}

const codeName = (f: RawFrame): string | undefined =>
  f.type === FrameType.ERROR ? Object.entries(WireError).find(([, v]) => v === msg.decodeError(f.payload).code)?.[0] : undefined;

async function map(c: Raw, id: number, length = 4096): Promise<RawFrame> {
  c.send(msg.encodeMap(id, { path: 'data.bin', offset: 0, length, writable: true }));
  return c.next();
}

/** Polls `cond` (for state with no event to wait on) until true or the hang guard. */
async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('rmmapd budgets', () => {
  test('mappings: per connection ERR_RMMAP_TOO_MANY_MAPPINGS, in total ERR_RMMAP_BUDGET; unmapping or closing gives them back', async () => {
    const port = await serve({ maxMappingsPerConnection: 3, maxMappings: 4 });
    const a = await raw(port);
    const ids: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const f = await map(a, i);
      expect(f.type).toBe(FrameType.MAPPED);
      ids.push(msg.decodeMapped(f.payload).mapId);
    }
    const fourth = await map(a, 4);
    expect(codeName(fourth)).toBe('ERR_RMMAP_TOO_MANY_MAPPINGS');
    expect(msg.decodeError(fourth.payload).message).toMatch(/holds 3 mappings.*--max-mappings 3/);

    const b = await raw(port);
    expect((await map(b, 1)).type).toBe(FrameType.MAPPED);
    const over = await map(b, 2);
    expect(codeName(over)).toBe('ERR_RMMAP_BUDGET');
    expect(msg.decodeError(over.payload).message).toMatch(/mappings: the server holds 4.*--max-mappings-total 4/);
    expect(server?.mappings).toBe(4);

    a.send(msg.encodeMapIdBody(FrameType.UNMAP, 5, ids[0] as number));
    expect((await a.next()).type).toBe(FrameType.OK);
    expect((await map(b, 3)).type).toBe(FrameType.MAPPED);
    // The connection stays usable after a refusal.
    a.send(msg.encodeBytes(FrameType.PING, 6, Buffer.from('ok')));
    expect((await a.next()).payload.toString()).toBe('ok');

    a.socket.destroy();
    await until(() => server?.mappings === 2, 'the closed connection to give its mappings back');
  });

  test('unread replies: requests of a client that does not read wait in order within the budget, and are all answered once it reads', async () => {
    const budget = 64 * 1024;
    const maxFrame = 64 * 1024;
    const port = await serve({ maxUnreadPerConnection: budget, maxUnread: 4 * budget, maxFrame });
    const c = await raw(port);
    const mapId = msg.decodeMapped((await map(c, 1, 256 * 1024)).payload).mapId;
    c.socket.pause();
    // 4000 READs of 32 KiB: 128 MiB of replies, sent in one go.
    const n = 4000;
    const reads: Buffer[] = [];
    for (let i = 0; i < n; i++) reads.push(msg.encodeRead(100 + i, mapId, (i % 8) * 32768, (i % 8) * 32768 + 32768));
    c.send(Buffer.concat(reads));
    let peak = 0;
    const probe = setInterval(() => (peak = Math.max(peak, server?.unreadBytes ?? 0)), 1);
    try {
      // The server fills the kernel's buffers, then queues up to its budget and stops.
      await until(() => (server?.unreadBytes ?? 0) >= budget, 'the server to queue a budget of replies');
      // Time for a server without the budget to overshoot it (not a timing assertion).
      await new Promise((r) => setTimeout(r, 300));
      expect(peak).toBeLessThanOrEqual(budget + maxFrame + 1024 * 1024);
      c.socket.resume();
      for (let i = 0; i < n; i++) {
        const f = await c.next();
        expect([f.type, f.requestId, f.payload.length]).toEqual([FrameType.DATA, 100 + i, 8 + 32768]);
      }
    } finally {
      clearInterval(probe);
    }
    expect(peak).toBeLessThanOrEqual(budget + maxFrame + 1024 * 1024);
    await until(() => server?.unreadBytes === 0, 'every reply to be taken');
  }, 60_000);

  test('a client that never reads its NOTIFYs is closed with ERR_RMMAP_BUDGET past its budget; the writer goes on', async () => {
    const budget = 64 * 1024;
    const logs: string[] = [];
    const port = await serve({ maxUnreadPerConnection: budget, maxFrame: 64 * 1024, maxMappingsPerConnection: 1000, log: (l) => logs.push(l) });
    const idle = await raw(port);
    const maps: Buffer[] = [];
    for (let i = 1; i <= 1000; i++) maps.push(msg.encodeMap(i, { path: 'data.bin', offset: 0, length: 4096, writable: false }));
    idle.send(Buffer.concat(maps));
    await until(() => idle.queued.length === 1000, '1000 MAPPED replies');
    idle.socket.pause();
    const writer = await raw(port);
    const mapId = msg.decodeMapped((await map(writer, 1)).payload).mapId;
    // Each write NOTIFYs the idle client's 1000 overlapping mappings (37 KB).
    let id = 10;
    const closing = () => logs.some((l) => l.includes('ERR_RMMAP_BUDGET'));
    while (!closing()) {
      const batch: Buffer[] = [];
      for (let k = 0; k < 50; k++) batch.push(msg.encodeWrite(id++, mapId, 0, 0, Buffer.from('x')));
      writer.send(Buffer.concat(batch));
      await until(() => writer.queued.length >= 50, 'WROTE replies');
      expect(writer.queued.splice(0).every((f) => f.type === FrameType.WROTE)).toBe(true);
      if (id > 100_000) throw new Error('the idle client was never closed');
    }
    // The error comes after everything queued before it: read it all.
    idle.socket.resume();
    await idle.closed;
    const last = idle.queued.at(-1) as RawFrame;
    expect([codeName(last), last.requestId]).toEqual(['ERR_RMMAP_BUDGET', 0]);
    expect(msg.decodeError(last.payload).message).toMatch(/unread replies: \d+ bytes queued for this connection, past its budget \(--max-unread 64 KiB\)/);
    expect(idle.queued.filter((f) => f.type === FrameType.NOTIFY).length).toBeGreaterThan(1000);
    await until(() => server?.connections === 1, 'the server to drop the idle connection');
    writer.send(msg.encodeBytes(FrameType.PING, id, Buffer.from('alive')));
    expect((await writer.next()).payload.toString()).toBe('alive');
  }, 60_000);

  test('unread replies in total: when they reach the budget, the connection holding the most unread is closed and the others are served', async () => {
    const budget = 64 * 1024;
    const logs: string[] = [];
    const port = await serve({ maxUnreadPerConnection: budget, maxUnread: 2 * budget, maxFrame: 64 * 1024, log: (l) => logs.push(l) });
    const hogs: Raw[] = [];
    for (let h = 0; h < 2; h++) {
      const c = await raw(port);
      const mapId = msg.decodeMapped((await map(c, 1, 256 * 1024)).payload).mapId;
      c.socket.pause();
      const reads: Buffer[] = [];
      for (let i = 0; i < 2000; i++) reads.push(msg.encodeRead(100 + i, mapId, 0, 32768));
      c.send(Buffer.concat(reads));
      hogs.push(c);
    }
    await until(() => (server?.unreadBytes ?? 0) >= 2 * budget, 'both hogs to fill the total');
    const honest = await raw(port);
    const mapped = await map(honest, 1);
    expect(mapped.type).toBe(FrameType.MAPPED);
    honest.send(msg.encodeRead(2, msg.decodeMapped(mapped.payload).mapId, 0, 16));
    const data = await honest.next();
    expect([data.type, data.requestId, data.payload.length]).toEqual([FrameType.DATA, 2, 8 + 16]);
    expect(logs.join('\n')).toMatch(/ERR_RMMAP_BUDGET: unread replies: all connections together reached the server's budget \(--max-unread-total 128 KiB\)/);
    for (const h of hogs) h.socket.resume();
    await Promise.race(hogs.map((h) => h.closed));
    const closedHog = hogs.find((h) => h.queued.at(-1)?.type === FrameType.ERROR) as Raw;
    expect(codeName(closedHog.queued.at(-1) as RawFrame)).toBe('ERR_RMMAP_BUDGET');
  }, 60_000);

  test('connections beyond the cap are told ERR_RMMAP_BUDGET and closed', async () => {
    const port = await serve({ maxConnections: 2 });
    await raw(port);
    await raw(port);
    const third = await raw(port, false);
    const f = await third.next();
    expect(codeName(f)).toBe('ERR_RMMAP_BUDGET');
    expect(f.requestId).toBe(0);
    expect(msg.decodeError(f.payload).message).toMatch(/connections: the server already serves 2 \(its --max-connections\)/);
    await third.closed;
    expect(server?.connections).toBe(2);
  });

  test('error texts name paths relative to the root, never the root', async () => {
    fs.mkdirSync(path.join(root, 'dir'));
    const port = await serve({});
    const c = await raw(port);
    const replies: string[] = [];
    for (const [i, p] of ['missing.bin', 'dir/missing.bin', 'dir', 'data.bin/x'].entries()) {
      c.send(msg.encodeMap(i + 1, { path: p, offset: 0, length: 10, writable: true }));
      const f = await c.next();
      replies.push(`${codeName(f)} ${msg.decodeError(f.payload).message}`);
    }
    expect(replies).toEqual([
      'ENOENT ENOENT: "missing.bin": no such file or directory',
      'ENOENT ENOENT: "dir/missing.bin": no such file or directory',
      'EISDIR EISDIR: "dir": illegal operation on a directory',
      'ERR_RMMAP_IO ENOTDIR: "data.bin/x": not a directory',
    ]);
    for (const r of replies) expect(r).not.toContain(root);
  });
});
