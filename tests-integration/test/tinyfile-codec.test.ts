// Which codec tinyd runs: libsnappy when it loads, else the js codec with a
// one-line notice; `tinyfile status` says which. The fallback is forced for
// real: TINYFILE_LIBSNAPPY names a library that does not load, or one that
// loads but is not snappy.
import fs from 'node:fs';
import path from 'node:path';

import { codecByName, compressBlock, LibSnappy, maxCompressedLength } from '@shmkit/tinyfile/codec';

import { run, start } from './helpers/proc';
import { startDaemon, tinyd, tinyfileCli, useTempSocket } from './tinyfile-helpers';

const t = useTempSocket();

function text(n: number): Buffer {
  let s = '';
  for (let i = 0; s.length < n; i++) s += `entry ${i % 733} of the codec test, value ${(i * 13) % 97}\n`;
  return Buffer.from(s.slice(0, n));
}

function haveLibSnappy(): boolean {
  try {
    LibSnappy.load().close();
    return true;
  } catch {
    return false;
  }
}

/** tinyd with TINYFILE_LIBSNAPPY set to `lib`. */
async function daemonWithLib(lib: string, args: string[] = []) {
  const d = start([tinyd, '--socket', t.socket, '--workers', '1', ...args], { env: { ...process.env, TINYFILE_LIBSNAPPY: lib } });
  await d.waitFor(/listening on/);
  return d;
}

async function statusJson(): Promise<{ codec: string }> {
  const s = await run([tinyfileCli, '--socket', t.socket, 'status', '--json']);
  expect(s.status).toBe(0);
  return JSON.parse(s.stdout) as { codec: string };
}

/** A file through `tinyfile compress` and back; returns the compressed bytes. */
async function cliRoundTrip(input: Buffer): Promise<Buffer> {
  const plain = path.join(t.dir, 'plain.txt');
  fs.writeFileSync(plain, input);
  expect(await run([tinyfileCli, '--socket', t.socket, 'compress', plain, '--force'])).toMatchObject({ status: 0 });
  expect(await run([tinyfileCli, '--socket', t.socket, 'decompress', `${plain}.sz`, '-o', path.join(t.dir, 'back'), '--force'])).toMatchObject({ status: 0 });
  expect(fs.readFileSync(path.join(t.dir, 'back')).equals(input)).toBe(true);
  return fs.readFileSync(`${plain}.sz`);
}

test.each([
  ['a library that does not exist', '/nonexistent/libsnappy.so.1', /cannot open shared object file/],
  ['a library that is not snappy', 'libz.so.1', /libz\.so\.1: .*snappy_max_compressed_length/],
])('tinyd started where libsnappy cannot load (%s) serves with the js codec and says so', async (_what, lib, why) => {
  const d = await daemonWithLib(lib);
  const notice = d.stderr().split('\n').filter((l) => l.includes('native codec unavailable'));
  expect(notice).toHaveLength(1);
  expect(notice[0]).toMatch(/ warn +tinyd: native codec unavailable, using the js codec: libsnappy did not load/);
  expect(notice[0]).toMatch(why);
  expect(d.stderr()).toMatch(/listening on .*codec js\)/);
  expect((await statusJson()).codec).toBe('js');
  const s = await run([tinyfileCli, '--socket', t.socket, 'status']);
  expect(s.stdout).toMatch(/, codec js, 1 workers/);

  await cliRoundTrip(text(3 << 20));
  // Raw blocks are the js codec's, byte for byte.
  const { TinyFile } = await import('@shmkit/tinyfile');
  const tf = await TinyFile.connect({ socket: t.socket });
  try {
    const input = text(2 << 20);
    const block = await tf.compress(input);
    expect(block.equals(compressBlock(input, codecByName('js')))).toBe(true);
    expect((await tf.decompress(block)).equals(input)).toBe(true);
    expect(tf.decompressSync(tf.compressSync(input)).equals(input)).toBe(true);
  } finally {
    await tf.close();
  }
});

test('--codec libsnappy refuses to start without it: one line, exit 1', async () => {
  const r = await run([tinyd, '--socket', t.socket, '--codec', 'libsnappy'], { env: { ...process.env, TINYFILE_LIBSNAPPY: '/nonexistent/libsnappy.so.1' } });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/^tinyd: libsnappy did not load \(.*\/nonexistent\/libsnappy\.so\.1.*\); install libsnappy1v5 or set TINYFILE_LIBSNAPPY to its path \(ERR_TINYFILE_NO_NATIVE_CODEC\)\n$/);
  expect(fs.existsSync(t.socket)).toBe(false);
});

const withLib = haveLibSnappy() ? test : test.skip;
if (!haveLibSnappy()) console.warn('libsnappy is missing: apt-get install libsnappy1v5 to run the native codec tests');

withLib('with libsnappy present tinyd uses it by default, and its blocks are libsnappy\'s', async () => {
  const d = await startDaemon(t.socket, ['--workers', '2']);
  expect(d.stderr()).not.toMatch(/native codec unavailable/);
  expect((await statusJson()).codec).toBe('libsnappy');
  await cliRoundTrip(text(3 << 20));
  const { TinyFile } = await import('@shmkit/tinyfile');
  const tf = await TinyFile.connect({ socket: t.socket });
  const lib = codecByName('libsnappy');
  try {
    for (const n of [0, 1, 5000, 1 << 20, (3 << 20) + 12345]) {
      const input = text(n);
      const block = await tf.compress(input);
      expect(block.equals(compressBlock(input, lib))).toBe(true);
      const into = Buffer.alloc(maxCompressedLength(n));
      expect(into.subarray(0, tf.compressIntoSync(input, into)).equals(block)).toBe(true);
      expect((await tf.decompress(block)).equals(input)).toBe(true);
      expect(tf.decompressSync(block).equals(input)).toBe(true);
      const target = Buffer.alloc(n + 1, 0xa5);
      expect(tf.decompressIntoSync(block, target)).toBe(n);
      expect(target.subarray(0, n).equals(input) && target[n] === 0xa5).toBe(true);
      target.fill(0xa5);
      expect(await tf.decompressInto(block, target)).toBe(n);
      expect(target.subarray(0, n).equals(input) && target[n] === 0xa5).toBe(true);
    }
    // Too small: refused before anything is sent, blocking too.
    expect(() => tf.decompressIntoSync(compressBlock(text(10), lib), Buffer.alloc(9))).toThrow(expect.objectContaining({ code: 'ERR_TINYFILE_BUFFER_TOO_SMALL' }));
    // A corrupt block still fails with the offset tinyfile's decoder finds (the native attempt only says "invalid").
    const bad = compressBlock(text(200_000), lib);
    bad.fill(0xff, 20_000, 20_010);
    const err = (await tf.decompress(bad).catch((e: unknown) => e)) as { code: string; offset: number };
    expect(err.code).toMatch(/^ERR_TINYFILE_(CORRUPT_INPUT|WINDOW)$/);
    expect(err.offset).toBeGreaterThanOrEqual(19_900);
    expect(err.offset).toBeLessThanOrEqual(20_020);
  } finally {
    lib.close?.();
    await tf.close();
  }
});
