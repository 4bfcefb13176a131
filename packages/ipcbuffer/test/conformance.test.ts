// Buffer conformance, table-driven: the same assertions run on Buffer.alloc
// (the first row proves the assertions) and on every IPCBuffer kind.
import assert from 'node:assert';
import { transcode } from 'node:buffer';
import util from 'node:util';

import { cleanup, kinds, removeTmp } from './kinds';

afterEach(cleanup);
afterAll(removeTmp);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).name;
  }
  return undefined;
}

describe.each(kinds)('%s', (_label, make) => {
  test('is a real, zero-filled Buffer', () => {
    const b = make(64);
    expect(Buffer.isBuffer(b)).toBe(true);
    expect(b instanceof Buffer).toBe(true);
    expect(b instanceof Uint8Array).toBe(true);
    expect(Object.getPrototypeOf(b)).toBe(Buffer.prototype);
    expect(b.length).toBe(64);
    expect(b.byteLength).toBe(64);
    expect(b.every((x) => x === 0)).toBe(true);
    expect(Object.keys(b)).toHaveLength(64);
    expect(Object.keys(b)[63]).toBe('63');
  });

  test('write / toString in every encoding', () => {
    const b = make(64);
    expect(b.write('héllo')).toBe(6);
    expect(b.toString('utf8', 0, 6)).toBe('héllo');
    expect(b.write('ff00aa', 10, 'hex')).toBe(3);
    expect(b.toString('hex', 10, 13)).toBe('ff00aa');
    expect(b.write('aGk=', 20, 'base64')).toBe(2);
    expect(b.toString('base64', 20, 22)).toBe('aGk=');
    expect(b.toString('base64url', 20, 22)).toBe('aGk');
    expect(b.write('ÿ', 30, 'latin1')).toBe(1);
    expect(b[30]).toBe(0xff);
    expect(b.write('ab', 40, 'ucs2')).toBe(4);
    expect(b.toString('utf16le', 40, 44)).toBe('ab');
    expect(b.toString('ascii', 0, 1)).toBe('h');
    expect(b.write('xyz', 62)).toBe(2); // truncated at the end
    expect(b.toString('latin1', 62)).toBe('xy');
    expect(b.toLocaleString()).toBe(b.toString());
  });

  test('read* / write* for every width and byte order', () => {
    const b = make(64);
    expect(b.writeUInt8(0xab, 0)).toBe(1);
    expect(b.writeUInt16LE(0x1234, 1)).toBe(3);
    expect(b.writeUInt16BE(0x1234, 3)).toBe(5);
    expect(b.writeUInt32LE(0xdeadbeef, 5)).toBe(9);
    expect(b.writeUInt32BE(0xdeadbeef, 9)).toBe(13);
    expect(b.writeInt32LE(-2, 13)).toBe(17);
    expect(b.writeBigInt64LE(-3n, 17)).toBe(25);
    expect(b.writeBigUInt64BE(2n ** 63n, 25)).toBe(33);
    expect(b.writeFloatLE(1.5, 33)).toBe(37);
    expect(b.writeDoubleBE(Math.PI, 37)).toBe(45);
    expect(b.writeUIntLE(0x123456, 45, 3)).toBe(48);
    expect(b.writeIntBE(-0x123456, 48, 3)).toBe(51);
    expect(b.writeInt8(-1, 51)).toBe(52);
    expect(b.writeInt16BE(-300, 52)).toBe(54);
    expect(b.readUInt8(0)).toBe(0xab);
    expect(b.readUInt16LE(1)).toBe(0x1234);
    expect(b.readUint16BE(3)).toBe(0x1234);
    expect(b.readUInt32LE(5)).toBe(0xdeadbeef);
    expect(b.readUInt32BE(9)).toBe(0xdeadbeef);
    expect(b.readInt32LE(13)).toBe(-2);
    expect(b.readBigInt64LE(17)).toBe(-3n);
    expect(b.readBigUInt64BE(25)).toBe(2n ** 63n);
    expect(b.readFloatLE(33)).toBe(1.5);
    expect(b.readDoubleBE(37)).toBe(Math.PI);
    expect(b.readUIntLE(45, 3)).toBe(0x123456);
    expect(b.readIntBE(48, 3)).toBe(-0x123456);
    expect(b.readInt8(51)).toBe(-1);
    expect(b.readInt16BE(52)).toBe(-300);
    expect(b.toString('hex', 1, 9)).toBe('34121234efbeadde');
  });

  test('bounds and value errors carry the same codes as Buffer', () => {
    const b = make(8);
    expect(codeOf(() => b.readUInt32LE(5))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => b.readUInt8(8))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => b.writeUInt8(256, 0))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => b.writeUInt32LE(1, 6))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => b.readBigInt64LE(1))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => b.readUInt8(-1))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => b.readUInt8('0' as unknown as number))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => b.subarray(0, 6).swap32())).toBe('ERR_INVALID_BUFFER_SIZE');
    expect(codeOf(() => b.fill('zz', 'hex'))).toBe('ERR_INVALID_ARG_VALUE');
    expect(b[8]).toBeUndefined();
    b[8] = 1; // out-of-range index writes are ignored, as on typed arrays
    expect(b.length).toBe(8);
    b[0] = 300; // values wrap modulo 256
    expect(b[0]).toBe(44);
    b[1] = -1;
    expect(b[1]).toBe(255);
  });

  test('fill', () => {
    const b = make(16);
    expect(b.fill(7)).toBe(b);
    expect(b.every((x) => x === 7)).toBe(true);
    b.fill('ab', 2, 7);
    expect(b.toString('latin1', 2, 7)).toBe('ababa');
    b.fill('é', 8, 12);
    expect(b.subarray(8, 12)).toEqual(Buffer.from('éé'));
    b.fill('0102', 12, 16, 'hex');
    expect([...b.subarray(12)]).toEqual([1, 2, 1, 2]);
    b.fill(0);
    expect(b.every((x) => x === 0)).toBe(true);
  });

  test('indexOf / lastIndexOf / includes', () => {
    const b = make(32);
    b.write('abcabc-needle-abc');
    expect(b.indexOf('abc')).toBe(0);
    expect(b.indexOf('abc', 1)).toBe(3);
    expect(b.lastIndexOf('abc')).toBe(14);
    expect(b.indexOf(Buffer.from('needle'))).toBe(7);
    expect(b.indexOf(0x2d)).toBe(6);
    expect(b.indexOf('nope')).toBe(-1);
    expect(b.indexOf('6e6565', 0, 'hex')).toBe(7);
    expect(b.indexOf('abc', -5)).toBe(-1);
    expect(b.includes('needle')).toBe(true);
    expect(b.includes('needle', 8)).toBe(false);
    expect(b.indexOf(0, 20)).toBe(20);
  });

  test('equals / compare / Buffer.compare', () => {
    const b = make(8);
    b.write('bbbb');
    expect(b.equals(Buffer.from('bbbb\0\0\0\0'))).toBe(true);
    expect(b.equals(Buffer.from('bbbb'))).toBe(false);
    expect(b.compare(Buffer.from('a'))).toBe(1);
    expect(b.compare(Buffer.from('c'))).toBe(-1);
    expect(b.compare(Buffer.from('xbbx'), 1, 3, 0, 2)).toBe(0);
    expect(Buffer.compare(b, Buffer.alloc(8))).toBe(1);
    expect(Buffer.compare(Buffer.alloc(8), b)).toBe(-1);
    expect([Buffer.from('c'), b, Buffer.from('a')].sort(Buffer.compare).map((x) => x.toString('latin1', 0, 1))).toEqual(['a', 'b', 'c']);
  });

  test('copy, set and concat, including overlapping copies', () => {
    const b = make(16);
    expect(Buffer.from('0123456789').copy(b)).toBe(10);
    expect(b.toString('latin1', 0, 10)).toBe('0123456789');
    expect(b.copy(b, 2, 0, 6)).toBe(6); // overlap: memmove semantics
    expect(b.toString('latin1', 0, 10)).toBe('0101234589');
    const out = Buffer.alloc(4);
    expect(b.copy(out, 0, 12)).toBe(4);
    expect(b.copy(out, 0, 0, 2)).toBe(2);
    expect(out.toString('latin1', 0, 2)).toBe('01');
    b.set([9, 8, 7], 13);
    expect([...b.subarray(13)]).toEqual([9, 8, 7]);
    const joined = Buffer.concat([b.subarray(0, 2), Buffer.from('x'), b.subarray(13)]);
    expect([...joined]).toEqual([48, 49, 120, 9, 8, 7]);
    expect(Buffer.concat([b], 3).length).toBe(3);
  });

  test('slice / subarray share memory and are plain Buffers', () => {
    const b = make(16);
    const s = b.subarray(4, 8);
    const l = b.slice(-4);
    s[0] = 1;
    l[3] = 2;
    expect(b[4]).toBe(1);
    expect(b[15]).toBe(2);
    expect(Buffer.isBuffer(s) && Buffer.isBuffer(l)).toBe(true);
    expect(Object.getPrototypeOf(s)).toBe(Buffer.prototype);
    expect(s.length).toBe(4);
    expect(b.subarray(10, 2).length).toBe(0);
    expect(Buffer.from(b).equals(b)).toBe(true);
    const copy = Buffer.from(b);
    copy[4] = 99;
    expect(b[4]).toBe(1); // Buffer.from copies
    expect(b.buffer).toBeInstanceOf(ArrayBuffer);
  });

  test('toJSON, JSON, inspect and deep equality see a plain Buffer', () => {
    const b = make(4);
    b.write('\x01\x02\x03\x04', 'latin1');
    expect(b.toJSON()).toEqual({ type: 'Buffer', data: [1, 2, 3, 4] });
    expect(JSON.stringify(b)).toBe('{"type":"Buffer","data":[1,2,3,4]}');
    expect(util.inspect(b)).toBe('<Buffer 01 02 03 04>');
    assert.deepStrictEqual(b, Buffer.from([1, 2, 3, 4]));
    expect(util.isDeepStrictEqual(b, Buffer.from([1, 2, 3, 5]))).toBe(false);
    expect(b).toEqual(Buffer.from([1, 2, 3, 4]));
    expect({ ...b }).toEqual({ 0: 1, 1: 2, 2: 3, 3: 4 });
  });

  test('swap16 / swap32 / swap64', () => {
    const b = make(16);
    for (let i = 0; i < 16; i++) b[i] = i;
    expect(b.swap16()).toBe(b);
    expect([...b.subarray(0, 4)]).toEqual([1, 0, 3, 2]);
    b.swap16().swap32();
    expect([...b.subarray(0, 8)]).toEqual([3, 2, 1, 0, 7, 6, 5, 4]);
    b.swap32().swap64();
    expect([...b.subarray(0, 8)]).toEqual([7, 6, 5, 4, 3, 2, 1, 0]);
  });

  test('iteration and typed-array methods', () => {
    const b = make(4);
    b.set([4, 3, 2, 1]);
    expect([...b]).toEqual([4, 3, 2, 1]);
    expect([...b.keys()]).toEqual([0, 1, 2, 3]);
    expect([...b.values()]).toEqual([4, 3, 2, 1]);
    expect([...b.entries()][1]).toEqual([1, 3]);
    const seen: number[] = [];
    for (const x of b) seen.push(x);
    expect(seen).toEqual([4, 3, 2, 1]);
    expect(Array.from(b)).toEqual([4, 3, 2, 1]);
    expect(b.at(-1)).toBe(1);
    const mapped = b.map((x) => x * 2);
    expect(Buffer.isBuffer(mapped)).toBe(true);
    expect([...mapped]).toEqual([8, 6, 4, 2]);
    expect(b.reduce((s, x) => s + x, 0)).toBe(10);
    b.sort();
    expect([...b]).toEqual([1, 2, 3, 4]);
    b.reverse();
    expect([...b]).toEqual([4, 3, 2, 1]);
    expect(b.find((x) => x < 3)).toBe(2);
    b.copyWithin(0, 2);
    expect([...b]).toEqual([2, 1, 2, 1]);
  });

  test('the rest of the API: defaults, more widths, byteLength, transcode, structuredClone, TextDecoder', () => {
    const b = make(32);
    expect(b.write('abcdef', 2, 3, 'latin1')).toBe(3);
    expect(b.toString().slice(0, 5)).toBe('\0\0abc');
    expect(String(b.subarray(2, 5))).toBe('abc');
    expect(Buffer.byteLength(b)).toBe(32);
    expect(b.writeUIntBE(0x010203, 8, 3)).toBe(11);
    expect(b.readUIntBE(8, 3)).toBe(0x010203);
    expect(b.readUIntLE(8, 3)).toBe(0x030201);
    expect(b.writeBigUInt64LE(2n ** 64n - 1n, 16)).toBe(24);
    expect(b.readBigUInt64LE(16)).toBe(2n ** 64n - 1n);
    expect(b.readBigInt64BE(16)).toBe(-1n);
    expect(b.writeFloatBE(-0.5, 24)).toBe(28);
    expect(b.readFloatBE(24)).toBe(-0.5);
    expect(b.writeUInt16LE(0xffff, 28)).toBe(30);
    expect(b.readInt16LE(28)).toBe(-1);
    expect(b.lastIndexOf(0xff, 27)).toBe(23);
    expect(b.includes(0x02)).toBe(true);
    expect(b.toString('hex', 8, 11)).toBe('010203');
    expect(transcode(b.subarray(2, 5), 'latin1', 'utf16le').toString('utf16le')).toBe('abc');
    const cloned = structuredClone(b.subarray(2, 5));
    expect(cloned).toBeInstanceOf(Uint8Array);
    expect(Array.from(cloned)).toEqual([97, 98, 99]);
    expect(new TextDecoder().decode(b.subarray(2, 5))).toBe('abc');
    const same = Buffer.from(b.buffer, b.byteOffset, b.length);
    same[0] = 0x7a;
    expect(b[0]).toBe(0x7a);
    expect(Buffer.from(b.buffer, b.byteOffset + 2, 3).toString()).toBe('abc');
  });

  test('Atomics and other views over the same memory', () => {
    const b = make(64);
    const words = new Int32Array(b.buffer, b.byteOffset, 16);
    Atomics.store(words, 1, 42);
    expect(b.readInt32LE(4)).toBe(42);
    expect(Atomics.add(words, 1, 1)).toBe(42);
    expect(Atomics.compareExchange(words, 1, 43, 7)).toBe(43);
    expect(b.readInt32LE(4)).toBe(7);
    const dv = new DataView(b.buffer, b.byteOffset, b.length);
    dv.setUint16(8, 0xbeef);
    expect(b.readUInt16BE(8)).toBe(0xbeef);
    expect(new TextDecoder().decode(b.subarray(0, 0))).toBe('');
  });
});
