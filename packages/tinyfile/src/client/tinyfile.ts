// The client library: buffers (raw snappy blocks), files and streams (the
// snappy framing format), async and blocking. Every request is cut into
// chunks that fit one segment; chunks of one call, and of concurrent calls,
// are pipelined over the client's segments.
import type { Transform } from 'node:stream';

import { type DaemonError, TinyFileClosedError, TinyFileError } from '../errors';
import { compressChunkSize, STATUS_NAME } from '../protocol/layout';
import type { SlotHeader } from '../protocol/slot-header';
import { defaultSocketPath } from '../protocol/socket-path';
import * as blocks from './block-calls';
import { ScratchPool } from './block-gather';
import { Channel } from './channel';
import { type Done, failure, type Prepare, smallWork } from './chunking';
import { compressFile, compressFileSync, decompressFile, decompressFileSync } from './file-calls';
import type { ClientStats, ConnectOptions, FileOptions, FileResult } from './options';
import { createCompressStream, createDecompressStream } from './streams';
import { kUnsafeSubmit, type UnsafeRequest, type UnsafeResult } from './unsafe';

export type { ClientStats, ConnectOptions, FileOptions, FileResult } from './options';

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
  readonly #chunker: blocks.BlockChunker = {
    ready: () => this.#ready(),
    readySync: () => this.#readySync(),
    chunk: (op, prepare, complete, base, group, meanwhile) => this.#chunk(op, prepare, complete, base, group, meanwhile),
    chunkSync: (op, prepare, complete, base, meanwhile) => this.#chunkSync(op, prepare, complete, base, meanwhile),
    chunksSync: (op, prepares, complete, base, meanwhile) => this.#chunksSync(op, prepares, complete, base, meanwhile),
    nextGroup: () => this.#nextGroup(),
    chunkSize: () => this.#chunkSize(),
    segments: () => this.segments,
    scratch: this.#scratch,
    maxOutputLength: () => this.#opts.maxOutputLength,
  };

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

  #note(slot: SlotHeader): void {
    this.#stats.chunks++;
    const waited = slot.dispatchedAt - slot.seenAt;
    if (waited > this.#stats.maxWaitedChunks) this.#stats.maxWaitedChunks = waited;
  }

  #fill(ch: Channel, slot: number, op: number, prepare: Prepare, group: number): { data: Buffer; h: SlotHeader } {
    const data = ch.data(slot);
    const h = ch.header(slot);
    h.op = op;
    h.group = group;
    h.reqId = ++this.#reqId | 0;
    prepare(data, h);
    return { data, h };
  }

  /**
   * One chunk through one slot. `complete` runs while the slot's data is
   * still ours; `meanwhile` runs once the request is out, while tinyd works.
   */
  async #chunk<T>(op: number, prepare: Prepare, complete: (d: Done) => T, base = 0, group = 0, meanwhile?: () => void): Promise<T> {
    const ch = await this.#ready();
    const slot = await ch.acquire();
    const { data, h } = this.#fill(ch, slot, op, prepare, group);
    const small = smallWork(h, op);
    const p = new Promise<T>((resolve, reject) => {
      ch.publish(slot, (_s, failed) => {
        if (failed) return reject(failure(ch, data, h, base));
        this.#note(h);
        try {
          resolve(complete({ data, slot: h, outLen: h.outLen }));
        } catch (err) {
          reject(err as Error);
        }
      }, 'async', small);
    });
    meanwhile?.();
    return p;
  }

  #chunkSync<T>(op: number, prepare: Prepare, complete: (d: Done) => T, base = 0, meanwhile?: () => void): T {
    const ch = this.#readySync();
    const slot = ch.acquireSync();
    const { data, h } = this.#fill(ch, slot, op, prepare, 0);
    let result: { ok: true; value: T } | { ok: false; err: Error } | undefined;
    ch.publish(slot, (_s, failed) => {
      if (failed) {
        result = { ok: false, err: failure(ch, data, h, base) };
        return;
      }
      this.#note(h);
      try {
        result = { ok: true, value: complete({ data, slot: h, outLen: h.outLen }) };
      } catch (err) {
        result = { ok: false, err: err as Error };
      }
    }, 'sync');
    meanwhile?.();
    ch.waitSync(slot, smallWork(h, op));
    if (result === undefined) throw ch.dead ?? new TinyFileError('ERR_TINYFILE_INTERNAL', 'the request ended without a result');
    if (!result.ok) throw result.err;
    return result.value;
  }

  /**
   * Blocking: all `prepares` out at once, on as many segments as the client
   * has (a piece waits for a free one), so several workers share the call;
   * `complete(i, …)` runs for each answer. Throws the first failure once
   * every piece is answered, so no slot is left mid-request. `meanwhile`
   * runs once the first piece is out.
   */
  #chunksSync(op: number, prepares: Prepare[], complete: (i: number, d: Done) => void, base: (i: number) => number = () => 0, meanwhile?: () => void): void {
    // One piece takes the single-request path: it waits for its answer by
    // spinning on the slot, a round trip the batch's publish-and-wait would
    // lengthen for small calls.
    if (prepares.length === 1) {
      this.#chunkSync(op, prepares[0]!, (d) => complete(0, d), base(0), meanwhile);
      return;
    }
    const ch = this.#readySync();
    const group = prepares.length > 1 && prepares.length <= ch.slots ? this.#nextGroup() : 0;
    let first: Error | undefined;
    const slots: number[] = [];
    for (let i = 0; i < prepares.length; i++) {
      const slot = ch.acquireSync();
      const { data, h } = this.#fill(ch, slot, op, prepares[i]!, group);
      slots.push(slot);
      ch.publish(slot, (_s, failed) => {
        if (failed) {
          first ??= failure(ch, data, h, base(i));
          return;
        }
        this.#note(h);
        try {
          complete(i, { data, slot: h, outLen: h.outLen });
        } catch (err) {
          first ??= err as Error;
        }
      }, 'sync');
      if (i === 0) meanwhile?.();
    }
    // A slot number may have been reused by a later piece: waiting on it then waits for that one, which is due too.
    for (const slot of slots) ch.waitSync(slot);
    if (first !== undefined) throw first;
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
  compress(input: Uint8Array): Promise<Buffer> {
    return blocks.compress(this.#chunker, input);
  }

  compressSync(input: Uint8Array): Buffer {
    return blocks.compressSync(this.#chunker, input);
  }

  /**
   * Compresses `input` into one raw snappy block written to `target`, from its
   * start; resolves with the block's length. Nothing is allocated for the
   * output, and each piece is copied to its place as soon as the pieces
   * before it are in. `target` must hold `maxCompressedLength(input.length)`
   * bytes, the most any block of that input can take
   * (ERR_TINYFILE_BUFFER_TOO_SMALL otherwise, before anything is sent), and
   * must not overlap `input`; leave both alone until the promise settles.
   * After a failure its contents are unspecified.
   */
  compressInto(input: Uint8Array, target: Uint8Array): Promise<number> {
    return blocks.compressInto(this.#chunker, input, target);
  }

  /** compressInto(), blocking. */
  compressIntoSync(input: Uint8Array, target: Uint8Array): number {
    return blocks.compressIntoSync(this.#chunker, input, target);
  }

  /** Decompresses one raw snappy block. */
  decompress(block: Uint8Array): Promise<Buffer> {
    return blocks.decompress(this.#chunker, block);
  }

  decompressSync(block: Uint8Array): Buffer {
    return blocks.decompressSync(this.#chunker, block);
  }

  /**
   * Decompresses one raw snappy block into `target`, from its start; resolves
   * with the number of bytes written (`uncompressedLength(block)`). Nothing is
   * allocated for the output, so a caller that reuses one target per stream
   * of blocks leaves the garbage collector nothing to do for it. `target`
   * must hold the whole output (ERR_TINYFILE_BUFFER_TOO_SMALL otherwise,
   * before anything is sent) and must not overlap `block`; leave it alone
   * until the promise settles. After a failure its contents are unspecified.
   */
  decompressInto(block: Uint8Array, target: Uint8Array): Promise<number> {
    return blocks.decompressInto(this.#chunker, block, target);
  }

  /** decompressInto(), blocking. */
  decompressIntoSync(block: Uint8Array, target: Uint8Array): number {
    return blocks.decompressIntoSync(this.#chunker, block, target);
  }

  // ---- files and streams: the snappy framing format ----------------------

  /** Compresses the file `src` into `dst` (framing format; written to a temporary file, then renamed). */
  compressFile(src: string, dst: string, options: FileOptions = {}): Promise<FileResult> {
    return compressFile(this.#chunker, src, dst, options);
  }

  /** Decompresses the framed file `src` into `dst`; checks every chunk's CRC-32C. */
  decompressFile(src: string, dst: string, options: FileOptions = {}): Promise<FileResult> {
    return decompressFile(this.#chunker, src, dst, options);
  }

  compressFileSync(src: string, dst: string, options: FileOptions = {}): FileResult {
    return compressFileSync(this.#chunker, src, dst, options);
  }

  decompressFileSync(src: string, dst: string, options: FileOptions = {}): FileResult {
    return decompressFileSync(this.#chunker, src, dst, options);
  }

  /** A Transform from plain bytes to a framed snappy stream. */
  createCompressStream(): Transform {
    return createCompressStream(this.#chunker);
  }

  /** A Transform from a framed snappy stream to plain bytes; checks every CRC-32C. */
  createDecompressStream(): Transform {
    return createDecompressStream(this.#chunker);
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
    h.op = req.op;
    for (const [k, v] of Object.entries(req.words)) h.storeWord(Number(k), v);
    req.data?.copy(data, 0);
    return new Promise((resolve, reject) => {
      ch.publish(slot, (_s, failed) => {
        if (ch.dead !== undefined) return reject(ch.dead);
        const outLen = h.outLen;
        const status = STATUS_NAME[h.status] ?? 'unknown';
        resolve({ failed, status, outLen, message: failed ? data.toString('utf8', 0, Math.max(0, Math.min(outLen, 2000))) : '' });
      });
    });
  }
}
