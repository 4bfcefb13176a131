import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { connectionCount, rmmap, RmmapServer, type RemoteMapping, type ChangeEvent } from '../src/index';
import { FrameType } from '../src/constants';
import * as msg from '../src/messages';
import { CuttingProxy } from './helpers/proxy';
import { connectRaw as rawClient } from './helpers/raw-client';

let root: string;
/** Outside the root: the write journal of the test's main server. */
let journalPath: string;
let server: RmmapServer;
let port: number;
const mappings: RemoteMapping[] = [];

async function open(p: string, offset = 0, length = 4096, extra: Partial<Parameters<typeof rmmap>[0]> = {}, opts = {}) {
  const m = await rmmap({ host: '127.0.0.1', port, path: p, ...extra }, offset, length, opts);
  mappings.push(m);
  return m;
}

beforeEach(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'rmmap-unit-'));
  journalPath = `${root}.journal`;
  fs.writeFileSync(path.join(root, 'data.bin'), Buffer.alloc(256 * 1024, 0x2e));
  server = new RmmapServer({ root, journalPath });
  port = (await server.listen(0)).port;
});

afterEach(async () => {
  for (const m of mappings.splice(0)) await m.unmap();
  await server.close();
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(journalPath, { force: true });
});


describe('rmmap client and server in one process', () => {
  test('two mappings share one connection; a write reaches the file and NOTIFYs the other mapping', async () => {
    const a = await open('data.bin', 0, 8192);
    const b = await open('data.bin', 4096, 8192);
    expect(connectionCount()).toBe(1);
    expect((await b.read(0, 4)).toString()).toBe('....');
    const changes: ChangeEvent[] = [];
    b.on('change', (c: ChangeEvent) => changes.push(c));
    await a.write(4094, Buffer.from('WXYZ'));
    // Our own mapping sees its write at once; the file has it too.
    expect((await a.read(4094, 4)).toString()).toBe('WXYZ');
    expect(fs.readFileSync(path.join(root, 'data.bin')).subarray(4094, 4098).toString()).toBe('WXYZ');
    await b.sync(); // a round trip after the write: the NOTIFY came before its reply
    expect(changes).toEqual([{ offset: 0, length: 2, version: 1 }]);
    expect((await b.read(0, 4)).toString()).toBe('YZ..');
    expect(b.version).toBe(1);
  });

  test('reads past the section extend it; past the end of the file they are short', async () => {
    const m = await open('data.bin', 1000, 100);
    expect(m.length).toBe(100);
    const buf = await m.read(0, 200_000);
    expect(buf.length).toBe(200_000);
    expect(m.length).toBeGreaterThanOrEqual(200_000);
    const tail = await m.read(256 * 1024 - 1000 - 10, 100);
    expect(tail.length).toBe(10);
    await expect(m.write(256 * 1024 - 1000 - 2, Buffer.alloc(10))).rejects.toMatchObject({ code: 'ERR_RMMAP_RANGE' });
  });

  test('write reports bad arguments and a closed mapping by rejecting, never by throwing', async () => {
    const m = await open('data.bin', 0, 4096);
    const calls: Array<[() => Promise<number>, string]> = [
      [() => m.write(-1, Buffer.alloc(1)), 'ERR_OUT_OF_RANGE'],
      [() => m.write(0, 'text' as unknown as Uint8Array), 'ERR_INVALID_ARG_TYPE'],
      [() => m.write(256 * 1024, Buffer.alloc(1)), 'ERR_RMMAP_RANGE'],
    ];
    for (const [call, code] of calls) {
      let p: Promise<number> | undefined;
      expect(() => (p = call())).not.toThrow();
      await expect(p).rejects.toMatchObject({ code });
    }
    await expect(m.write(10, Buffer.from('ok'))).resolves.toBeGreaterThan(0);
    await m.unmap();
    let closed: Promise<number> | undefined;
    expect(() => (closed = m.write(0, Buffer.alloc(1)))).not.toThrow();
    await expect(closed).rejects.toMatchObject({ code: 'ERR_RMMAP_CLOSED' });
  });

  test('cached reads do not hit the network; readCached is synchronous', async () => {
    const m = await open('data.bin', 0, 65536);
    expect(m.readCached(0, 10)).toBeUndefined();
    await m.read(0, 65536);
    expect(m.readCached(10, 5)?.toString()).toBe('.....');
    expect(m.cachedBytes).toBe(65536);
  });

  test('streamed sequential reads see NOTIFYs and our own writes', async () => {
    fs.writeFileSync(path.join(root, 'stream.bin'), Buffer.alloc(4 * 1024 * 1024, 0x30));
    const r = await open('stream.bin', 0, 4 * 1024 * 1024, {}, { readahead: 2 * 1024 * 1024 });
    const w = await open('stream.bin', 0, 4 * 1024 * 1024);
    const piece = 256 * 1024;
    expect((await r.read(0, piece))[0]).toBe(0x30);
    expect((await r.read(piece, piece))[0]).toBe(0x30); // sequential: read-ahead of the next pieces starts
    // Another client changes a piece that is already read ahead.
    await w.write(2 * piece + 5, Buffer.from('N'));
    await r.sync(); // NOTIFY has arrived
    expect((await r.read(2 * piece, piece))[5]).toBe(0x4e);
    // Our own write into read-ahead bytes.
    await r.write(3 * piece + 1, Buffer.from('O'));
    expect((await r.read(3 * piece, piece))[1]).toBe(0x4f);
    // And the whole stream matches the file.
    const all = Buffer.concat([await r.read(4 * piece, piece), await r.read(5 * piece, piece)]);
    expect(all.equals(fs.readFileSync(path.join(root, 'stream.bin')).subarray(4 * piece, 6 * piece))).toBe(true);
  });

  test('readInto: plain, past EOF, and a recycled stream that still sees changes', async () => {
    fs.writeFileSync(path.join(root, 'into.bin'), Buffer.alloc(4 * 1024 * 1024, 0x31));
    const r = await open('into.bin', 0, 1024);
    const w = await open('into.bin', 0, 3 * 1024 * 1024);
    const small = Buffer.alloc(10);
    expect(await r.readInto(5, small)).toBe(10);
    expect(small.toString()).toBe('1111111111');
    const piece = 256 * 1024;
    const target = Buffer.alloc(piece);
    const seen: Buffer[] = [];
    for (let i = 0; i < 12; i++) {
      if (i === 6) {
        // Change bytes already read ahead (pieces 7 and 8), from another mapping.
        await w.write(7 * piece + 3, Buffer.from('X'));
        await w.write(8 * piece + 4, Buffer.from('Y'));
        await r.sync();
      }
      if (i === 9) await r.write(10 * piece, Buffer.from('Z')); // our own write into read-ahead
      expect(await r.readInto(i * piece, target)).toBe(i < 12 ? piece : 0);
      seen.push(Buffer.from(target));
    }
    const file = fs.readFileSync(path.join(root, 'into.bin'));
    expect(Buffer.concat(seen).equals(file.subarray(0, 12 * piece))).toBe(true);
    expect(file[7 * piece + 3]).toBe(0x58);
    expect(file[10 * piece]).toBe(0x5a);
    // Mixing read() into a readInto() stream hands out copies, not pool buffers.
    const a = await r.read(12 * piece, piece);
    const b = await r.read(13 * piece, piece);
    expect(a[0]).toBe(0x31);
    expect(b.equals(file.subarray(13 * piece, 14 * piece))).toBe(true);
    expect(await r.readInto(4 * 1024 * 1024 - 5, target)).toBe(5);
  });

  test('cache off: every read asks the server and sees the latest bytes', async () => {
    const a = await open('data.bin', 0, 4096, {}, { cacheSize: 0 });
    const b = await open('data.bin', 0, 4096);
    expect((await a.read(0, 3)).toString()).toBe('...');
    await b.write(0, Buffer.from('abc'));
    expect((await a.read(0, 3)).toString()).toBe('abc');
    expect(a.cachedBytes).toBe(0);
    expect((await a.read(0, 3 * 1024 * 1024)).length).toBe(256 * 1024);
  });

  test('a large write is split into frames and arrives whole', async () => {
    fs.writeFileSync(path.join(root, 'big.bin'), Buffer.alloc(3 * 1024 * 1024));
    const small = new RmmapServer({ root, journalPath: false, maxFrame: 64 * 1024 });
    const p = (await small.listen(0)).port;
    try {
      const m = await rmmap({ host: '127.0.0.1', port: p, path: 'big.bin' }, 0, 3 * 1024 * 1024);
      const data = Buffer.alloc(3 * 1024 * 1024);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
      await m.write(0, data);
      expect((await m.read(0, data.length)).equals(data)).toBe(true);
      await m.unmap();
      expect(fs.readFileSync(path.join(root, 'big.bin')).equals(data)).toBe(true);
    } finally {
      await small.close();
    }
  });

  test('path traversal, absolute paths and symlink escapes are refused; symlinks inside the root work', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'rmmap-outside-'));
    try {
      fs.writeFileSync(path.join(outside, 'secret'), 'secret');
      fs.symlinkSync(path.join(outside, 'secret'), path.join(root, 'escape'));
      fs.symlinkSync('data.bin', path.join(root, 'alias'));
      await expect(open('../x')).rejects.toMatchObject({ code: 'ERR_RMMAP_BAD_PATH' });
      await expect(open('a/../../x')).rejects.toMatchObject({ code: 'ERR_RMMAP_BAD_PATH' });
      await expect(open('/etc/passwd')).rejects.toMatchObject({ code: 'ERR_RMMAP_BAD_PATH' });
      await expect(open('escape')).rejects.toMatchObject({ code: 'ERR_RMMAP_BAD_PATH', message: expect.stringContaining('outside the served root') });
      await expect(open('missing')).rejects.toMatchObject({ code: 'ENOENT' });
      fs.mkdirSync(path.join(root, 'dir'));
      await expect(open('dir')).rejects.toMatchObject({ code: 'EISDIR' });
      fs.writeFileSync(path.join(root, 'empty'), '');
      await expect(open('empty')).rejects.toMatchObject({ code: 'ERR_RMMAP_EMPTY_FILE' });
      const m = await open('alias', 0, 4);
      expect((await m.read(0, 4)).toString()).toBe('....');
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  test('tokens: wrong token refused with ERR_RMMAP_AUTH, right token accepted', async () => {
    const guarded = new RmmapServer({ root, journalPath: false, token: Buffer.from('s3cret') });
    const p = (await guarded.listen(0)).port;
    try {
      await expect(rmmap({ host: '127.0.0.1', port: p, path: 'data.bin', token: 'wrong' })).rejects.toMatchObject({ code: 'ERR_RMMAP_AUTH' });
      await expect(rmmap({ host: '127.0.0.1', port: p, path: 'data.bin' })).rejects.toMatchObject({ code: 'ERR_RMMAP_AUTH' });
      const m = await rmmap({ host: '127.0.0.1', port: p, path: 'data.bin', token: 's3cret' });
      expect((await m.read(0, 1)).toString()).toBe('.');
      await m.unmap();
    } finally {
      await guarded.close();
    }
  });

  test('a read-only server refuses writable mappings and writes', async () => {
    const ro = new RmmapServer({ root, readOnly: true });
    const p = (await ro.listen(0)).port;
    try {
      await expect(rmmap({ host: '127.0.0.1', port: p, path: 'data.bin' })).rejects.toMatchObject({ code: 'ERR_RMMAP_READ_ONLY' });
      const m = await rmmap({ host: '127.0.0.1', port: p, path: 'data.bin' }, 0, 10, { writable: false });
      await expect(m.write(0, Buffer.from('x'))).rejects.toMatchObject({ code: 'ERR_RMMAP_READ_ONLY' });
      expect((await m.read(0, 2)).toString()).toBe('..');
      await m.unmap();
    } finally {
      await ro.close();
    }
  });

  test('unknown types get an error frame and the connection stays usable; a bad length closes it', async () => {
    const c = await rawClient(port);
    c.send(msg.encodeHello(0, Buffer.alloc(16, 1), Buffer.alloc(0)));
    expect((await c.next()).type).toBe(FrameType.HELLO_OK);
    c.send(msg.encodeEmpty(0x42, 5));
    const err = await c.next();
    expect(err.type).toBe(FrameType.ERROR);
    expect(err.requestId).toBe(5);
    expect(msg.decodeError(err.payload).code).toBe(3);
    c.send(msg.encodeBytes(FrameType.PING, 6, Buffer.from('hi')));
    const pong = await c.next();
    expect([pong.type, pong.requestId, pong.payload.toString()]).toEqual([FrameType.PONG, 6, 'hi']);
    c.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0]));
    const fatal = await c.next();
    expect(msg.decodeError(fatal.payload).code).toBe(2);
    await c.closed;
    // Other clients are unaffected.
    const m = await open('data.bin', 0, 10);
    expect((await m.read(0, 1)).toString()).toBe('.');
  });

  test('a connection that never sends HELLO is closed after the handshake timeout', async () => {
    const slow = new RmmapServer({ root, journalPath: false, handshakeTimeoutMs: 100 });
    const p = (await slow.listen(0)).port;
    try {
      const c = await rawClient(p);
      const f = await c.next();
      expect(msg.decodeError(f.payload)).toMatchObject({ code: 6, message: expect.stringContaining('no HELLO within 100 ms') });
      await c.closed;
    } finally {
      await slow.close();
    }
  });

  test('connections beyond maxConnections are refused; the others keep working', async () => {
    const small = new RmmapServer({ root, journalPath: false, maxConnections: 1 });
    const p = (await small.listen(0)).port;
    try {
      const m = await rmmap({ host: '127.0.0.1', port: p, path: 'data.bin' }, 0, 10);
      const extra = await rawClient(p);
      await extra.closed; // dropped by the server at accept
      expect((await m.read(0, 1)).toString()).toBe('.');
      await m.unmap();
    } finally {
      await small.close();
    }
  });

  test('a request before HELLO is refused and the connection closed', async () => {
    const c = await rawClient(port);
    c.send(msg.encodeBytes(FrameType.PING, 1, Buffer.alloc(0)));
    const f = await c.next();
    expect(msg.decodeError(f.payload).code).toBe(6);
    await c.closed;
  });

  test('connection cuts: pending writes are retried and applied exactly once', async () => {
    const proxy = new CuttingProxy(port);
    const pport = await proxy.listen();
    try {
      const m = await rmmap({ host: '127.0.0.1', port: pport, path: 'data.bin' }, 0, 65536, { backoffMinMs: 5 } as object);
      const reconnects: unknown[] = [];
      m.on('reconnect', (e) => reconnects.push(e));
      const writes: Promise<number>[] = [];
      for (let i = 0; i < 200; i++) {
        writes.push(m.write(i * 8, Buffer.from(`w${String(i).padStart(6, '0')}`)));
        if (i % 50 === 25) proxy.cutAll();
      }
      await Promise.all(writes);
      expect(proxy.cuts).toBeGreaterThan(0);
      expect(reconnects.length).toBeGreaterThan(0);
      const file = fs.readFileSync(path.join(root, 'data.bin'));
      for (let i = 0; i < 200; i++) expect(file.subarray(i * 8, i * 8 + 7).toString()).toBe(`w${String(i).padStart(6, '0')}`);
      // Every write bumped the version exactly once on the server.
      await m.sync();
      expect(m.version).toBe(200);
      await m.unmap();
    } finally {
      await proxy.close();
    }
  });

  test('server restart: the client re-maps and drops its cache', async () => {
    const m = await open('data.bin', 0, 4096, {}, { backoffMinMs: 5 });
    await m.read(0, 4096);
    expect(m.cachedBytes).toBe(4096);
    const reconnected = new Promise((r) => m.once('reconnect', r));
    await server.close();
    // Change the file while the server is down, then restart on the same port.
    fs.writeFileSync(path.join(root, 'data.bin'), Buffer.alloc(256 * 1024, 0x41));
    server = new RmmapServer({ root, journalPath });
    await server.listen(port);
    // Any request (here a sync) drives the reconnect; the cache is revalidated before it is used again.
    const synced = m.sync();
    await expect(reconnected).resolves.toMatchObject({ cacheKept: false });
    await synced;
    expect(m.cachedBytes).toBe(0);
    expect((await m.read(0, 4)).toString()).toBe('AAAA');
  });

  test('a first connection cut during the handshake is retried; nothing listening fails at once', async () => {
    // Drops the first two connections right after accepting them, then forwards.
    let accepted = 0;
    const flaky = net.createServer((down) => {
      if (++accepted <= 2) return void down.destroy();
      const up = net.connect(port, '127.0.0.1');
      down.pipe(up).pipe(down);
      const end = () => (down.destroy(), up.destroy());
      down.on('error', end).on('close', end);
      up.on('error', end).on('close', end);
    });
    await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
    try {
      const fport = (flaky.address() as net.AddressInfo).port;
      const m = await rmmap({ host: '127.0.0.1', port: fport, path: 'data.bin' }, 0, 16, { backoffMinMs: 5 } as object);
      expect(accepted).toBe(3);
      expect((await m.read(0, 4)).length).toBe(4);
      await m.unmap();
    } finally {
      await new Promise((r) => flaky.close(r));
    }
    // A port nobody listens on: refused, reported without waiting for the 60 s reconnect timeout.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const dead = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    await expect(rmmap({ host: '127.0.0.1', port: dead, path: 'data.bin' }, 0, 16, { reconnectTimeoutMs: 60_000 } as object)).rejects.toMatchObject({
      code: 'ERR_RMMAP_UNAVAILABLE',
      message: expect.stringMatching(/ECONNREFUSED/),
    });
  });

  test('the server staying away fails operations with ERR_RMMAP_UNAVAILABLE', async () => {
    const m = await rmmap({ host: '127.0.0.1', port, path: 'data.bin' }, 0, 10, { reconnectTimeoutMs: 200, backoffMinMs: 10 } as object);
    await server.close();
    await expect(m.read(0, 10)).rejects.toMatchObject({ code: 'ERR_RMMAP_UNAVAILABLE' });
    await m.unmap();
  });

  test('unmap persists and closes the connection with the last mapping', async () => {
    const m = await open('data.bin', 0, 10);
    await m.write(0, Buffer.from('Z'));
    await m.unmap();
    mappings.length = 0;
    expect(connectionCount()).toBe(0);
    expect(server.files.openFiles).toBe(0);
    await expect(m.read(0, 1)).rejects.toMatchObject({ code: 'ERR_RMMAP_CLOSED' });
  });
});
