// The file calls: a file is read in chunks that are pipelined over the
// segments, and the framed output is written in input order.
import fs from 'node:fs';

import { FrameSplitter } from '../codec/frame-splitter';
import { STREAM_IDENTIFIER } from '../codec/framing';
import { OP } from '../protocol/layout';
import { type Chunker, compressPrepare, copyOut, framedPrepare } from './chunking';
import { readFull, withOutput, withOutputSync, writeAll, writeAllSync } from './file-output';
import type { FileOptions, FileResult } from './options';

/** Compresses the file `src` into `dst` (framing format; written to a temporary file, then renamed). */
export async function compressFile(c: Chunker, src: string, dst: string, options: FileOptions = {}): Promise<FileResult> {
  await c.ready();
  return withOutput(src, dst, async (inFd, outFd, total) => {
    const size = c.chunkSize();
    let bytesOut = STREAM_IDENTIFIER.length;
    await writeAll(outFd, STREAM_IDENTIFIER);
    const pending: Array<Promise<Buffer>> = [];
    const depth = Math.max(1, c.segments().count);
    let done = 0;
    const drainOne = async () => {
      const out = await pending.shift()!;
      await writeAll(outFd, out);
      bytesOut += out.length;
    };
    for (let pos = 0; pos < total; ) {
      const buf = Buffer.allocUnsafe(Math.min(size, total - pos));
      const n = await readFull(inFd, buf, pos);
      if (n === 0) break;
      pos += n;
      const piece = buf.subarray(0, n);
      const at = pos;
      const p = c.chunk(OP.COMPRESS_FRAMED, compressPrepare(piece), copyOut);
      p.then(() => {
        done = Math.max(done, at);
        options.onProgress?.(done, total);
      }, () => undefined);
      pending.push(p);
      if (pending.length >= depth) await drainOne();
    }
    try {
      while (pending.length > 0) await drainOne();
    } finally {
      await Promise.allSettled(pending);
    }
    if (total === 0) options.onProgress?.(0, 0);
    return { bytesIn: total, bytesOut };
  });
}

/** Decompresses the framed file `src` into `dst`; checks every chunk's CRC-32C. */
export async function decompressFile(c: Chunker, src: string, dst: string, options: FileOptions = {}): Promise<FileResult> {
  await c.ready();
  return withOutput(src, dst, async (inFd, outFd, total) => {
    const slotSize = c.segments().size;
    const splitter = new FrameSplitter(slotSize, slotSize);
    const depth = Math.max(1, c.segments().count);
    const pending: Array<{ p: Promise<Buffer>; end: number }> = [];
    let bytesOut = 0;
    const drainOne = async () => {
      const item = pending.shift()!;
      const out = await item.p;
      await writeAll(outFd, out);
      bytesOut += out.length;
      options.onProgress?.(item.end, total);
    };
    const buf = Buffer.allocUnsafe(slotSize);
    try {
      for (let pos = 0; ; ) {
        const n = await readFull(inFd, buf, pos);
        if (n === 0) break;
        pos += n;
        // The splitter may keep views of what we pass: hand it a copy.
        for (const batch of splitter.push(Buffer.from(buf.subarray(0, n)))) {
          const p = c.chunk(OP.DECOMPRESS_FRAMED, framedPrepare(batch), copyOut, batch.offset);
          // Awaited in order by drainOne; until then a failure must not count as unhandled.
          p.catch(() => undefined);
          pending.push({ p, end: batch.offset + batch.data.length });
          while (pending.length >= depth) await drainOne();
        }
      }
      splitter.end();
      while (pending.length > 0) await drainOne();
    } finally {
      await Promise.allSettled(pending.map((x) => x.p));
    }
    return { bytesIn: total, bytesOut };
  });
}

export function compressFileSync(c: Chunker, src: string, dst: string, options: FileOptions = {}): FileResult {
  c.readySync();
  return withOutputSync(src, dst, (inFd, outFd, total) => {
    const size = c.chunkSize();
    fs.writeSync(outFd, STREAM_IDENTIFIER);
    let bytesOut = STREAM_IDENTIFIER.length;
    const buf = Buffer.allocUnsafe(size);
    for (let pos = 0; pos < total; ) {
      const n = fs.readSync(inFd, buf, 0, Math.min(size, total - pos), pos);
      if (n === 0) break;
      pos += n;
      const out = c.chunkSync(OP.COMPRESS_FRAMED, compressPrepare(buf.subarray(0, n)), copyOut);
      writeAllSync(outFd, out);
      bytesOut += out.length;
      options.onProgress?.(pos, total);
    }
    return { bytesIn: total, bytesOut };
  });
}

export function decompressFileSync(c: Chunker, src: string, dst: string, options: FileOptions = {}): FileResult {
  const ch = c.readySync();
  return withOutputSync(src, dst, (inFd, outFd, total) => {
    const splitter = new FrameSplitter(ch.slotSize, ch.slotSize);
    const buf = Buffer.allocUnsafe(ch.slotSize);
    let bytesOut = 0;
    for (let pos = 0; ; ) {
      const n = fs.readSync(inFd, buf, 0, buf.length, pos);
      if (n === 0) break;
      pos += n;
      for (const batch of splitter.push(Buffer.from(buf.subarray(0, n)))) {
        const out = c.chunkSync(OP.DECOMPRESS_FRAMED, framedPrepare(batch), copyOut, batch.offset);
        writeAllSync(outFd, out);
        bytesOut += out.length;
        options.onProgress?.(batch.offset + batch.data.length, total);
      }
    }
    splitter.end();
    return { bytesIn: total, bytesOut };
  });
}
