// The client library: buffers (raw snappy blocks), files and streams (the
// snappy framing format), async and blocking. Every request is cut into
// chunks that fit one segment; chunks of one call, and of concurrent calls,
// are pipelined over the client's segments.
import fs from 'node:fs';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';

import { maxCompressedLength } from '../codec/codec';
import { FrameSplitter, type FrameBatch } from '../codec/frame-splitter';
import { type RawPiece, splitRawBlock } from '../codec/raw-split';
import { STREAM_IDENTIFIER } from '../codec/framing';
import { HISTORY } from '../codec/raw-decoder';
import { readVarint, varintLength, writeVarint } from '../codec/varint';
import { CorruptInputError, type DaemonError, TinyFileClosedError, TinyFileError } from '../errors';
import {
  compressChunkSize,
  OP,
  S_CONSUMED,
  S_COPY_LEFT,
  S_COPY_OFFSET,
  S_DISPATCHED_AT,
  S_ERR_OFFSET,
  S_GROUP,
  S_HIST_LEN,
  S_IN_LEN,
  S_LITERAL,
  S_OP,
  S_OUT_LEN,
  S_OUT_LIMIT,
  S_PRODUCED_HI,
  S_PRODUCED_LO,
  S_REQ_ID,
  S_SEEN_AT,
  S_STATUS,
  STATUS_NAME,
} from '../protocol/layout';
import { defaultSocketPath } from '../protocol/socket-path';
import { BlockGather, MAX_GATHER_BYTES, ScratchPool } from './block-gather';
import { Channel } from './channel';
import { kUnsafeSubmit, type UnsafeRequest, type UnsafeResult } from './unsafe';

export interface ConnectOptions {
  /** tinyd's socket; default `$XDG_RUNTIME_DIR/tinyfile/tinyd.sock` or `/tmp/tinyfile-$UID/tinyd.sock`. */
  socket?: string;
  /**
   * Also trust a daemon running as this uid. By default the client refuses
   * (ERR_TINYFILE_UNTRUSTED_DAEMON, before sending anything) a daemon that
   * runs as another user than this process.
   */
  daemonUid?: number;
  /** After the daemon dies, reconnect when it is back (calls in between fail). Default false. */
  reconnect?: boolean;
  /** Segments to ask for (pipelining depth); the daemon may grant fewer. Default: the daemon's choice. */
  segments?: number;
  /** 0-7; only used by a daemon started with --qos. Default 0. */
  priority?: number;
  /** How long to wait for a free segment when registering. Default 10 s. */
  connectTimeout?: number;
  /** Largest output `decompress` accepts from a block's length preamble. Default 2 GiB - 1. */
  maxOutputLength?: number;
}

export interface FileOptions {
  /** Called after each chunk with the input bytes done and the input's total size. */
  onProgress?: (done: number, total: number) => void;
}

export interface FileResult {
  bytesIn: number;
  bytesOut: number;
}

export interface ClientStats {
  chunks: number;
  /** Most chunks of other work tinyd dispatched while one of ours was ready and waiting. */
  maxWaitedChunks: number;
  /** Times the client woke up to take answers (a multi-chunk compress() is answered at once: one wake-up). */
  wakeUps: number;
}

/** What a completed chunk's callback receives; valid only during the callback. */
interface Done {
  data: Buffer;
  words: Int32Array;
  h: number;
  outLen: number;
}

/** Requests up to this size are answered fast enough to be worth a short spin (see Channel.spinFor). */
const SPIN_MAX_BYTES = 16 * 1024;

/** Whether a prepared request is small enough that its answer is worth spinning for (the daemon estimates work the same way). */
function smallWork(words: Int32Array, h: number, op: number): boolean {
  const inLen = Atomics.load(words, h + S_IN_LEN);
  const work = op === OP.DECOMPRESS_RAW ? Atomics.load(words, h + S_OUT_LIMIT) : op === OP.DECOMPRESS_FRAMED ? 4 * inLen : inLen;
  return work <= SPIN_MAX_BYTES;
}

type Prepare = (data: Buffer, words: Int32Array, h: number) => void;

function failure(ch: Channel, data: Buffer, words: Int32Array, h: number, base: number): TinyFileError {
  const dead = ch.dead;
  if (dead !== undefined) return dead;
  const code = STATUS_NAME[Atomics.load(words, h + S_STATUS)] ?? 'ERR_TINYFILE_INTERNAL';
  const len = Math.max(0, Math.min(Atomics.load(words, h + S_OUT_LEN), 2000));
  const message = data.toString('utf8', 0, len) || 'tinyd failed the request';
  const at = Atomics.load(words, h + S_ERR_OFFSET);
  if (code === 'ERR_TINYFILE_CORRUPT_INPUT' || code === 'ERR_TINYFILE_BAD_CHECKSUM' || code === 'ERR_TINYFILE_WINDOW') {
    return new CorruptInputError(message, at >= 0 ? base + at : undefined, code);
  }
  return new TinyFileError(code === 'OK' ? 'ERR_TINYFILE_INTERNAL' : code, message);
}

export class TinyFile {
  readonly socketPath: string;
  readonly #opts: Required<Omit<ConnectOptions, 'socket' | 'segments' | 'daemonUid'>> & { segments: number; daemonUid: number | undefined };
  #channel: Channel | undefined;
  #connecting: Promise<Channel> | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #reqId = 0;
  #group = 0;
  readonly #stats: ClientStats = { chunks: 0, maxWaitedChunks: 0, wakeUps: 0 };
  readonly #scratch = new ScratchPool();

  private constructor(options: ConnectOptions) {
    this.socketPath = options.socket ?? defaultSocketPath();
    const segments = options.segments ?? 0;
    const priority = options.priority ?? 0;
    if (!Number.isInteger(segments) || segments < 0 || segments > 30) throw new TinyFileError('ERR_INVALID_ARG_VALUE', `segments must be an integer in [0, 30], got ${segments}`);
    if (!Number.isInteger(priority) || priority < 0 || priority > 7) throw new TinyFileError('ERR_INVALID_ARG_VALUE', `priority must be an integer in [0, 7], got ${priority}`);
    const daemonUid = options.daemonUid;
    if (daemonUid !== undefined && (!Number.isInteger(daemonUid) || daemonUid < 0 || daemonUid > 0xfffffffe)) {
      throw new TinyFileError('ERR_INVALID_ARG_VALUE', `daemonUid must be a uid (an integer in [0, 4294967294]), got ${daemonUid}`);
    }
    this.#opts = {
      reconnect: options.reconnect ?? false,
      segments,
      priority,
      daemonUid,
      connectTimeout: options.connectTimeout ?? 10_000,
      maxOutputLength: options.maxOutputLength ?? 0x7fffffff,
    };
  }

  /** Registers with tinyd. Rejects with ERR_TINYFILE_NOT_RUNNING when nothing listens. */
  static async connect(options: ConnectOptions = {}): Promise<TinyFile> {
    const tf = new TinyFile(options);
    await tf.#connect();
    return tf;
  }

  /** Like connect(), blocking the thread until tinyd answers. */
  static connectSync(options: ConnectOptions = {}): TinyFile {
    const tf = new TinyFile(options);
    tf.#channel = Channel.connectSync(tf.#params(), (err) => tf.#onDead(err));
    return tf;
  }

  /** True while registered with a live daemon. */
  get connected(): boolean {
    return this.#channel !== undefined && this.#channel.dead === undefined;
  }

  /** Segments granted by the daemon and their size. */
  get segments(): { count: number; size: number } {
    const ch = this.#channel;
    return { count: ch?.slots ?? 0, size: ch?.slotSize ?? 0 };
  }

  get stats(): ClientStats {
    return { ...this.#stats };
  }

  resetStats(): void {
    this.#stats.chunks = 0;
    this.#stats.maxWaitedChunks = 0;
    this.#stats.wakeUps = 0;
  }

  #params() {
    return {
      socketPath: this.socketPath,
      slots: this.#opts.segments,
      priority: this.#opts.priority,
      timeoutMs: this.#opts.connectTimeout,
      counters: this.#stats,
      daemonUid: this.#opts.daemonUid,
    };
  }

  #connect(): Promise<Channel> {
    return (this.#connecting ??= Channel.connect(this.#params(), (err) => this.#onDead(err)).then(
      (ch) => {
        this.#connecting = undefined;
        if (this.#closed) {
          ch.close();
          throw new TinyFileClosedError();
        }
        this.#channel = ch;
        return ch;
      },
      (err: unknown) => {
        this.#connecting = undefined;
        throw err;
      },
    ));
  }

  #onDead(err: DaemonError): void {
    if (this.#closed || err.code === 'ERR_TINYFILE_CLOSED' || !this.#opts.reconnect || this.#reconnectTimer !== undefined) return;
    // Keep trying in the background; calls made meanwhile also try once.
    this.#reconnectTimer = setInterval(() => {
      if (this.connected || this.#closed) {
        clearInterval(this.#reconnectTimer);
        this.#reconnectTimer = undefined;
        return;
      }
      this.#connect().catch(() => undefined);
    }, 250);
    this.#reconnectTimer.unref();
  }

  async #ready(): Promise<Channel> {
    if (this.#closed) throw new TinyFileClosedError();
    const ch = this.#channel;
    if (ch !== undefined && ch.dead === undefined) return ch;
    if (!this.#opts.reconnect && ch !== undefined) throw ch.dead!;
    return this.#connect();
  }

  #readySync(): Channel {
    if (this.#closed) throw new TinyFileClosedError();
    const ch = this.#channel;
    if (ch !== undefined && ch.dead === undefined) return ch;
    if (!this.#opts.reconnect && ch !== undefined) throw ch.dead!;
    this.#channel = Channel.connectSync(this.#params(), (err) => this.#onDead(err));
    return this.#channel;
  }

  #note(words: Int32Array, h: number): void {
    this.#stats.chunks++;
    const waited = Atomics.load(words, h + S_DISPATCHED_AT) - Atomics.load(words, h + S_SEEN_AT);
    if (waited > this.#stats.maxWaitedChunks) this.#stats.maxWaitedChunks = waited;
  }

  #fill(ch: Channel, slot: number, op: number, prepare: Prepare, group: number): { data: Buffer; h: number } {
    const data = ch.data(slot);
    const h = ch.header(slot);
    Atomics.store(ch.words, h + S_OP, op);
    Atomics.store(ch.words, h + S_GROUP, group);
    Atomics.store(ch.words, h + S_REQ_ID, ++this.#reqId | 0);
    prepare(data, ch.words, h);
    return { data, h };
  }

  /** One chunk through one slot. `complete` runs while the slot's data is still ours. */
  async #chunk<T>(op: number, prepare: Prepare, complete: (d: Done) => T, base = 0, group = 0): Promise<T> {
    const ch = await this.#ready();
    const slot = await ch.acquire();
    const { data, h } = this.#fill(ch, slot, op, prepare, group);
    const small = smallWork(ch.words, h, op);
    const p = new Promise<T>((resolve, reject) => {
      ch.publish(slot, (_s, failed) => {
        if (failed) return reject(failure(ch, data, ch.words, h, base));
        this.#note(ch.words, h);
        try {
          resolve(complete({ data, words: ch.words, h, outLen: Atomics.load(ch.words, h + S_OUT_LEN) }));
        } catch (err) {
          reject(err as Error);
        }
      }, 'async', small);
    });
    return p;
  }

  #chunkSync<T>(op: number, prepare: Prepare, complete: (d: Done) => T, base = 0): T {
    const ch = this.#readySync();
    const slot = ch.acquireSync();
    const { data, h } = this.#fill(ch, slot, op, prepare, 0);
    let result: { ok: true; value: T } | { ok: false; err: Error } | undefined;
    ch.publish(slot, (_s, failed) => {
      if (failed) {
        result = { ok: false, err: failure(ch, data, ch.words, h, base) };
        return;
      }
      this.#note(ch.words, h);
      try {
        result = { ok: true, value: complete({ data, words: ch.words, h, outLen: Atomics.load(ch.words, h + S_OUT_LEN) }) };
      } catch (err) {
        result = { ok: false, err: err as Error };
      }
    }, 'sync');
    ch.waitSync(slot, smallWork(ch.words, h, op));
    if (result === undefined) throw ch.dead ?? new TinyFileError('ERR_TINYFILE_INTERNAL', 'the request ended without a result');
    if (!result.ok) throw result.err;
    return result.value;
  }

  #nextGroup(): number {
    this.#group = (this.#group + 1) & 0x7fffffff || 1;
    return this.#group;
  }

  #chunkSize(): number {
    const ch = this.#channel;
    return compressChunkSize(ch?.slotSize ?? 1 << 20);
  }

  // ---- buffers: raw snappy blocks ----------------------------------------

  /** Compresses `input` into one raw snappy block. */
  async compress(input: Uint8Array): Promise<Buffer> {
    checkInput(input);
    const ch = await this.#ready();
    // Spread the input over all our segments (in 64 KiB multiples) so that
    // several workers share one large call. (Cutting it into only as many
    // pieces as tinyd has workers was measured too: no better with one
    // client, worse with two, whose workers then idled while a client
    // turned around between calls.)
    const pieces = Math.max(Math.ceil(input.length / this.#chunkSize()), Math.min(ch.slots, Math.ceil(input.length / 65536)));
    const size = Math.ceil(input.length / Math.max(1, pieces) / 65536) * 65536;
    const count = Math.ceil(input.length / size) || 0;
    const stride = maxCompressedLength(size);
    if (count * stride > MAX_GATHER_BYTES) {
      // Chunks are independent (64 KiB-aligned fragments), so all of them are
      // queued at once and run on as many segments and workers as are free.
      const parts: Array<Promise<Buffer>> = [];
      for (let at = 0; at < input.length; at += size) parts.push(this.#chunk(OP.COMPRESS_RAW, compressPrepare(input.subarray(at, Math.min(input.length, at + size))), copyOut));
      const bodies = await settleAll(parts);
      return Buffer.concat([varintHead(input.length), ...bodies]);
    }
    const gather = new BlockGather(this.#scratch, count, stride);
    // One wake-up for the whole call: tinyd answers the pieces together.
    // Only while every piece can be out at once: tinyd holds a group's answers
    // until none of it is queued, which would otherwise turn a long call into
    // lockstep batches of `slots` pieces.
    const group = count > 1 && count <= ch.slots ? this.#nextGroup() : 0;
    try {
      const parts: Array<Promise<void>> = [];
      for (let i = 0; i < count; i++) {
        const piece = input.subarray(i * size, Math.min(input.length, (i + 1) * size));
        parts.push(this.#chunk(OP.COMPRESS_RAW, compressPrepare(piece), (d) => gather.put(i, d.data, d.outLen), 0, group));
      }
      await settleAll(parts);
      return gather.block(input.length);
    } finally {
      gather.release();
    }
  }

  compressSync(input: Uint8Array): Buffer {
    checkInput(input);
    this.#readySync();
    const size = this.#chunkSize();
    const count = Math.ceil(input.length / size) || 0;
    const stride = maxCompressedLength(size);
    if (count * stride > MAX_GATHER_BYTES) {
      const parts: Buffer[] = [varintHead(input.length)];
      for (let at = 0; at < input.length; at += size) parts.push(this.#chunkSync(OP.COMPRESS_RAW, compressPrepare(input.subarray(at, Math.min(input.length, at + size))), copyOut));
      return Buffer.concat(parts);
    }
    const gather = new BlockGather(this.#scratch, count, stride);
    try {
      for (let i = 0; i < count; i++) {
        const piece = input.subarray(i * size, Math.min(input.length, (i + 1) * size));
        this.#chunkSync(OP.COMPRESS_RAW, compressPrepare(piece), (d) => gather.put(i, d.data, d.outLen));
      }
      return gather.block(input.length);
    } finally {
      gather.release();
    }
  }

  /** Decompresses one raw snappy block. */
  async decompress(block: Uint8Array): Promise<Buffer> {
    checkInput(block);
    const d = new RawDecode(block, this.#opts.maxOutputLength);
    // An empty block needs no daemon, as before.
    if (d.finished) return d.result();
    const ch = await this.#ready();
    const pieces = independentPieces(block, d.inPos, d.declared, ch);
    if (pieces === null) {
      while (!d.finished) await this.#chunk(OP.DECOMPRESS_RAW, d.prepare, d.complete, d.inPos);
      return d.result();
    }
    // The pieces decode on as many workers as are free, each straight into its place.
    const out = d.result();
    const group = pieces.length <= ch.slots ? this.#nextGroup() : 0;
    await settleAll(pieces.map((p) => this.#chunk(OP.DECOMPRESS_RAW, piecePrepare(block, p), (c) => pieceComplete(c, p, out), p.inStart, group)));
    return out;
  }

  decompressSync(block: Uint8Array): Buffer {
    checkInput(block);
    const d = new RawDecode(block, this.#opts.maxOutputLength);
    while (!d.finished) this.#chunkSync(OP.DECOMPRESS_RAW, d.prepare, d.complete, d.inPos);
    return d.result();
  }

  // ---- files and streams: the snappy framing format ----------------------

  /** Compresses the file `src` into `dst` (framing format; written to a temporary file, then renamed). */
  async compressFile(src: string, dst: string, options: FileOptions = {}): Promise<FileResult> {
    await this.#ready();
    return withOutput(src, dst, async (inFd, outFd, total) => {
      const size = this.#chunkSize();
      let bytesOut = STREAM_IDENTIFIER.length;
      await writeAll(outFd, STREAM_IDENTIFIER);
      const pending: Array<Promise<Buffer>> = [];
      const depth = Math.max(1, this.segments.count);
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
        const p = this.#chunk(OP.COMPRESS_FRAMED, compressPrepare(piece), copyOut);
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
  async decompressFile(src: string, dst: string, options: FileOptions = {}): Promise<FileResult> {
    await this.#ready();
    return withOutput(src, dst, async (inFd, outFd, total) => {
      const slotSize = this.segments.size;
      const splitter = new FrameSplitter(slotSize, slotSize);
      const depth = Math.max(1, this.segments.count);
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
            pending.push({ p: this.#chunk(OP.DECOMPRESS_FRAMED, framedPrepare(batch), copyOut, batch.offset), end: batch.offset + batch.data.length });
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

  compressFileSync(src: string, dst: string, options: FileOptions = {}): FileResult {
    this.#readySync();
    return withOutputSync(src, dst, (inFd, outFd, total) => {
      const size = this.#chunkSize();
      fs.writeSync(outFd, STREAM_IDENTIFIER);
      let bytesOut = STREAM_IDENTIFIER.length;
      const buf = Buffer.allocUnsafe(size);
      for (let pos = 0; pos < total; ) {
        const n = fs.readSync(inFd, buf, 0, Math.min(size, total - pos), pos);
        if (n === 0) break;
        pos += n;
        const out = this.#chunkSync(OP.COMPRESS_FRAMED, compressPrepare(buf.subarray(0, n)), copyOut);
        writeAllSync(outFd, out);
        bytesOut += out.length;
        options.onProgress?.(pos, total);
      }
      return { bytesIn: total, bytesOut };
    });
  }

  decompressFileSync(src: string, dst: string, options: FileOptions = {}): FileResult {
    const ch = this.#readySync();
    return withOutputSync(src, dst, (inFd, outFd, total) => {
      const splitter = new FrameSplitter(ch.slotSize, ch.slotSize);
      const buf = Buffer.allocUnsafe(ch.slotSize);
      let bytesOut = 0;
      for (let pos = 0; ; ) {
        const n = fs.readSync(inFd, buf, 0, buf.length, pos);
        if (n === 0) break;
        pos += n;
        for (const batch of splitter.push(Buffer.from(buf.subarray(0, n)))) {
          const out = this.#chunkSync(OP.DECOMPRESS_FRAMED, framedPrepare(batch), copyOut, batch.offset);
          writeAllSync(outFd, out);
          bytesOut += out.length;
          options.onProgress?.(batch.offset + batch.data.length, total);
        }
      }
      splitter.end();
      return { bytesIn: total, bytesOut };
    });
  }

  /** A Transform from plain bytes to a framed snappy stream. */
  createCompressStream(): Transform {
    let buffered: Buffer[] = [];
    let bufferedLen = 0;
    let started = false;
    const pending: Array<Promise<Buffer>> = [];
    const submit = (piece: Buffer) => {
      if (!started) {
        t.push(STREAM_IDENTIFIER);
        started = true;
      }
      const p = this.#chunk(OP.COMPRESS_FRAMED, compressPrepare(piece), copyOut);
      p.catch(() => undefined);
      pending.push(p);
    };
    const drain = async (keep: number) => {
      while (pending.length > keep) t.push(await pending.shift()!);
    };
    const t: Transform = new Transform({
      transform: (chunk: Buffer, _enc, cb: TransformCallback) => {
        void (async () => {
          const ch = await this.#ready();
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
  createDecompressStream(): Transform {
    let splitter: FrameSplitter | undefined;
    const pending: Array<Promise<Buffer>> = [];
    const t: Transform = new Transform({
      transform: (chunk: Buffer, _enc, cb: TransformCallback) => {
        void (async () => {
          const ch = await this.#ready();
          splitter ??= new FrameSplitter(ch.slotSize, ch.slotSize);
          for (const batch of splitter.push(chunk)) {
            const p = this.#chunk(OP.DECOMPRESS_FRAMED, framedPrepare(batch), copyOut, batch.offset);
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

  // ---- lifetime -----------------------------------------------------------

  /** Disconnects; calls still running fail with ERR_TINYFILE_CLOSED. Idempotent. */
  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  async #close(): Promise<void> {
    this.#closed = true;
    if (this.#reconnectTimer !== undefined) clearInterval(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    await this.#connecting?.catch(() => undefined);
    this.#channel?.close();
    this.#scratch.clear();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Test hook; see unsafe.ts. */
  async [kUnsafeSubmit](req: UnsafeRequest): Promise<UnsafeResult> {
    const ch = await this.#ready();
    const slot = await ch.acquire();
    const data = ch.data(slot);
    const h = ch.header(slot);
    Atomics.store(ch.words, h + S_OP, req.op);
    for (const [k, v] of Object.entries(req.words)) Atomics.store(ch.words, h + Number(k), v);
    req.data?.copy(data, 0);
    return new Promise((resolve, reject) => {
      ch.publish(slot, (_s, failed) => {
        if (ch.dead !== undefined) return reject(ch.dead);
        const outLen = Atomics.load(ch.words, h + S_OUT_LEN);
        const status = STATUS_NAME[Atomics.load(ch.words, h + S_STATUS)] ?? 'unknown';
        resolve({ failed, status, outLen, message: failed ? data.toString('utf8', 0, Math.max(0, Math.min(outLen, 2000))) : '' });
      });
    });
  }
}

function checkInput(input: unknown): asserts input is Uint8Array {
  if (!(input instanceof Uint8Array)) throw new TinyFileError('ERR_INVALID_ARG_TYPE', 'input must be a Buffer or Uint8Array');
}

function compressPrepare(piece: Uint8Array): Prepare {
  return (data, words, h) => {
    data.set(piece, 0);
    Atomics.store(words, h + S_IN_LEN, piece.length);
  };
}

/** Pieces of a raw block for parallel decoding, or null to decode it sequentially. */
function independentPieces(block: Uint8Array, start: number, declared: number, ch: Channel): RawPiece[] | null {
  if (ch.slots < 2 || declared < SPLIT_MIN_BLOCK) return null;
  const target = Math.max(SPLIT_MIN, Math.min(Math.ceil(declared / ch.slots), ch.slotSize >>> 1));
  const pieces = splitRawBlock(block, start, declared, { target, maxIn: ch.slotSize, maxOut: ch.slotSize });
  return pieces !== null && pieces.length > 1 ? pieces : null;
}

function piecePrepare(block: Uint8Array, p: RawPiece): Prepare {
  return (data, words, h) => {
    data.set(block.subarray(p.inStart, p.inEnd), 0);
    Atomics.store(words, h + S_IN_LEN, p.inEnd - p.inStart);
    Atomics.store(words, h + S_HIST_LEN, 0);
    Atomics.store(words, h + S_OUT_LIMIT, p.outEnd - p.outStart);
    Atomics.store(words, h + S_LITERAL, 0);
    Atomics.store(words, h + S_COPY_LEFT, 0);
    Atomics.store(words, h + S_COPY_OFFSET, 0);
    Atomics.store(words, h + S_PRODUCED_LO, p.outStart % 2 ** 32 | 0);
    Atomics.store(words, h + S_PRODUCED_HI, Math.floor(p.outStart / 2 ** 32));
  };
}

function pieceComplete(d: Done, p: RawPiece, out: Buffer): void {
  const consumed = Atomics.load(d.words, d.h + S_CONSUMED);
  const whole = Atomics.load(d.words, d.h + S_LITERAL) === 0 && Atomics.load(d.words, d.h + S_COPY_LEFT) === 0;
  // Sizes come from the daemon, and must be exactly what the piece decodes to.
  if (d.outLen !== p.outEnd - p.outStart || consumed !== p.inEnd - p.inStart || !whole) {
    throw new TinyFileError('ERR_TINYFILE_PROTOCOL', `tinyd decoded a piece to ${d.outLen} bytes from ${consumed}, not ${p.outEnd - p.outStart} from ${p.inEnd - p.inStart}`);
  }
  d.data.copy(out, p.outStart, 0, d.outLen);
}

function framedPrepare(batch: FrameBatch): Prepare {
  return (data, words, h) => {
    batch.data.copy(data, 0);
    Atomics.store(words, h + S_IN_LEN, batch.data.length);
  };
}

/** The smallest piece a block is cut into. */
const SPLIT_MIN = 64 * 1024;
/**
 * Smaller blocks decode sequentially. Finding the cuts walks every element
 * on the client (≈ 1.3 ms per MiB of text here, a quarter of decoding it):
 * at 1 MiB that ate the gain of two workers (5.3 ms split vs 4.9 ms
 * sequential) and cost a CPU-bound pair of clients a third of their rate;
 * at 64 MiB one client decodes 1.3× faster split (275 vs 356 ms).
 */
const SPLIT_MIN_BLOCK = 8 * 1024 * 1024;

function varintHead(n: number): Buffer {
  const head = Buffer.allocUnsafe(varintLength(n));
  writeVarint(n, head, 0);
  return head;
}

function copyOut(d: Done): Buffer {
  return Buffer.from(d.data.subarray(0, d.outLen));
}

/** Awaits all; on failure still waits for the rest so no slot is left mid-request, then throws the first error. */
async function settleAll<T>(ps: Array<Promise<T>>): Promise<T[]> {
  const r = await Promise.allSettled(ps);
  const bad = r.find((x) => x.status === 'rejected');
  if (bad !== undefined) throw (bad as PromiseRejectedResult).reason;
  return r.map((x) => (x as PromiseFulfilledResult<T>).value);
}

/**
 * The client side of decompressing one raw block through segments: the
 * decoder state and the last 64 KiB of output travel with each chunk, so
 * tinyd keeps nothing between chunks.
 */
class RawDecode {
  readonly #block: Uint8Array;
  readonly #out: Buffer;
  readonly #declared: number;
  inPos: number;
  #produced = 0;
  #literal = 0;
  #copyLeft = 0;
  #copyOffset = 0;
  #sent = 0;
  #hist = 0;
  finished = false;

  constructor(block: Uint8Array, maxOutputLength: number) {
    const { value, next } = readVarint(block);
    if (value > maxOutputLength) {
      throw new TinyFileError('ERR_TINYFILE_TOO_LARGE', `the block declares ${value} bytes, more than maxOutputLength ${maxOutputLength}; raise it in TinyFile.connect`);
    }
    this.#block = block;
    this.#declared = value;
    this.#out = Buffer.allocUnsafe(value);
    this.inPos = next;
    this.#check();
  }

  prepare: Prepare = (data, words, h) => {
      const slotSize = data.length;
      const hist = Math.min(HISTORY, this.#produced);
      const inLen = Math.min(slotSize - hist, this.#block.length - this.inPos);
      this.#sent = inLen;
      this.#hist = hist;
      this.#out.copy(data, 0, this.#produced - hist, this.#produced);
      data.set(this.#block.subarray(this.inPos, this.inPos + inLen), hist);
      Atomics.store(words, h + S_IN_LEN, inLen);
      Atomics.store(words, h + S_HIST_LEN, hist);
      Atomics.store(words, h + S_OUT_LIMIT, Math.min(slotSize - hist, this.#declared - this.#produced));
      Atomics.store(words, h + S_LITERAL, this.#literal);
      Atomics.store(words, h + S_COPY_LEFT, this.#copyLeft);
      Atomics.store(words, h + S_COPY_OFFSET, this.#copyOffset);
      Atomics.store(words, h + S_PRODUCED_LO, this.#produced % 2 ** 32 | 0);
      Atomics.store(words, h + S_PRODUCED_HI, Math.floor(this.#produced / 2 ** 32));
  };

  complete = (d: Done): void => {
    const consumed = Atomics.load(d.words, d.h + S_CONSUMED);
    // Sizes come from the daemon: check them before copying.
    if (d.outLen < 0 || d.outLen > this.#declared - this.#produced || this.#hist + d.outLen > d.data.length || consumed < 0 || consumed > this.#sent) {
      throw new TinyFileError('ERR_TINYFILE_PROTOCOL', 'tinyd answered with out-of-range lengths');
    }
    // tinyd decodes in place, right after the history it was given.
    d.data.copy(this.#out, this.#produced, this.#hist, this.#hist + d.outLen);
    this.#produced += d.outLen;
    this.#literal = Atomics.load(d.words, d.h + S_LITERAL);
    this.#copyLeft = Atomics.load(d.words, d.h + S_COPY_LEFT);
    this.#copyOffset = Atomics.load(d.words, d.h + S_COPY_OFFSET);
    const before = this.inPos;
    this.inPos += consumed;
    if (consumed === 0 && d.outLen === 0) {
      // No progress: a tag cut by the end of the input, or more data than declared.
      if (this.#produced >= this.#declared) throw new CorruptInputError(`snappy data decodes to more than the declared ${this.#declared} bytes`, before);
      throw new CorruptInputError('truncated snappy tag at the end of the input', before);
    }
    this.#check();
  };

  #check(): void {
    const inputDone = this.inPos >= this.#block.length;
    if (this.#produced === this.#declared && this.#literal === 0 && this.#copyLeft === 0) {
      if (!inputDone) throw new CorruptInputError(`snappy data decodes to more than the declared ${this.#declared} bytes`, this.inPos);
      this.finished = true;
    } else if (inputDone && this.#copyLeft === 0) {
      throw new CorruptInputError(`snappy data ends after ${this.#produced} of the declared ${this.#declared} bytes`, this.inPos);
    }
  }

  result(): Buffer {
    return this.#out;
  }

  /** The output length the block declares. */
  get declared(): number {
    return this.#declared;
  }
}

async function readFull(fd: fs.promises.FileHandle, buf: Buffer, pos: number): Promise<number> {
  let n = 0;
  while (n < buf.length) {
    const r = await fd.read(buf, n, buf.length - n, pos + n);
    if (r.bytesRead === 0) break;
    n += r.bytesRead;
  }
  return n;
}

async function writeAll(fd: fs.promises.FileHandle, buf: Buffer): Promise<void> {
  let n = 0;
  while (n < buf.length) n += (await fd.write(buf, n, buf.length - n)).bytesWritten;
}

function writeAllSync(fd: number, buf: Buffer): void {
  let n = 0;
  while (n < buf.length) n += fs.writeSync(fd, buf, n, buf.length - n);
}

function tempName(dst: string): string {
  return path.join(path.dirname(dst), `.${path.basename(dst)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
}

/** Opens src, writes dst through a 0600 temporary file renamed into place on success. */
async function withOutput(src: string, dst: string, body: (inFd: fs.promises.FileHandle, outFd: fs.promises.FileHandle, total: number) => Promise<FileResult>): Promise<FileResult> {
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

function withOutputSync(src: string, dst: string, body: (inFd: number, outFd: number, total: number) => FileResult): FileResult {
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
