import { copyOf, viewOf } from '../src/fast-buffers';

describe('fast Buffers', () => {
  const shared = Buffer.from(new SharedArrayBuffer(4096)).fill(0);
  const u8 = new Uint8Array(shared.buffer, shared.byteOffset, shared.length);
  for (let i = 0; i < shared.length; i++) shared[i] = i & 0xff;

  test('viewOf: a Buffer over the same bytes, no copy', () => {
    const v = viewOf(shared.buffer, 100, 16);
    expect(Buffer.isBuffer(v)).toBe(true);
    expect(v.length).toBe(16);
    expect(v.readUInt8(0)).toBe(100);
    v[0] = 7;
    expect(shared[100]).toBe(7);
    shared[100] = 100;
  });

  test.each([1, 64, 65, 1000])('copyOf %i bytes: a Buffer holding a copy', (len) => {
    const c = copyOf(shared, u8, 200, len);
    expect(Buffer.isBuffer(c)).toBe(true);
    expect(c.length).toBe(len);
    expect(c.equals(shared.subarray(200, 200 + len))).toBe(true);
    shared[200] = 0;
    expect(c[0]).toBe(200);
    shared[200] = 200;
  });
});
