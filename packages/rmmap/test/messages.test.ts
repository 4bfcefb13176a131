import fc from 'fast-check';

import { FrameType, HEADER_BYTES, MAGIC, WireError } from '../src/constants';
import { RmmapProtocolError } from '../src/errors';
import * as msg from '../src/messages';

const body = (frame: Buffer): Buffer => frame.subarray(HEADER_BYTES);

describe('message bodies', () => {
  test('HELLO round trip and validation', () => {
    const session = Buffer.alloc(16, 7);
    const h = msg.decodeHello(body(msg.encodeHello(0, session, Buffer.from('secret'))));
    expect(h).toEqual({ magic: MAGIC, version: 1, session, token: Buffer.from('secret') });
    const bad = msg.encodeHello(0, session, Buffer.alloc(0));
    bad.writeUInt32BE(0xdeadbeef, HEADER_BYTES);
    expect(() => msg.decodeHello(body(bad))).toThrow(/invalid HELLO/);
  });

  test('MAP round trip; NUL, oversize and truncated paths are refused', () => {
    const m = { offset: 4096, length: 10, writable: true, path: 'dir/ä.bin' };
    expect(msg.decodeMap(body(msg.encodeMap(1, m)))).toEqual(m);
    expect(() => msg.decodeMap(body(msg.encodeMap(1, { ...m, path: 'a\0b' })))).toThrow(RmmapProtocolError);
    const long = Buffer.alloc(8 + 8 + 1 + 2);
    long.writeUInt16BE(5000, 17);
    expect(() => msg.decodeMap(long)).toThrow(/4096/);
    const trunc = body(msg.encodeMap(1, m)).subarray(0, 20);
    expect(() => msg.decodeMap(trunc)).toThrow(/truncated/);
  });

  test('u64 fields above 2^53 are refused', () => {
    const b = body(msg.encodeRead(1, 1, 0, 10));
    b.writeBigUInt64BE(1n << 60n, 12);
    expect(() => msg.decodeRead(b)).toThrow(expect.objectContaining({ code: 'ERR_RMMAP_BAD_FRAME' }));
  });

  test('u64 fields above 2^32 survive a round trip', () => {
    const mapped = { mapId: 1, offset: 2 ** 40 + 3, length: 2 ** 33, fileSize: Number.MAX_SAFE_INTEGER, version: 2 ** 32, writable: true };
    expect(msg.decodeMapped(body(msg.encodeMapped(1, mapped)))).toEqual(mapped);
    const b = body(msg.encodeRead(1, 1, 0, 2 ** 45));
    expect(b.readBigUInt64BE(12)).toBe(2n ** 45n);
  });

  test('READ with start > end and mapping id 0 are refused', () => {
    expect(() => msg.decodeRead(body(msg.encodeRead(1, 1, 10, 5)))).toThrow(/start must not exceed end/);
    expect(() => msg.decodeRead(body(msg.encodeRead(1, 0, 0, 5)))).toThrow(RmmapProtocolError);
  });

  test('trailing bytes are refused', () => {
    const b = Buffer.concat([body(msg.encodeMapIdBody(FrameType.UNMAP, 1, 5)), Buffer.from([1])]);
    expect(() => msg.decodeMapIdBody(b, 'UNMAP', false)).toThrow(/trailing/);
  });

  test('ERROR, MAPPED, NOTIFY, DATA, HELLO_OK round trips', () => {
    expect(msg.decodeError(body(msg.encodeError(3, 'ERR_RMMAP_AUTH', 'nope')))).toEqual({ code: WireError.ERR_RMMAP_AUTH, message: 'nope' });
    const mapped = { mapId: 9, offset: 1, length: 2, fileSize: 3, version: 4, writable: false };
    expect(msg.decodeMapped(body(msg.encodeMapped(1, mapped)))).toEqual(mapped);
    const n = { mapId: 2, start: 5, end: 9, version: 77 };
    expect(msg.decodeNotify(body(msg.encodeNotify(n)))).toEqual(n);
    expect(msg.decodeData(body(msg.encodeData(1, 12, Buffer.from('abc'))))).toEqual({ version: 12, data: Buffer.from('abc') });
    const ok = { version: 1, maxFrame: 65536, epoch: Buffer.alloc(16, 1), resumed: true, readOnly: false };
    expect(msg.decodeHelloOk(body(msg.encodeHelloOk(0, ok)))).toEqual(ok);
  });

  test('decoders given random bytes either decode or throw ERR_RMMAP_BAD_FRAME', () => {
    const decoders: ((b: Buffer) => unknown)[] = [
      msg.decodeHello,
      msg.decodeHelloOk,
      msg.decodeMap,
      msg.decodeMapped,
      msg.decodeRead,
      msg.decodeWrite,
      msg.decodeNotify,
      msg.decodeError,
      msg.decodeData,
      (b) => msg.decodeVersion(b, 'WROTE'),
      (b) => msg.decodeMapIdBody(b, 'SYNC', true),
    ];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: 0, max: decoders.length - 1 }), (bytes, which) => {
        try {
          (decoders[which] as (b: Buffer) => unknown)(Buffer.from(bytes));
        } catch (e) {
          expect(e).toBeInstanceOf(RmmapProtocolError);
          expect((e as RmmapProtocolError).code).toBe('ERR_RMMAP_BAD_FRAME');
        }
      }),
      { numRuns: 2000 },
    );
  });
});
