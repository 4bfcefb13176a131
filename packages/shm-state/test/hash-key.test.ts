import { KeyEncoder, fnv1a } from '../src/hash-key';

describe('KeyEncoder', () => {
  const enc = new KeyEncoder(16);

  test.each([['ascii key'], ['ключ'], ['日本語キー'], ['']])('%j: the bytes, length and hash of its UTF-8 encoding', (key) => {
    const utf8 = Buffer.from(key);
    const k = enc.encode(key);
    expect(enc.len).toBe(utf8.length);
    expect(Buffer.from(k.subarray(0, enc.len))).toEqual(utf8);
    expect(enc.hash).toBe(fnv1a(utf8, utf8.length));
  });

  test('a byte key is used as it is, hashed the same as the string', () => {
    const bytes = Buffer.from('ascii key');
    expect(enc.encode(bytes)).toBe(bytes);
    expect(enc.hash).toBe(fnv1a(bytes, bytes.length));
    enc.encode('ascii key');
    expect(enc.hash).toBe(fnv1a(bytes, bytes.length));
  });

  test('a key longer than maxLen bytes throws ERR_SHM_STATE_MESSAGE_TOO_LARGE (ASCII, UTF-8 and bytes)', () => {
    for (const key of ['x'.repeat(17), 'é'.repeat(9), '日'.repeat(20), Buffer.alloc(17)]) {
      expect(() => enc.encode(key)).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_MESSAGE_TOO_LARGE' }));
    }
    // 16 bytes exactly fit.
    expect(() => enc.encode('é'.repeat(8))).not.toThrow();
    expect(enc.len).toBe(16);
  });
});
