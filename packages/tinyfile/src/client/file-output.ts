// Output files are written to a 0600 temporary file beside the target and
// renamed into place only when the whole call succeeded.
import fs from 'node:fs';
import path from 'node:path';

import { TinyFileError } from '../errors';
import type { FileResult } from './options';

export async function readFull(fd: fs.promises.FileHandle, buf: Buffer, pos: number): Promise<number> {
  let n = 0;
  while (n < buf.length) {
    const r = await fd.read(buf, n, buf.length - n, pos + n);
    if (r.bytesRead === 0) break;
    n += r.bytesRead;
  }
  return n;
}

export async function writeAll(fd: fs.promises.FileHandle, buf: Buffer): Promise<void> {
  let n = 0;
  while (n < buf.length) n += (await fd.write(buf, n, buf.length - n)).bytesWritten;
}

export function writeAllSync(fd: number, buf: Buffer): void {
  let n = 0;
  while (n < buf.length) n += fs.writeSync(fd, buf, n, buf.length - n);
}

function tempName(dst: string): string {
  return path.join(path.dirname(dst), `.${path.basename(dst)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
}

/** Opens src, writes dst through a 0600 temporary file renamed into place on success. */
export async function withOutput(src: string, dst: string, body: (inFd: fs.promises.FileHandle, outFd: fs.promises.FileHandle, total: number) => Promise<FileResult>): Promise<FileResult> {
  const input = await fs.promises.open(src, 'r');
  try {
    const st = await input.stat();
    if (!st.isFile()) throw new TinyFileError('EISDIR', `${src} is not a regular file`);
    const tmp = tempName(dst);
    const output = await fs.promises.open(tmp, 'wx', 0o600);
    let ok = false;
    try {
      const r = await body(input, output, st.size);
      await output.close();
      await fs.promises.rename(tmp, dst);
      ok = true;
      return r;
    } finally {
      if (!ok) {
        await output.close().catch(() => undefined);
        await fs.promises.rm(tmp, { force: true });
      }
    }
  } finally {
    await input.close();
  }
}

export function withOutputSync(src: string, dst: string, body: (inFd: number, outFd: number, total: number) => FileResult): FileResult {
  const input = fs.openSync(src, 'r');
  try {
    const st = fs.fstatSync(input);
    if (!st.isFile()) throw new TinyFileError('EISDIR', `${src} is not a regular file`);
    const tmp = tempName(dst);
    const output = fs.openSync(tmp, 'wx', 0o600);
    let ok = false;
    try {
      const r = body(input, output, st.size);
      fs.closeSync(output);
      fs.renameSync(tmp, dst);
      ok = true;
      return r;
    } finally {
      if (!ok) {
        try {
          fs.closeSync(output);
        } catch {
          // already closed
        }
        fs.rmSync(tmp, { force: true });
      }
    }
  } finally {
    fs.closeSync(input);
  }
}
