// Interop with python-snappy (Debian's python3-snappy): its framed streams
// decompress with tinyfile and ours with it; raw blocks likewise.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { run } from './helpers/proc';
import { startDaemon, tinyfileCli, useTempSocket } from './tinyfile-helpers';

const PY = '/usr/bin/python3';
// Debian's python3-snappy 0.5.3 ships a C CRC-32C that raises SystemError
// (PY_SSIZE_T_CLEAN) on Python 3.11; replace it with a pure-Python one so
// the framing functions work. The raw block functions are unaffected.
const PY_HELPER = `
import sys, snappy, snappy.snappy as s
T = []
for n in range(256):
    c = n
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    T.append(c)
def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF
s._crc32c = crc32c
op, src, dst = sys.argv[1:4]
with open(src, 'rb') as f, open(dst, 'wb') as g:
    if op == 'stream_compress': snappy.stream_compress(f, g)
    elif op == 'stream_decompress': snappy.stream_decompress(f, g)
    elif op == 'compress': g.write(snappy.compress(f.read()))
    elif op == 'uncompress': g.write(snappy.uncompress(f.read()))
`;

function havePythonSnappy(): boolean {
  try {
    execFileSync(PY, ['-c', 'import snappy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function py(op: string, src: string, dst: string): void {
  execFileSync(PY, ['-c', PY_HELPER, op, src, dst], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
}

const t = useTempSocket();

function sample(): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < 40_000; i++) lines.push(`${i} the quick brown fox ${i % 13} jumps over ${i % 7} lazy dogs`);
  return Buffer.concat([Buffer.from(lines.join('\n')), crypto.randomBytes(200_000), Buffer.alloc(100_000)]);
}

const maybe = havePythonSnappy() ? test : test.skip;
if (!havePythonSnappy()) {
  // Loud, not silent: CI installs python3-snappy (.ci/run); a machine without it says so.
  console.warn('python3-snappy is missing: apt-get install python3-snappy to run the interop tests');
}

maybe('python stream_compress → tinyfile decompress, and tinyfile compress → python stream_decompress', async () => {
  await startDaemon(t.socket, ['--workers', '1']);
  const input = sample();
  const plain = path.join(t.dir, 'plain.txt');
  fs.writeFileSync(plain, input);

  py('stream_compress', plain, path.join(t.dir, 'py.sz'));
  const d = await run([tinyfileCli, '--socket', t.socket, 'decompress', path.join(t.dir, 'py.sz'), '-o', path.join(t.dir, 'from-py.txt')]);
  expect(d).toMatchObject({ status: 0 });
  expect(fs.readFileSync(path.join(t.dir, 'from-py.txt')).equals(input)).toBe(true);

  const c = await run([tinyfileCli, '--socket', t.socket, 'compress', plain, '-o', path.join(t.dir, 'ours.sz')]);
  expect(c).toMatchObject({ status: 0 });
  py('stream_decompress', path.join(t.dir, 'ours.sz'), path.join(t.dir, 'from-ours.txt'));
  expect(fs.readFileSync(path.join(t.dir, 'from-ours.txt')).equals(input)).toBe(true);
});

maybe('raw blocks: python compress → tinyfile decompress, and back', async () => {
  await startDaemon(t.socket, ['--workers', '1']);
  const { TinyFile } = await import('@shmkit/tinyfile');
  const tf = await TinyFile.connect({ socket: t.socket });
  try {
    const input = sample();
    fs.writeFileSync(path.join(t.dir, 'plain'), input);
    py('compress', path.join(t.dir, 'plain'), path.join(t.dir, 'py.raw'));
    expect((await tf.decompress(fs.readFileSync(path.join(t.dir, 'py.raw')))).equals(input)).toBe(true);
    fs.writeFileSync(path.join(t.dir, 'ours.raw'), await tf.compress(input));
    py('uncompress', path.join(t.dir, 'ours.raw'), path.join(t.dir, 'back'));
    expect(fs.readFileSync(path.join(t.dir, 'back')).equals(input)).toBe(true);
  } finally {
    await tf.close();
  }
});

maybe('a corrupted python stream fails with a checksum error and no output file', async () => {
  await startDaemon(t.socket, ['--workers', '1']);
  const plain = path.join(t.dir, 'plain.txt');
  fs.writeFileSync(plain, crypto.randomBytes(100_000)); // stored uncompressed: a flipped bit only breaks the CRC
  py('stream_compress', plain, path.join(t.dir, 'py.sz'));
  const framed = fs.readFileSync(path.join(t.dir, 'py.sz'));
  framed[framed.length - 10]! ^= 0x01;
  fs.writeFileSync(path.join(t.dir, 'py.sz'), framed);
  const d = await run([tinyfileCli, '--socket', t.socket, 'decompress', path.join(t.dir, 'py.sz'), '-o', path.join(t.dir, 'out')]);
  expect(d.status).toBe(1);
  expect(d.stderr).toMatch(/^tinyfile: checksum mismatch.*at input byte \d+/);
  expect(d.stderr).not.toMatch(/\n\s+at /);
  expect(fs.existsSync(path.join(t.dir, 'out'))).toBe(false);
});

maybe('a 9 MiB input split across both workers compresses to the single-worker block, which python decodes', async () => {
  const { TinyFile } = await import('@shmkit/tinyfile');
  const { codecByName, compressBlock, maxCompressedLength } = await import('@shmkit/tinyfile/codec');
  const input = Buffer.concat([sample(), sample(), sample(), sample()]).subarray(0, 9 << 20);
  // The single-worker path: one worker, one segment, so every piece runs after the one before.
  const single = path.join(t.dir, 'single.sock');
  await startDaemon(single, ['--workers', '1']);
  const one = await TinyFile.connect({ socket: single, segments: 1 });
  await startDaemon(t.socket, ['--workers', '2']);
  const split = await TinyFile.connect({ socket: t.socket, segments: 4 });
  const codec = codecByName('auto');
  try {
    const reference = await one.compress(input);
    expect(one.stats.chunks).toBeGreaterThan(1);
    // One call of the same codec in-process, uncut.
    expect(reference.equals(compressBlock(input, codec))).toBe(true);
    split.resetStats();
    const into = Buffer.alloc(maxCompressedLength(input.length));
    const intoSync = Buffer.alloc(maxCompressedLength(input.length));
    const blocks = [await split.compress(input), split.compressSync(input)];
    blocks.push(into.subarray(0, await split.compressInto(input, into)), intoSync.subarray(0, split.compressIntoSync(input, intoSync)));
    // Cut into more pieces than one segment holds, all out at once.
    expect(split.stats.chunks).toBeGreaterThanOrEqual(4 * 11);
    for (const b of blocks) expect(b.equals(reference)).toBe(true);
    fs.writeFileSync(path.join(t.dir, 'split.raw'), blocks[0]!);
    py('uncompress', path.join(t.dir, 'split.raw'), path.join(t.dir, 'split.back'));
    expect(fs.readFileSync(path.join(t.dir, 'split.back')).equals(input)).toBe(true);
    // Decoding a block this big is split too (independent pieces), async and blocking.
    expect((await split.decompress(reference)).equals(input)).toBe(true);
    expect(split.decompressSync(reference).equals(input)).toBe(true);
    // And straight into a caller's buffer, both ways.
    const target = Buffer.alloc(input.length + 1, 0xa5);
    split.resetStats();
    expect(split.decompressIntoSync(reference, target)).toBe(input.length);
    expect(split.stats.chunks).toBeGreaterThan(1);
    expect(target.subarray(0, input.length).equals(input)).toBe(true);
    target.fill(0);
    expect(await split.decompressInto(reference, target)).toBe(input.length);
    expect(target.subarray(0, input.length).equals(input)).toBe(true);
    expect(target[input.length]).toBe(0);
  } finally {
    codec.close?.();
    await one.close();
    await split.close();
  }
});
