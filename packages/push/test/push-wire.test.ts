import { PushStatus } from '../src/codes';
import { HEADER_FIXED_LEN, MAX_REPLY_MESSAGE_LEN, REPLY_MAGIC } from '../src/constants';
import { parseDestination } from '../src/destination';
import { nameProblem } from '../src/names';
import { PushError } from '../src/errors';
import { RmmapError } from '@shmkit/rmmap/errors';
import { decodeHeaderFixed, decodeName, decodeTrailer, encodeHeader, encodeReply, encodeTrailer, ReplyParser } from '../src/wire';

describe('push header', () => {
  it('round-trips name, size and checksum', () => {
    const b = encodeHeader({ name: 'data.bin', size: 2 ** 40 + 7, checksum: 1 });
    expect(b.length).toBe(HEADER_FIXED_LEN + 8);
    const h = decodeHeaderFixed(b.subarray(0, HEADER_FIXED_LEN), Number.MAX_SAFE_INTEGER);
    expect(h).toEqual({ ok: true, checksum: 1, nameLen: 8, tokenLen: 0, size: 2 ** 40 + 7 });
    expect(decodeName(b.subarray(HEADER_FIXED_LEN))).toBe('data.bin');
  });

  it('carries a token after the name', () => {
    const b = encodeHeader({ name: 'n', size: 0, checksum: 2, token: Buffer.from('s3cret') });
    expect(decodeHeaderFixed(b, 10)).toEqual({ ok: true, checksum: 2, nameLen: 1, tokenLen: 6, size: 0 });
    expect(b.subarray(HEADER_FIXED_LEN + 1).toString()).toBe('s3cret');
    expect(() => encodeHeader({ name: 'n', size: 0, checksum: 1, token: Buffer.alloc(256) })).toThrow(RangeError);
  });

  it('refuses a stranger, a future version, an unknown checksum and an empty name', () => {
    const good = encodeHeader({ name: 'x', size: 1, checksum: 1 });
    const mutate = (at: number, value: number) => {
      const b = Buffer.from(good);
      b[at] = value;
      return decodeHeaderFixed(b, 100);
    };
    expect(mutate(0, 0x47)).toMatchObject({ ok: false, status: PushStatus.BAD_HEADER });
    expect(mutate(5, 2)).toMatchObject({ ok: false, status: PushStatus.UNSUPPORTED_VERSION });
    expect(mutate(6, 99)).toMatchObject({ ok: false, status: PushStatus.BAD_HEADER, message: expect.stringContaining('checksum') });
    expect(mutate(7, 0)).toMatchObject({ ok: false, status: PushStatus.BAD_NAME });
    expect(mutate(17, 1)).toMatchObject({ ok: false, status: PushStatus.BAD_HEADER, message: expect.stringContaining('reserved') });
    expect(mutate(19, 1)).toMatchObject({ ok: false, status: PushStatus.BAD_HEADER });
  });

  it('bounds the size before anything is allocated', () => {
    const b = encodeHeader({ name: 'x', size: 101, checksum: 1 });
    expect(decodeHeaderFixed(b, 100)).toMatchObject({ ok: false, status: PushStatus.TOO_LARGE, message: expect.stringContaining('--max-size') });
    b.writeBigUInt64BE(2n ** 64n - 1n, 8);
    expect(decodeHeaderFixed(b, Number.MAX_SAFE_INTEGER)).toMatchObject({ ok: false, status: PushStatus.TOO_LARGE });
  });

  it('rejects names that are not UTF-8', () => {
    expect(decodeName(Buffer.from([0x61, 0xff, 0x62]))).toBeNull();
    expect(decodeName(Buffer.from('ünï', 'utf8'))).toBe('ünï');
  });
});

describe('push trailer', () => {
  it('carries the digest behind its magic', () => {
    const digest = Buffer.alloc(32, 0xab);
    expect(decodeTrailer(encodeTrailer(digest), 1)).toEqual(digest);
    const bad = encodeTrailer(digest);
    bad[0] = 0;
    expect(decodeTrailer(bad, 1)).toBeNull();
    expect(decodeTrailer(encodeTrailer(Buffer.alloc(4)), 1)).toBeNull();
  });
});

describe('ReplyParser', () => {
  const stream = Buffer.concat([encodeReply(PushStatus.READY, ''), encodeReply(PushStatus.STORED, 'a.bin 3 sha256:00'), encodeReply(PushStatus.EXISTS, 'ñ already there')]);
  const expected = [
    { status: PushStatus.READY, message: '' },
    { status: PushStatus.STORED, message: 'a.bin 3 sha256:00' },
    { status: PushStatus.EXISTS, message: 'ñ already there' },
  ];

  it('decodes the same replies however the bytes are split', () => {
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b += 3) {
        const p = new ReplyParser();
        const got = [...p.push(stream.subarray(0, a)), ...p.push(stream.subarray(a, b)), ...p.push(stream.subarray(b))];
        expect(got).toEqual(expected);
      }
    }
  });

  it('decodes byte by byte', () => {
    const p = new ReplyParser();
    const got = [...stream].flatMap((byte) => p.push(Buffer.from([byte])));
    expect(got).toEqual(expected);
  });

  it('rejects bytes that are not replies, and oversized messages, with ERR_RMMAP_PUSH_BAD_REPLY', () => {
    const p = new ReplyParser();
    const err = (() => {
      try {
        p.push(Buffer.from('HTTP/1.1 200 OK\r\n'));
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(PushError);
    expect(err).toBeInstanceOf(RmmapError);
    expect(err).toMatchObject({ code: 'ERR_RMMAP_PUSH_BAD_REPLY' });
    const big = Buffer.alloc(8);
    big.writeUInt32BE(REPLY_MAGIC, 0);
    big.writeUInt16BE(MAX_REPLY_MESSAGE_LEN + 1, 6);
    expect(() => new ReplyParser().push(big)).toThrow(expect.objectContaining({ code: 'ERR_RMMAP_PUSH_BAD_REPLY' }));
  });

  it('truncates a long message when encoding instead of breaking the frame', () => {
    const r = new ReplyParser().push(encodeReply(PushStatus.IO_ERROR, 'x'.repeat(5000)));
    expect(r[0]?.message.length).toBe(MAX_REPLY_MESSAGE_LEN);
  });
});

describe('nameProblem', () => {
  it.each([
    ['', 'empty'],
    ['.', 'directory'],
    ['..', 'directory'],
    ['../etc/passwd', '/'],
    ['a/b', '/'],
    ['/abs', '/'],
    ['a\\b', '\\'],
    ['a\nb', 'control'],
    ['nul\u0000byte', 'control'],
    ['x'.repeat(256), '256 bytes'],
    ['é'.repeat(128), '256 bytes'],
    ['.rmmap-push-1-ab.part', 'reserved'],
    ['-rf', '"-"'],
  ])('refuses %j (%s)', (name, why) => {
    expect(nameProblem(name)).toContain(why);
  });

  it.each(['data.bin', 'ünïcödé.txt', '.hidden', 'x'.repeat(255), 'a b c'])('accepts %j', (name) => {
    expect(nameProblem(name)).toBeNull();
  });
});

describe('parseDestination', () => {
  it('parses HOST:PORT and [IPv6]:PORT', () => {
    expect(parseDestination('10.0.0.2:7879')).toEqual({ host: '10.0.0.2', port: 7879, label: '10.0.0.2:7879' });
    expect(parseDestination('example.org:1')).toMatchObject({ host: 'example.org', port: 1 });
    expect(parseDestination('[::1]:65535')).toMatchObject({ host: '::1', port: 65535 });
  });

  it.each(['host', 'host:', ':80', 'host:0', 'host:65536', 'host:http', '::1:80', 'a:b:c'])('rejects %j with ERR_RMMAP_PUSH_BAD_DESTINATION', (text) => {
    expect(() => parseDestination(text)).toThrow(expect.objectContaining({ code: 'ERR_RMMAP_PUSH_BAD_DESTINATION' }));
  });
});
