import fc from 'fast-check';

import { FrameType, HEADER_BYTES, ParserState } from '../src/constants';
import * as msg from '../src/messages';
import { FrameParser, type RawFrame } from '../src/parser';

function collect(maxFrame = 1 << 20) {
  const frames: RawFrame[] = [];
  const errors: { code: string; message: string }[] = [];
  const parser = new FrameParser({
    maxFrame,
    onFrame: (f) => frames.push({ type: f.type, requestId: f.requestId, payload: Buffer.from(f.payload) }),
    onError: (e) => errors.push({ code: e.code, message: e.message }),
  });
  return { parser, frames, errors };
}

function rawFrame(type: number, id: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(9 + payload.length);
  b.writeUInt32BE(5 + payload.length, 0);
  b.writeUInt8(type, 4);
  b.writeUInt32BE(id, 5);
  payload.copy(b, 9);
  return b;
}

describe('FrameParser', () => {
  test('decodes a hand-built PING frame', () => {
    const { parser, frames, errors } = collect();
    parser.push(Buffer.from([0, 0, 0, 8, 0x07, 0, 0, 0, 42, 0xaa, 0xbb, 0xcc]));
    expect(errors).toEqual([]);
    expect(frames).toEqual([{ type: FrameType.PING, requestId: 42, payload: Buffer.from([0xaa, 0xbb, 0xcc]) }]);
    expect(parser.state).toBe(ParserState.LENGTH);
    expect(parser.buffered).toBe(0);
  });

  test('waits for the rest of a frame delivered one byte at a time', () => {
    const { parser, frames } = collect();
    const bytes = rawFrame(0x03, 7, Buffer.from('0123456789'));
    for (let i = 0; i < bytes.length - 1; i++) {
      parser.push(bytes.subarray(i, i + 1));
      expect(frames).toHaveLength(0);
    }
    parser.push(bytes.subarray(bytes.length - 1));
    expect(frames).toHaveLength(1);
    expect(frames[0]?.payload.toString()).toBe('0123456789');
  });

  test('payload inside one chunk is a view, not a copy', () => {
    const seen: Buffer[] = [];
    const parser = new FrameParser({ maxFrame: 1024, onFrame: (f) => seen.push(f.payload), onError: () => {} });
    const chunk = rawFrame(0x07, 1, Buffer.from('abcd'));
    parser.push(chunk);
    expect(seen[0]?.buffer).toBe(chunk.buffer);
  });

  test('a 4 GB length field is refused before any allocation', () => {
    const { parser, frames, errors } = collect(1 << 20);
    parser.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x04, 0, 0, 0, 1]));
    expect(frames).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe('ERR_RMMAP_FRAME_TOO_LARGE');
    expect(errors[0]?.message).toContain('4294967295');
    expect(parser.state).toBe(ParserState.FAILED);
    expect(parser.buffered).toBe(0);
    // Everything after a fatal error is ignored.
    parser.push(rawFrame(0x07, 2, Buffer.alloc(0)));
    expect(frames).toEqual([]);
    expect(errors).toHaveLength(1);
  });

  test('a length shorter than the header is a bad frame', () => {
    const { parser, errors } = collect();
    parser.push(Buffer.from([0, 0, 0, 4, 1, 2, 3, 4]));
    expect(errors[0]?.code).toBe('ERR_RMMAP_BAD_FRAME');
  });

  test('the limit can be raised after the handshake', () => {
    const { parser, frames, errors } = collect(16);
    parser.maxFrame = 4096;
    parser.push(rawFrame(0x07, 1, Buffer.alloc(1000)));
    expect(errors).toEqual([]);
    expect(frames).toHaveLength(1);
  });

  test('any split of a frame sequence yields the same frames (fast-check)', () => {
    const frameArb = fc.record({
      type: fc.integer({ min: 0, max: 255 }),
      id: fc.integer({ min: 0, max: 0xffffffff }),
      payload: fc.uint8Array({ maxLength: 300 }),
    });
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 8 }), fc.array(fc.integer({ min: 0, max: 4000 }), { maxLength: 12 }), (list, cuts) => {
        const bytes = Buffer.concat(list.map((f) => rawFrame(f.type, f.id, Buffer.from(f.payload))));
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const { parser, frames, errors } = collect();
        let at = 0;
        for (const p of [...points, bytes.length]) {
          parser.push(bytes.subarray(at, p));
          at = p;
        }
        expect(errors).toEqual([]);
        expect(frames.map((f) => [f.type, f.requestId, Buffer.from(f.payload).toString('hex')])).toEqual(
          list.map((f) => [f.type, f.id, Buffer.from(f.payload).toString('hex')]),
        );
      }),
      { numRuns: 300 },
    );
  });

  test('transient chunks: reused input buffers never corrupt frames (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ id: fc.integer({ min: 0, max: 1000 }), size: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 60_000, max: 200_000 })) }), { maxLength: 5 }),
        fc.integer({ min: 1, max: 70_000 }),
        (list, readSize) => {
          const frames = list.map((f) => rawFrame(0x83, f.id, Buffer.alloc(f.size, f.id & 0xff)));
          const bytes = Buffer.concat(frames);
          const got: { id: number; len: number; ok: boolean; owned: boolean }[] = [];
          const kept: RawFrame[] = [];
          const parser = new FrameParser({
            maxFrame: 1 << 20,
            onFrame: (f) => {
              got.push({ id: f.requestId, len: f.payload.length, ok: f.payload.every((b) => b === (f.requestId & 0xff)), owned: f.owned !== false });
              if (f.owned !== false) kept.push(f);
            },
            onError: (e) => {
              throw e;
            },
          });
          // One reused read buffer, scribbled over after every push, like a socket's onread buffer.
          const readBuf = Buffer.alloc(readSize);
          for (let at = 0; at < bytes.length; at += readSize) {
            const n = bytes.copy(readBuf, 0, at, Math.min(bytes.length, at + readSize));
            parser.push(readBuf.subarray(0, n), true);
            readBuf.fill(0xee);
          }
          expect(got.map((g) => [g.id, g.len, g.ok])).toEqual(list.map((f) => [f.id, f.size, true]));
          // Frames delivered as owned are still intact after the buffer was reused.
          for (const f of kept) expect(f.payload.every((b) => b === (f.requestId & 0xff))).toBe(true);
          // A frame body (type, request id, payload: 5 + len bytes) larger than one
          // read cannot lie inside a single read, so it is always gathered into its
          // own buffer. (Its 4-byte length prefix may have come in the read before.)
          for (const g of got) if (g.len + 5 > readSize) expect(g.owned).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  test('bodyBuffer: a big frame is gathered into the offered buffer', () => {
    const offered = Buffer.alloc(200_000);
    const asked: [number, number, number][] = [];
    let payload: Buffer | undefined;
    const parser = new FrameParser({
      maxFrame: 1 << 20,
      onFrame: (f) => (payload = f.payload),
      onError: (e) => {
        throw e;
      },
      bodyBuffer: (type, id, length) => {
        asked.push([type, id, length]);
        return offered;
      },
    });
    const bytes = rawFrame(0x83, 77, Buffer.alloc(100_000, 5));
    // The type and request id arrive split across pushes.
    parser.push(bytes.subarray(0, 6));
    parser.push(bytes.subarray(6, 50_000));
    parser.push(bytes.subarray(50_000));
    expect(asked).toEqual([[0x83, 77, 100_005]]);
    expect(payload?.buffer).toBe(offered.buffer);
    expect(payload?.length).toBe(100_000);
    expect(payload?.every((b) => b === 5)).toBe(true);
  });

  test('random bytes never throw out of push, and errors carry a code', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), (chunks) => {
        const { parser, errors } = collect(256);
        for (const c of chunks) parser.push(Buffer.from(c));
        for (const e of errors) expect(['ERR_RMMAP_BAD_FRAME', 'ERR_RMMAP_FRAME_TOO_LARGE']).toContain(e.code);
        expect(errors.length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 500 },
    );
  });

  test('encoders produce frames the parser reads back', () => {
    const { parser, frames } = collect();
    const w = msg.encodeWrite(9, 3, 1, 100, Buffer.from('xyz'));
    parser.push(w);
    expect(frames[0]?.type).toBe(FrameType.WRITE);
    expect(msg.decodeWrite(frames[0]?.payload as Buffer)).toEqual({ mapId: 3, lowWater: 1, start: 100, data: Buffer.from('xyz') });
    expect(w.length).toBe(HEADER_BYTES + 16 + 3);
  });
});
