// The bench's tuned-socket framing and checksums: a baseline that drops or
// garbles a frame would make every ratio against it meaningless.
import { addTo, expectedSum, stamp } from '../bench/checksum';
import { FrameParser } from '../bench/frames';

function frames(sizes: number[]): Buffer {
  return Buffer.concat(
    sizes.map((n, i) => {
      const f = Buffer.alloc(4 + n, 0xab);
      f.writeUInt32LE(n, 0);
      stamp(f.subarray(4), i);
      return f;
    }),
  );
}

describe('bench framing', () => {
  test('frames split anywhere across chunks (length headers included) all arrive, in order, with the right sum', () => {
    const sizes = Array.from({ length: 300 }, (_, i) => 5 + ((i * 37) % 200));
    const stream = frames(sizes);
    for (const chunk of [1, 2, 3, 5, 64, 199, 4096]) {
      let sum = 0;
      const lens: number[] = [];
      const p = new FrameParser(256, (buf, start, len) => {
        sum = addTo(sum, buf, start, len);
        lens.push(len);
      });
      for (let at = 0; at < stream.length; at += chunk) p.push(stream.subarray(at, at + chunk));
      expect(lens).toEqual(sizes);
      expect(sum).toBe(expectedSum(sizes.length));
    }
  });

  test('a frame longer than the limit is an error, not an allocation', () => {
    const p = new FrameParser(16, () => undefined);
    expect(() => p.push(frames([17]))).toThrow(/exceeds the 16-byte limit/);
    const q = new FrameParser(16, () => undefined);
    const f = frames([17]);
    q.push(f.subarray(0, 2));
    expect(() => q.push(f.subarray(2))).toThrow(/exceeds the 16-byte limit/);
  });

  test('the checksum notices a lost, repeated or changed message', () => {
    const msgs = Array.from({ length: 10 }, (_, i) => {
      const m = Buffer.alloc(64);
      stamp(m, i);
      return m;
    });
    const sum = (ms: Buffer[]) => ms.reduce((s, m) => addTo(s, m, 0, m.length), 0);
    expect(sum(msgs)).toBe(expectedSum(10));
    expect(sum(msgs.slice(1))).not.toBe(expectedSum(10));
    expect(sum([...msgs.slice(0, 9), msgs[8] as Buffer])).not.toBe(expectedSum(10));
    const changed = msgs.map((m) => Buffer.from(m));
    const third = changed[3] as Buffer;
    third[63] = (third[63] as number) ^ 1;
    expect(sum(changed)).not.toBe(expectedSum(10));
  });
});
