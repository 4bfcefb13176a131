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

/**
 * The 0600 temp file an output is written to, beside `dst` and created like
 * every shared path (exclusive, never through a symlink, ours); committed by
 * a durable rename once the whole call succeeded, removed otherwise.
 */
class TempOutput {
  readonly fd: number;
  readonly #tmp: string;
  readonly #dst: string;
  #open = true;

  constructor(dst: string) {
    this.#dst = dst;
    this.#tmp = sys.tempPathBeside(path.resolve(dst), 'tinyfile');
    this.fd = sys.createOwnedFile(this.#tmp);
  }

  /** After the data was fsynced: closes it and renames it over dst, syncing the directory. */
  commit(): void {
    this.#open = false;
    fs.closeSync(this.fd);
    sys.atomicReplace(this.#tmp, this.#dst, { durable: true });
  }

  /** After a failure: the call's own error is the one to report. */
  discard(): void {
    if (this.#open) {
      this.#open = false;
      try {
        fs.closeSync(this.fd);
      } catch {
        // the call's error is the one to report
      }
    }
    fs.rmSync(this.#tmp, { force: true });
  }
}

/** Opens src and writes dst through a TempOutput renamed into place on success. */
export async function withOutput(src: string, dst: string, body: (inFd: fs.promises.FileHandle, outFd: number, total: number) => Promise<FileResult>): Promise<FileResult> {
  const input = await fs.promises.open(src, 'r');
  try {
    const st = await input.stat();
    if (!st.isFile()) throw new TinyFileError('EISDIR', `${src} is not a regular file`);
    const out = new TempOutput(dst);
    try {
      const r = await body(input, out.fd, st.size);
      await new Promise<void>((resolve, reject) => fs.fsync(out.fd, (err) => (err === null ? resolve() : reject(err))));
      out.commit();
      return r;
    } catch (err) {
      out.discard();
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
    const out = new TempOutput(dst);
    try {
      const r = body(input, out.fd, st.size);
      fs.fsyncSync(out.fd);
      out.commit();
      return r;
    } catch (err) {
      out.discard();
      throw err;
    }
  } finally {
    fs.closeSync(input);
  }
}
