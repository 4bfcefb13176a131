import { EventEmitter } from 'node:events';

import { FrameType } from '../constants';
import { RmmapArgumentError, RmmapClosedError, RmmapError } from '../errors';
import * as msg from '../messages';
import { CachedReads } from './cached-read';
import type { ClientConnection, ConnectionMember } from './connection';
import { copyInto } from './copy-into';
import { readDirect, readOnce } from './direct-read';
import { Growth } from './growth';
import { MappingState } from './mapping-state';
import { PageCache } from './page-cache';
import { ReadAhead, STREAM_MIN } from './read-ahead';
import { remap } from './remap';
import { expectReply } from './replies';
import { writeFrame } from './write-frame';

export interface MappingOptions {
  /** Ask for write access (default true). */
  writable?: boolean;
  /** Bytes of page cache this mapping may hold (default 64 MiB; 0 disables caching). */
  cacheSize?: number;
  /** Cache page size in bytes (default 64 KiB). */
  pageSize?: number;
  /** Bytes fetched ahead of a sequential read (default 4 MiB; 0 disables; needs cacheSize >= 2 × readahead). */
  readahead?: number;
}

/** Emitted as 'change' when bytes of the mapping changed on the server (another client's write). */
export interface ChangeEvent {
  /** Offset within the mapping. */
  offset: number;
  length: number;
  /** The file's version after the change. */
  version: number;
}

/** Emitted as 'reconnect' after the connection was re-established and the mapping re-mapped. */
export interface ReconnectEvent {
  attempts: number;
  /** False when the cache had to be dropped (the file changed meanwhile or the server restarted). */
  cacheKept: boolean;
}

/**
 * A section of a remote file mapped through rmmapd. Offsets given to its
 * methods are relative to the section's first byte (the `offset` passed to
 * rmmap()).
 *
 * Reads are served from a page cache when the pages are valid; NOTIFY frames
 * from the server invalidate pages other clients changed and surface as
 * 'change' events. Writes are applied by the server atomically (per frame) in
 * arrival order; the returned promise resolves once the server applied it.
 *
 * Events: 'change' (ChangeEvent), 'reconnect' (ReconnectEvent),
 * 'unavailable' (Error: the server stayed away past the reconnect timeout),
 * 'lost' (Error: after a reconnect the server refused to map the file again).
 */
export class RemoteMapping extends EventEmitter implements ConnectionMember {
  readonly path: string;
  /** File offset of the mapping's first byte. */
  readonly offset: number;
  readonly writable: boolean;
  readonly #state: MappingState;
  readonly #readahead: number;
  readonly #cached: CachedReads;
  readonly #ahead: ReadAhead;
  readonly #growth: Growth;
  readonly #release: () => void;
  #lastEnd = -1;
  #closing: Promise<void> | undefined;
  #lostError: Error | undefined;
  #cacheKept = true;

  /** @internal Use rmmap(). */
  constructor(conn: ClientConnection, path: string, mapped: msg.Mapped, options: MappingOptions, release: () => void) {
    super();
    this.path = path;
    this.offset = mapped.offset;
    this.writable = mapped.writable;
    // A page must fit in one DATA frame of this server.
    let page = options.pageSize ?? 64 * 1024;
    while (page > 512 && page > conn.maxFrame - 64) page >>= 1;
    const cache = new PageCache(page, options.cacheSize ?? 64 * 1024 * 1024);
    this.#readahead = options.readahead ?? 4 * 1024 * 1024;
    this.#release = release;
    this.#state = new MappingState(conn, path, mapped, cache, (n) => this.#onNotify(n));
    this.#cached = new CachedReads(this.#state);
    this.#ahead = new ReadAhead(this.#state, this.#readahead);
    this.#growth = new Growth(this.#state);
    conn.members.add(this);
  }

  /** Bytes currently mapped (grows when reads or writes go past it). */
  get length(): number {
    return this.#state.length;
  }

  /** The file's size when the mapping was last (re)mapped. */
  get fileSize(): number {
    return this.#state.fileSize;
  }

  /** The newest file version this mapping has seen (bumped by every write to the file). */
  get version(): number {
    return this.#state.version;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Bytes held by the page cache. */
  get cachedBytes(): number {
    return this.#state.cache.bytes;
  }

  /**
   * Reads `count` bytes at `offset`. Past the mapped section the mapping is
   * extended transparently; past the end of the file the result is short.
   */
  async read(offset: number, count: number): Promise<Buffer> {
    this.#check();
    checkRange(offset, count, 'read');
    if (offset + count > this.#state.length) await this.#growth.ensureLength(offset + count);
    const end = Math.min(offset + count, this.#state.length);
    if (offset >= end) return Buffer.alloc(0);
    const sequential = offset === this.#lastEnd;
    this.#lastEnd = end;
    if (sequential && end - offset >= STREAM_MIN && this.#readahead > 0) {
      const r = await this.#ahead.read(offset, end, false);
      if (!r.pooled) return r.data;
      // Read-ahead a readInto() stream started: hand out a copy, recycle the buffer.
      const out = Buffer.from(r.data);
      this.#ahead.recycle(r.data);
      return out;
    }
    return this.#readAt(offset, end, sequential);
  }

  /**
   * Like read(), into `target` (reading `target.length` bytes at `offset`);
   * resolves with the number of bytes read (short past the end of the file).
   * A sequential stream of large readInto() calls recycles its read-ahead
   * buffers, so it allocates nothing per read.
   */
  async readInto(offset: number, target: Uint8Array): Promise<number> {
    this.#check();
    if (!(target instanceof Uint8Array)) throw new RmmapArgumentError('ERR_INVALID_ARG_TYPE', 'readInto target must be a Buffer or Uint8Array');
    const count = target.length;
    checkRange(offset, count, 'readInto');
    if (offset + count > this.#state.length) await this.#growth.ensureLength(offset + count);
    const end = Math.min(offset + count, this.#state.length);
    if (offset >= end) return 0;
    const sequential = offset === this.#lastEnd;
    this.#lastEnd = end;
    let data: Buffer;
    let pooled = false;
    if (sequential && end - offset >= STREAM_MIN && this.#readahead > 0) {
      const r = await this.#ahead.read(offset, end, true);
      data = r.data;
      pooled = r.pooled;
    } else {
      data = await this.#readAt(offset, end, sequential);
    }
    target.set(data);
    if (pooled) this.#ahead.recycle(data);
    return data.length;
  }

  async #readAt(offset: number, end: number, sequential: boolean): Promise<Buffer> {
    const state = this.#state;
    const cache = state.cache;
    this.#ahead.clear();
    if (cache.capacity < cache.pageSize && end - offset <= state.maxChunk() && state.writes.allAnswered) {
      // Uncached small read: the reply payload is ours, hand it over as is.
      return readOnce(state, offset, end);
    }
    const out = Buffer.allocUnsafe(end - offset);
    if (cache.capacity < cache.pageSize) await readDirect(state, offset, end, out);
    else await this.#cached.fill(offset, end, out);
    if (sequential && this.#readahead > 0 && cache.capacity >= 2 * this.#readahead && end < state.length) {
      this.#cached.prefetch(end, Math.min(state.length, end + this.#readahead));
    }
    return out;
  }

  /**
   * The bytes at [offset, offset+count) if every page is cached and valid,
   * else undefined. Synchronous: it never waits for the network.
   */
  readCached(offset: number, count: number): Buffer | undefined {
    this.#check();
    checkRange(offset, count, 'readCached');
    const end = offset + count;
    if (end > this.#state.length) return undefined;
    const out = Buffer.allocUnsafe(count);
    const cache = this.#state.cache;
    const P = cache.pageSize;
    for (let i = Math.floor(offset / P); i * P < end; i++) {
      const page = cache.get(i);
      if (page === undefined) return undefined;
      copyInto(out, offset, end, i * P, page);
    }
    return out;
  }

  /**
   * Writes `data` at `offset`; resolves with the file version the write
   * produced (its place in the server's applied order) once applied. Each
   * frame (up to the server's max frame size) is applied atomically; larger
   * writes are split. Writes past the end of the file are refused: rmmap
   * does not grow files.
   */
  write(offset: number, data: Uint8Array): Promise<number> {
    // Not an async function: a write that fits one frame returns the
    // frame's own promise, without the extra turns of adopting it.
    try {
      this.#check();
      if (!(data instanceof Uint8Array)) throw new RmmapArgumentError('ERR_INVALID_ARG_TYPE', 'write data must be a Buffer or Uint8Array');
      checkRange(offset, data.length, 'write');
      if (!this.writable) throw new RmmapError('ERR_RMMAP_READ_ONLY', `${this.path} was mapped read-only; map it with { writable: true }`);
      if (data.length === 0) return Promise.resolve(this.#state.version);
      if (offset + data.length <= this.#state.length && data.length <= this.#state.maxChunk()) return this.#writeFrame(offset, Buffer.from(data));
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.#writeSlow(offset, data);
  }

  async #writeSlow(offset: number, data: Uint8Array): Promise<number> {
    if (offset + data.length > this.#state.length) await this.#growth.ensureLength(offset + data.length);
    if (offset + data.length > this.#state.length) {
      throw new RmmapError(
        'ERR_RMMAP_RANGE',
        `write [${offset}, ${offset + data.length}) goes past the end of ${this.path} (the mapping can reach ${this.#state.length} bytes); rmmap does not grow files`,
      );
    }
    const chunk = this.#state.maxChunk();
    if (data.length <= chunk) return this.#writeFrame(offset, Buffer.from(data));
    const parts: Promise<number>[] = [];
    for (let at = 0; at < data.length; at += chunk) {
      const piece = Buffer.from(data.subarray(at, Math.min(data.length, at + chunk)));
      parts.push(this.#writeFrame(offset + at, piece));
    }
    return Math.max(...(await Promise.all(parts)));
  }

  #writeFrame(at: number, piece: Buffer): Promise<number> {
    // Write-through: cached pages show our own write at once (read-your-writes).
    this.#state.cache.patch(at, piece);
    this.#ahead.drop(at, at + piece.length);
    return writeFrame(this.#state, at, piece);
  }

  /** Persists the mapping on the server (msync + fsync); resolves when done. */
  async sync(): Promise<void> {
    this.#check();
    const f = await this.#state.conn.request((id) => msg.encodeMapIdBody(FrameType.SYNC, id, this.#state.wireId));
    expectReply(f, FrameType.OK, 'SYNC');
  }

  /**
   * Unmaps: waits for this mapping's writes, tells the server (which persists
   * the file when this was its last mapping) and drops the cache. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#state.closing = true;
      this.#closing = this.#close();
    }
    return this.#closing;
  }

  /** Closes the mapping, as close() does. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @deprecated Use close(); this alias calls it. */
  unmap(): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    const state = this.#state;
    const conn = state.conn;
    try {
      await state.writes.settled();
      // Not connected: the server already dropped the mapping with the connection.
      if (this.#lostError === undefined && conn.state === 'ready') {
        const f = await conn.request((id) => msg.encodeMapIdBody(FrameType.UNMAP, id, state.wireId), {
          // The server unmaps on disconnect anyway.
          onLost: () => true,
        });
        if (f.type !== FrameType.OK) expectReply(f, FrameType.OK, 'UNMAP');
      }
    } catch (e) {
      // The server is unreachable or already forgot the mapping: it unmaps on disconnect.
      if (!(e instanceof RmmapError)) throw e;
    } finally {
      state.cache.clear();
      this.#cached.clear();
      this.#ahead.release();
      state.unbindAll();
      conn.members.delete(this);
      this.#release();
    }
  }

  #check(): void {
    if (this.#closing !== undefined) throw new RmmapClosedError(`the mapping of ${this.path}`);
    if (this.#lostError !== undefined) throw this.#lostError;
  }

  #onNotify(n: msg.Notify): void {
    this.#state.seeVersion(n.version);
    this.#state.cache.invalidate(n.start, n.end);
    this.#ahead.drop(n.start, n.end);
    this.emit('change', { offset: n.start, length: n.end - n.start, version: n.version } satisfies ChangeEvent);
  }

  /** @internal ConnectionMember: called on the new connection before queued requests are resent. */
  async remap(epochChanged: boolean): Promise<void> {
    if (this.#closing !== undefined || this.#lostError !== undefined) return;
    await remap(this.#state, epochChanged, {
      mapped: (cacheKept) => {
        this.#cacheKept = cacheKept;
        this.#ahead.clear();
        if (!cacheKept) this.emit('change', { offset: 0, length: this.#state.length, version: this.#state.version } satisfies ChangeEvent);
      },
      lost: (err) => {
        this.#lostError = err;
        this.#state.cache.clear();
        this.emit('lost', err);
      },
    });
  }

  /** @internal ConnectionMember */
  reconnected(attempts: number): void {
    if (this.#closing !== undefined) return;
    this.emit('reconnect', { attempts, cacheKept: this.#cacheKept } satisfies ReconnectEvent);
  }

  /** @internal ConnectionMember */
  failed(err: Error): void {
    if (this.#closing !== undefined) return;
    this.#state.cache.clear();
    if (this.listenerCount('unavailable') > 0) this.emit('unavailable', err);
  }
}

function checkRange(offset: number, count: number, what: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(count) || count < 0) {
    throw new RmmapArgumentError('ERR_OUT_OF_RANGE', `${what}: offset and count must be non-negative integers, got ${offset} and ${count}`);
  }
}
