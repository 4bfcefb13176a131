// A scripted server sends a reply and a NOTIFY back to back in one TCP
// write, so the client parses them in one go. The cache must end up as if
// the frames had arrived one by one: a NOTIFY right behind a DATA
// invalidates the pages that DATA filled.
import net from 'node:net';

import { rmmap } from '../src/index';
import { FrameType } from '../src/constants';
import * as msg from '../src/messages';
import { FrameParser } from '../src/parser';

const SIZE = 64 * 1024;

/** Serves one 64 KiB file whose bytes the test controls; `onRead` may append extra frames to a DATA reply. */
interface ScriptState {
  bytes: Buffer;
  version: number;
  reads: number;
  /** Frames to send right behind the next DATA, in the same write. */
  extraAfterData?: (mapId: number) => Buffer[];
  /** Runs before the next READ is answered; its frames go in front of the DATA, in the same write. */
  beforeData?: (mapId: number) => Buffer[];
  /** Frames to send right behind the next MAPPED, in the same write. */
  afterMapped?: (mapId: number) => Buffer[];
  /** Hold WROTE replies until the next READ (they then precede its DATA in the same write). */
  holdWrote?: boolean;
  held?: Buffer[];
}

function scriptedServer(state: ScriptState) {
  const server = net.createServer((socket) => {
    const parser = new FrameParser({
      maxFrame: 1 << 24,
      onError: () => socket.destroy(),
      onFrame: (f) => {
        switch (f.type) {
          case FrameType.HELLO:
            socket.write(msg.encodeHelloOk(f.requestId, { version: 1, maxFrame: 1 << 20, epoch: Buffer.alloc(16, 3), resumed: false, readOnly: false }));
            return;
          case FrameType.MAP:
            const mapped = msg.encodeMapped(f.requestId, { mapId: 1, offset: 0, length: SIZE, fileSize: SIZE, version: state.version, writable: true });
            const extra = state.afterMapped?.(1) ?? [];
            state.afterMapped = undefined;
            socket.write(Buffer.concat([mapped, ...extra]));
            return;
          case FrameType.READ: {
            state.reads++;
            const r = msg.decodeRead(f.payload);
            const before = [...(state.held ?? []), ...(state.beforeData?.(r.mapId) ?? [])];
            state.held = [];
            state.beforeData = undefined;
            const data = msg.encodeData(f.requestId, state.version, state.bytes.subarray(r.start, r.end));
            const extra = state.extraAfterData?.(r.mapId) ?? [];
            state.extraAfterData = undefined;
            socket.write(Buffer.concat([...before, data, ...extra]));
            return;
          }
          case FrameType.WRITE: {
            const w = msg.decodeWrite(f.payload);
            w.data.copy(state.bytes, w.start);
            state.version++;
            const wrote = msg.encodeVersion(FrameType.WROTE, f.requestId, state.version);
            if (state.holdWrote === true) (state.held ??= []).push(wrote);
            else socket.write(wrote);
            return;
          }
          case FrameType.UNMAP:
          case FrameType.SYNC:
            socket.write(msg.encodeEmpty(FrameType.OK, f.requestId));
            return;
          default:
            socket.write(msg.encodeError(f.requestId, 'ERR_RMMAP_UNKNOWN_TYPE', 'no'));
        }
      },
    });
    socket.on('data', (c: Buffer) => parser.push(c));
    socket.on('error', () => {});
  });
  return server;
}

test('a NOTIFY in the same read as the DATA before it invalidates the freshly cached pages', async () => {
  const state = { bytes: Buffer.alloc(SIZE, 0x61), version: 0, reads: 0 } as ScriptState;
  const server = scriptedServer(state);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const m = await rmmap({ host: '127.0.0.1', port, path: 'x' }, 0, SIZE);
  try {
    // The DATA carries 'a's; right behind it a NOTIFY says bytes 0..4 changed (to 'b's).
    state.extraAfterData = (mapId) => {
      state.bytes.fill(0x62, 0, 4);
      state.version++;
      return [msg.encodeNotify({ mapId, start: 0, end: 4, version: state.version })];
    };
    expect((await m.read(0, 4)).toString()).toBe('aaaa'); // the read itself saw the older snapshot
    expect(m.readCached(0, 4)).toBeUndefined(); // but the cache dropped it
    expect((await m.read(0, 4)).toString()).toBe('bbbb');
    expect(state.reads).toBe(2);
  } finally {
    await m.unmap();
    await new Promise((r) => server.close(r));
  }
});

test('a DATA in the same read as our WROTE does not get that (already applied) write laid over it', async () => {
  const state: ScriptState = { bytes: Buffer.alloc(SIZE, 0x61), version: 0, reads: 0, holdWrote: true };
  const server = scriptedServer(state);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  // Small pages: the whole DATA fits in the same socket read as the WROTE.
  const m = await rmmap({ host: '127.0.0.1', port, path: 'x' }, 0, SIZE, { pageSize: 4096 });
  try {
    // Our write is applied; then another writer changes the same byte; the
    // client gets WROTE, NOTIFY and the DATA of its read in one piece.
    state.beforeData = (mapId) => {
      state.bytes[0] = 0x5a;
      state.version++;
      return [msg.encodeNotify({ mapId, start: 0, end: 1, version: state.version })];
    };
    const w = m.write(0, Buffer.from('W'));
    const r = m.read(0, 4);
    await w;
    expect((await r).toString()).toBe('Zaaa');
    // The cache holds what the server had at the READ: the other writer's byte.
    expect(m.readCached(0, 4)?.toString()).toBe('Zaaa');
  } finally {
    await m.unmap();
    await new Promise((r) => server.close(r));
  }
});

test('a NOTIFY in the same read as the MAPPED reaches the new mapping', async () => {
  const state: ScriptState = { bytes: Buffer.alloc(SIZE, 0x61), version: 0, reads: 0 };
  state.afterMapped = (mapId) => [msg.encodeNotify({ mapId, start: 10, end: 20, version: 1 })];
  const server = scriptedServer(state);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const m = await rmmap({ host: '127.0.0.1', port, path: 'x' }, 0, SIZE);
  try {
    // The event fired before rmmap() resolved, so no listener saw it; the version did.
    expect(m.version).toBe(1);
  } finally {
    await m.unmap();
    await new Promise((r) => server.close(r));
  }
});
