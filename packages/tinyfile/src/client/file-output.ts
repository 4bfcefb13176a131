// Output files are written to a 0600 temporary file beside the target and
// renamed into place only when the whole call succeeded.
import fs from 'node:fs';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

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

/** Writes all of `buf` to `fd` at its position, without blocking the event loop. */
export async function writeAll(fd: number, buf: Buffer): Promise<void> {
  let n = 0;
  while (n < buf.length) {
    n += await new Promise<number>((resolve, reject) => {
      fs.write(fd, buf, n, buf.length - n, null, (err, written) => (err === null ? resolve(written) : reject(err)));
    });
  }
}

export function writeAllSync(fd: number, buf: Buffer): void {
  let n = 0;
  while (n < buf.length) n += fs.writeSync(fd, buf, n, buf.length - n);
}

/** Removes our temp file after a failure; the call's own error is the one to report. */
function discard(fd: number | undefined, tmp: string): void {
  if (fd !== undefined) {
    try {
      fs.closeSync(fd);
    } catch {
      // the call's error is the one to report
    }
  }
  fs.rmSync(tmp, { force: true });
}

/**
 * Opens src, writes dst through a 0600 temp file beside it (created like
 * every shared path: exclusive, never through a symlink, ours), and on
 * success syncs it and renames it into place durably.
 */
export async function withOutput(src: string, dst: string, body: (inFd: fs.promises.FileHandle, outFd: number, total: number) => Promise<FileResult>): Promise<FileResult> {
  const input = await fs.promises.open(src, 'r');
  try {
    const st = await input.stat();
    if (!st.isFile()) throw new TinyFileError('EISDIR', `${src} is not a regular file`);
    const tmp = sys.tempPathBeside(path.resolve(dst), 'tinyfile');
    const output = sys.createOwnedFile(tmp);
    let open: number | undefined = output;
    try {
      const r = await body(input, output, st.size);
      await new Promise<void>((resolve, reject) => fs.fsync(output, (err) => (err === null ? resolve() : reject(err))));
      open = undefined;
      fs.closeSync(output);
      sys.atomicReplace(tmp, dst, { durable: true });
      return r;
    } catch (err) {
      discard(open, tmp);
      throw err;
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
    const tmp = sys.tempPathBeside(path.resolve(dst), 'tinyfile');
    const output = sys.createOwnedFile(tmp);
    let open: number | undefined = output;
    try {
      const r = body(input, output, st.size);
      fs.fsyncSync(output);
      open = undefined;
      fs.closeSync(output);
      sys.atomicReplace(tmp, dst, { durable: true });
      return r;
    } catch (err) {
      discard(open, tmp);
      throw err;
    }
  } finally {
    fs.closeSync(input);
  }
}
