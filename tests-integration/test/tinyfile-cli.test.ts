// The tinyfile and tinyd command lines: usage errors exit 2, user errors exit
// 1 with one clear line and no stack trace.
import fs from 'node:fs';
import path from 'node:path';

import { run } from './helpers/proc';
import { startDaemon, tinyd, tinyfileCli, useTempSocket } from './tinyfile-helpers';

const t = useTempSocket();

const noStack = /\n\s+at /;

test('usage errors exit 2 and point to --help', async () => {
  for (const args of [[], ['frobnicate'], ['compress'], ['compress', 'a', 'b', '-o', 'x'], ['--bogus', 'status'], ['compress', 'a', '--sync', '--async']]) {
    const r = await run([tinyfileCli, '--socket', t.socket, ...args]);
    expect({ args, status: r.status }).toEqual({ args, status: 2 });
    expect(r.stderr).toMatch(/^tinyfile: .*\nTry 'tinyfile --help'\.\n$/);
  }
  for (const args of [['--n-sms', 'many'], ['--sms-size', '100'], ['--codec', 'zstd'], ['extra']]) {
    const r = await run([tinyd, '--socket', t.socket, ...args]);
    expect({ args, status: r.status }).toEqual({ args, status: 2 });
    expect(r.stderr).not.toMatch(noStack);
  }
});

test('no daemon: exit 1 naming the socket and how to start tinyd', async () => {
  fs.writeFileSync(path.join(t.dir, 'a'), 'hello');
  const r = await run([tinyfileCli, '--socket', t.socket, 'compress', path.join(t.dir, 'a')]);
  expect(r.status).toBe(1);
  expect(r.stderr).toBe(`tinyfile: no tinyd is listening at ${t.socket} (ENOENT); start it with \`tinyd --socket ${t.socket}\`\n`);
  const s = await run([tinyfileCli, '--socket', t.socket, 'status']);
  expect(s.status).toBe(1);
  expect(s.stderr).toMatch(/no tinyd is listening/);
});

test('compress / decompress / status / bench against a live daemon', async () => {
  await startDaemon(t.socket, ['--workers', '1']);
  const src = path.join(t.dir, 'notes.txt');
  const input = Buffer.from('tinyfile compresses through shared memory\n'.repeat(5000));
  fs.writeFileSync(src, input);
  const c = await run([tinyfileCli, '--socket', t.socket, 'compress', src]);
  expect(c.status).toBe(0);
  expect(c.stderr).toMatch(/notes\.txt → .*notes\.txt\.sz: 205\.1 KiB in, [\d.]+ KiB out, ratio 0\.\d+, [\d.]+ MB\/s\n$/);
  expect(fs.statSync(`${src}.sz`).mode & 0o777).toBe(0o600);
  // Refuses to overwrite, then --force.
  const again = await run([tinyfileCli, '--socket', t.socket, 'compress', src]);
  expect(again).toMatchObject({ status: 1, stderr: expect.stringMatching(/exists; use --force/) });
  fs.rmSync(src);
  const d = await run([tinyfileCli, '--socket', t.socket, 'decompress', `${src}.sz`, '--sync']);
  expect(d.status).toBe(0);
  expect(fs.readFileSync(src).equals(input)).toBe(true);
  // A file that is not snappy: one line, no stack, no output file.
  fs.writeFileSync(path.join(t.dir, 'junk.sz'), 'not snappy at all');
  const j = await run([tinyfileCli, '--socket', t.socket, 'decompress', path.join(t.dir, 'junk.sz')]);
  expect(j.status).toBe(1);
  expect(j.stderr).toMatch(/^tinyfile: not a snappy framed stream/);
  expect(j.stderr).not.toMatch(noStack);
  expect(fs.existsSync(path.join(t.dir, 'junk'))).toBe(false);
  const missing = await run([tinyfileCli, '--socket', t.socket, 'compress', path.join(t.dir, 'nope')]);
  expect(missing).toMatchObject({ status: 1, stderr: expect.stringMatching(/^tinyfile: ENOENT/) });

  const s = await run([tinyfileCli, '--socket', t.socket, 'status']);
  expect(s.status).toBe(0);
  expect(s.stdout).toMatch(/^tinyd pid \d+ on .*tinyd\.sock, up \d+ s, codec (libsnappy|js), 1 workers\nsegments: 0\/32 in use/);
  expect(s.stdout).toMatch(/totals: \d+ clients served, \d+ chunks, 0 failed/);

  const b = await run([tinyfileCli, '--socket', t.socket, 'bench', '--size', '256K', '--rounds', '3']);
  expect(b.status).toBe(0);
  expect(b.stdout).toMatch(/compress tinyd [\d.]+ MB\/s vs in-process [\d.]+ MB\/s/);
});

test('stdin to stdout with "-"', async () => {
  await startDaemon(t.socket, ['--workers', '1']);
  const src = path.join(t.dir, 'in.txt');
  fs.writeFileSync(src, 'pipe me\n'.repeat(20000));
  const r = await run(['-c', `"${process.execPath}" "${tinyfileCli}" --socket "${t.socket}" compress - < "${src}" | "${process.execPath}" "${tinyfileCli}" --socket "${t.socket}" decompress - > "${src}.out"`], { cmd: '/bin/sh' });
  expect(r.status).toBe(0);
  expect(fs.readFileSync(`${src}.out`).equals(fs.readFileSync(src))).toBe(true);
});

test('a second tinyd on a live socket refuses to start', async () => {
  await startDaemon(t.socket, ['--workers', '0']);
  const r = await run([tinyd, '--socket', t.socket]);
  expect(r).toMatchObject({ status: 1, stderr: expect.stringMatching(/another tinyd is already listening/) });
});
