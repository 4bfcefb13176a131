// The stream calls: Transforms whose chunks are pipelined over the segments
// and pushed in input order.
import { Transform, type TransformCallback } from 'node:stream';

import { FrameSplitter } from '../codec/frame-splitter';
import { STREAM_IDENTIFIER } from '../codec/framing';
import { compressChunkSize, OP } from '../protocol/layout';
import { type Chunker, compressPrepare, copyOut, framedPrepare } from './chunking';

/** A Transform from plain bytes to a framed snappy stream. */
export function createCompressStream(c: Chunker): Transform {
  let buffered: Buffer[] = [];
  let bufferedLen = 0;
  let started = false;
  const pending: Array<Promise<Buffer>> = [];
  const submit = (piece: Buffer) => {
    if (!started) {
      t.push(STREAM_IDENTIFIER);
      started = true;
    }
    const p = c.chunk(OP.COMPRESS_FRAMED, compressPrepare(piece), copyOut);
    p.catch(() => undefined);
    pending.push(p);
  };
  const drain = async (keep: number) => {
    while (pending.length > keep) t.push(await pending.shift()!);
  };
  const t: Transform = new Transform({
    transform: (chunk: Buffer, _enc, cb: TransformCallback) => {
      void (async () => {
        const ch = await c.ready();
        const size = compressChunkSize(ch.slotSize);
        buffered.push(chunk);
        bufferedLen += chunk.length;
        if (bufferedLen >= size) {
          let all = Buffer.concat(buffered);
          while (all.length >= size) {
            submit(all.subarray(0, size));
            all = all.subarray(size);
            await drain(ch.slots);
          }
          buffered = all.length > 0 ? [all] : [];
          bufferedLen = all.length;
        }
      })().then(() => cb(), (err: Error) => cb(err));
    },
    flush: (cb: TransformCallback) => {
      void (async () => {
        if (bufferedLen > 0) submit(Buffer.concat(buffered));
        if (!started) {
          t.push(STREAM_IDENTIFIER);
          started = true;
        }
        await drain(0);
      })().then(() => cb(), (err: Error) => cb(err));
    },
  });
  return t;
}

/** A Transform from a framed snappy stream to plain bytes; checks every CRC-32C. */
export function createDecompressStream(c: Chunker): Transform {
  let splitter: FrameSplitter | undefined;
  const pending: Array<Promise<Buffer>> = [];
  const t: Transform = new Transform({
    transform: (chunk: Buffer, _enc, cb: TransformCallback) => {
      void (async () => {
        const ch = await c.ready();
        splitter ??= new FrameSplitter(ch.slotSize, ch.slotSize);
        for (const batch of splitter.push(chunk)) {
          const p = c.chunk(OP.DECOMPRESS_FRAMED, framedPrepare(batch), copyOut, batch.offset);
          p.catch(() => undefined);
          pending.push(p);
          while (pending.length > ch.slots) t.push(await pending.shift()!);
        }
      })().then(() => cb(), (err: Error) => cb(err));
    },
    flush: (cb: TransformCallback) => {
      void (async () => {
        (splitter ?? new FrameSplitter(1 << 20, 1 << 20)).end();
        while (pending.length > 0) t.push(await pending.shift()!);
      })().then(() => cb(), (err: Error) => cb(err));
    },
  });
  return t;
}
