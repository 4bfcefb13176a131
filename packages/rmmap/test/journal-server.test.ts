// The server with its write journal, in one process: a retried WRITE is
// recognised by the next server on the same journal (PROTOCOL.md §6). A raw
// protocol client picks its own session id, so it can come back as the same
// client. The kill -9 variant, with real processes, is
// tests-integration/test/rmmap-restart.test.ts.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { RmmapServer } from '../src/index';
import { FrameType } from '../src/constants';
import * as msg from '../src/messages';
import { FrameParser, type RawFrame } from '../src/parser';

let dir: string;
let root: string;
let journalPath: string;
const servers: RmmapServer[] = [];
const sockets: net.Socket[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmmap-jsrv-'));
  root = path.join(dir, 'root');
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(root, 'f.bin'), Buffer.alloc(64, 0x2e));
  journalPath = path.join(dir, 'journal');
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function startServer(opts: Partial<ConstructorParameters<typeof RmmapServer>[0]> = {}): Promise<{ server: RmmapServer; port: number }> {
  const server = new RmmapServer({ root, journalPath, ...opts });
  servers.push(server);
  return { server, port: (await server.listen(0)).port };
}

/** A raw client speaking as `session`: HELLO, then one request at a time. */
async function client(port: number, session: Buffer): Promise<{ call: (b: Buffer) => Promise<RawFrame>; resumed: boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  const waiters: ((f: RawFrame) => void)[] = [];
  const parser = new FrameParser({
    maxFrame: 1 << 20,
    onFrame: (f) => {
      if (f.type === FrameType.NOTIFY) return;
      waiters.shift()?.({ ...f, payload: Buffer.from(f.payload) });
    },
    onError: () => {},
  });
  socket.on('data', (c: Buffer) => parser.push(c));
  const call = (b: Buffer) =>
    new Promise<RawFrame>((r) => {
      waiters.push(r);
      socket.write(b);
    });
  const hello = await call(msg.encodeHello(0, session, Buffer.alloc(0)));
  return { call, resumed: msg.decodeHelloOk(hello.payload).resumed };
}

async function mapFile(c: { call: (b: Buffer) => Promise<RawFrame> }): Promise<number> {
  const f = await c.call(msg.encodeMap(1, { offset: 0, length: 64, writable: true, path: 'f.bin' }));
  return msg.decodeMapped(f.payload).mapId;
}

const fileBytes = () => fs.readFileSync(path.join(root, 'f.bin')).subarray(0, 8).toString();

test('a write retried against the next server on the same journal is acknowledged, not applied again', async () => {
  const session = randomBytes(16);
  const first = await startServer();
  const a = await client(first.port, session);
  expect(a.resumed).toBe(false);
  const wrote = await a.call(msg.encodeWrite(5, await mapFile(a), 5, 0, Buffer.from('AAAA')));
  expect(wrote.type).toBe(FrameType.WROTE);
  const version = msg.decodeVersion(wrote.payload, 'WROTE');
  await first.server.close();

  const second = await startServer();
  // Another client writes the same bytes in between...
  const b = await client(second.port, randomBytes(16));
  const bWrote = await b.call(msg.encodeWrite(2, await mapFile(b), 2, 0, Buffer.from('BBBB')));
  // ...and versions continue where the first server stopped.
  expect(msg.decodeVersion(bWrote.payload, 'WROTE')).toBe(version + 1);
  // The first client comes back and resends its write under the same id.
  const again = await client(second.port, session);
  expect(again.resumed).toBe(true);
  const retried = await again.call(msg.encodeWrite(5, await mapFile(again), 5, 0, Buffer.from('AAAA')));
  expect(retried.type).toBe(FrameType.WROTE);
  expect(msg.decodeVersion(retried.payload, 'WROTE')).toBe(version);
  expect(fileBytes()).toBe('BBBB....');
});

test('without a journal (journalPath: false) the next server applies the retry again: the old behaviour', async () => {
  const session = randomBytes(16);
  const first = await startServer({ journalPath: false });
  const a = await client(first.port, session);
  await a.call(msg.encodeWrite(5, await mapFile(a), 5, 0, Buffer.from('AAAA')));
  await first.server.close();
  const second = await startServer({ journalPath: false });
  const b = await client(second.port, randomBytes(16));
  await b.call(msg.encodeWrite(2, await mapFile(b), 2, 0, Buffer.from('BBBB')));
  const again = await client(second.port, session);
  expect(again.resumed).toBe(false);
  await again.call(msg.encodeWrite(5, await mapFile(again), 5, 0, Buffer.from('AAAA')));
  expect(fileBytes()).toBe('AAAA....');
  expect(fs.existsSync(journalPath)).toBe(false);
});

test('a second server on the same journal is refused by listen() with the holder named', async () => {
  await startServer();
  const other = new RmmapServer({ root, journalPath });
  await expect(other.listen(0)).rejects.toMatchObject({ code: 'ERR_RMMAP_JOURNAL_LOCKED', message: expect.stringContaining(`pid ${process.pid}`) });
  await other.close();
});
