// File-backed sequential write of 1 GB (IPCBUFFER_BENCH_FILE_MB to change):
// IPCBuffer.file + copy 1 MiB chunks + close() (msync) vs fs.openSync +
// fs.writeSync of the same 1 MiB chunks + fs.fsyncSync. Each side starts from
// a missing file and ends with the data durable on disk.
import fs from 'node:fs';
import path from 'node:path';

import { IPCBuffer } from '../src';
import { rate, scratchDir, type Row } from './util';

const MB = Number(process.env['IPCBUFFER_BENCH_FILE_MB'] ?? 1024);
const CHUNK = 1 << 20;
const RUNS = Number(process.env['IPCBUFFER_BENCH_FILE_RUNS'] ?? 5);

export function run(): Row[] {
  const total = MB * CHUNK;
  const chunk = Buffer.alloc(CHUNK);
  for (let i = 0; i < CHUNK; i++) chunk[i] = (i * 31) & 0xff;
  const a = path.join(scratchDir(), 'mapped.bin');
  const b = path.join(scratchDir(), 'written.bin');

  const mapped = () => {
    const buf = IPCBuffer.file(a, total);
    for (let off = 0; off < total; off += CHUNK) chunk.copy(buf, off);
    buf.close(); // msync(MS_SYNC) then unmap
  };
  const written = () => {
    const fd = fs.openSync(b, 'wx', 0o600);
    for (let off = 0; off < total; off += CHUNK) fs.writeSync(fd, chunk, 0, CHUNK, off);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  };
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    for (const [fn, into, file] of i % 2 === 0 ? ([[mapped, ta, a], [written, tb, b]] as const) : ([[written, tb, b], [mapped, ta, a]] as const)) {
      fs.rmSync(file, { force: true });
      const s = process.hrtime.bigint();
      fn();
      into.push(Number(process.hrtime.bigint() - s) / 1e6);
      fs.rmSync(file, { force: true });
    }
  }
  // Best of RUNS, as in compare(): the disk is shared with other work.
  const ma = Math.min(...ta);
  const mb = Math.min(...tb);
  const size = MB >= 1024 ? `${MB / 1024} GiB` : `${MB} MiB`;
  return [{ scenario: `file-backed sequential write ${size} + sync (vs fs.writeSync 1 MiB chunks + fsync)`, ours: rate(total, ma), baseline: rate(total, mb), ratio: mb / ma }];
}
