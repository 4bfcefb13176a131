// decompressFile keeps several chunks in flight and writes their outputs in
// order. A chunk that fails while an earlier one is still awaited must reach
// the caller as the call's rejection, never as an unhandled rejection, which
// crashes a Node process: run in its own process (fixtures/), through the
// Chunker interface, so the order of the answers is the test's, not a
// daemon's timing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

test('a later chunk failing while the first is awaited rejects the call and leaves no file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyfile-calls-'));
  try {
    const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'fixtures', 'decompress-late-failure.ts'), dir], { encoding: 'utf8', timeout: 60_000 });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: 'rejected ERR_TINYFILE_BAD_CHECKSUM after 2 chunks\n', stderr: '' });
    expect(fs.readdirSync(dir)).toEqual(['in.sz']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
