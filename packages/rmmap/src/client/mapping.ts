import { EventEmitter } from 'node:events';

import { FrameType } from '../constants';
import { RmmapArgumentError, RmmapClosedError, RmmapError, RmmapProtocolError, RmmapRemoteError } from '../errors';
import * as msg from '../messages';
import type { RawFrame } from '../parser';
import type { ClientConnection, ConnectionMember } from './connection';
import { PageCache } from './page-cache';

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

const PREFETCH_RUN = 1024 * 1024;
/** Sequential reads at least this large stream past the page cache (see #streamRead). */
const STREAM_MIN = 256 * 1024;

interface StreamEntry {
  length: number;
  data: Promise<Buffer>;
  /** The bytes sit in a recycled buffer that goes back to the pool once copied out. */
  pooled: boolean;
}

const POOL_MAX = 64;

interface Run {
  start: number;
  data: Buffer;
}

interface PendingWrite {
  at: number;
  data: Buffer;
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
  readonly #conn: ClientConnection;
  readonly #cache: PageCache;
  readonly #readahead: number;
  readonly #wireIds = new Set<number>();
  readonly #inflight = new Map<number, Promise<Run>>();
  readonly #pendingWrites = new Set<PendingWrite>();
  /** Read-ahead of a sequential stream of large reads: start offset → the next read's bytes. */
  readonly #stream = new Map<number, StreamEntry>();
  /** Recycled read-ahead buffers of a readInto() stream. */
  readonly #pool: Buffer[] = [];
  readonly #release: () => void;
  #wireId: number;
  #length: number;
  #fileSize: number;
  #version: number;
  #lastEnd = -1;
  #extending: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #lostError: Error | undefined;

  /** @internal Use rmmap(). */
  constructor(conn: ClientConnection, path: string, mapped: msg.Mapped, options: MappingOptions, release: () => void) {
    super();
    this.#conn = conn;
    this.path = path;
    this.offset = mapped.offset;
    this.writable = mapped.writable;
    this.#wireId = mapped.mapId;
    this.#length = mapped.length;
    this.#fileSize = mapped.fileSize;
    this.#version = mapped.version;
    // A page must fit in one DATA frame of this server.
    let page = options.pageSize ?? 64 * 1024;
    while (page > 512 && page > conn.maxFrame - 64) page >>= 1;
    this.#cache = new PageCache(page, options.cacheSize ?? 64 * 1024 * 1024);
    this.#readahead = options.readahead ?? 4 * 1024 * 1024;
    this.#release = release;
    this.#bindWireId(mapped.mapId);
    conn.members.add(this);
  }

  /** @internal Sends MAP and resolves with the reply. */
  static async requestMap(
    conn: ClientConnection,
    path: string,
    offset: number,
    length: number,
    writable: boolean,
    control = false,
    onMapped?: (m: msg.Mapped) => void,
  ): Promise<msg.Mapped> {
    let mapped: msg.Mapped | undefined;
    await conn.request((id) => msg.encodeMap(id, { path, offset, length, writable }), {
      control,
      // In step with the frames: a NOTIFY for the new id may follow in the same read.
      settle: (reply) => {
        if (reply === undefined) return;
        mapped = msg.decodeMapped(expect(reply, FrameType.MAPPED, 'MAP'));
        onMapped?.(mapped);
      },
    });
    return mapped as msg.Mapped;
  }

  /** Bytes currently mapped (grows when reads or writes go past it). */
  get length(): number {
    return this.#length;
  }

  /** The file's size when the mapping was last (re)mapped. */
  get fileSize(): number {
    return this.#fileSize;
  }

  /** The newest file version this mapping has seen (bumped by every write to the file). */
  get version(): number {
    return this.#version;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Bytes held by the page cache. */
  get cachedBytes(): number {
    return this.#cache.bytes;
  }

  /**
   * Reads `count` bytes at `offset`. Past the mapped section the mapping is
   * extended transparently; past the end of the file the result is short.
   */
  async read(offset: number, count: number): Promise<Buffer> {
    this.#check();
    checkRange(offset, count, 'read');
    if (offset + count > this.#length) await this.#ensureLength(offset + count);
    const end = Math.min(offset + count, this.#length);
    if (offset >= end) return Buffer.alloc(0);
    const sequential = offset === this.#lastEnd;
    this.#lastEnd = end;
    if (sequential && end - offset >= STREAM_MIN && this.#readahead > 0) {
      const r = await this.#streamRead(offset, end, false);
      if (!r.pooled) return r.data;
      // Read-ahead a readInto() stream started: hand out a copy, recycle the buffer.
      const out = Buffer.from(r.data);
      this.#recycle(r.data);
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
    if (offset + count > this.#length) await this.#ensureLength(offset + count);
    const end = Math.min(offset + count, this.#length);
    if (offset >= end) return 0;
    const sequential = offset === this.#lastEnd;
    this.#lastEnd = end;
    let data: Buffer;
    let pooled = false;
    if (sequential && end - offset >= STREAM_MIN && this.#readahead > 0) {
      const r = await this.#streamRead(offset, end, true);
      data = r.data;
      pooled = r.pooled;
    } else {
      data = await this.#readAt(offset, end, sequential);
    }
    target.set(data);
    if (pooled) this.#recycle(data);
    return data.length;
  }

  async #readAt(offset: number, end: number, sequential: boolean): Promise<Buffer> {
    if (this.#stream.size > 0) this.#stream.clear();
    if (this.#cache.capacity < this.#cache.pageSize && end - offset <= this.#maxChunk() && this.#pendingWrites.size === 0) {
      // Uncached small read: the reply payload is ours, hand it over as is.
      return this.#readOnce(offset, end);
    }
    const out = Buffer.allocUnsafe(end - offset);
    if (this.#cache.capacity < this.#cache.pageSize) await this.#fetchDirect(offset, end, out);
    else await this.#fill(offset, end, out);
    if (sequential && this.#readahead > 0 && this.#cache.capacity >= 2 * this.#readahead && end < this.#length) this.#prefetch(end, Math.min(this.#length, end + this.#readahead));
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
    if (end > this.#length) return undefined;
    const out = Buffer.allocUnsafe(count);
    const P = this.#cache.pageSize;
    for (let i = Math.floor(offset / P); i * P < end; i++) {
      const page = this.#cache.get(i);
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
      if (data.length === 0) return Promise.resolve(this.#version);
      if (offset + data.length <= this.#length && data.length <= this.#maxChunk()) return this.#writeFrame(offset, Buffer.from(data));
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.#writeSlow(offset, data);
  }

  async #writeSlow(offset: number, data: Uint8Array): Promise<number> {
    if (offset + data.length > this.#length) await this.#ensureLength(offset + data.length);
    if (offset + data.length > this.#length) {
      throw new RmmapError(
        'ERR_RMMAP_RANGE',
        `write [${offset}, ${offset + data.length}) goes past the end of ${this.path} (the mapping can reach ${this.#length} bytes); rmmap does not grow files`,
      );
    }
    const chunk = this.#maxChunk();
    if (data.length <= chunk) return this.#writeFrame(offset, Buffer.from(data));
    const parts: Promise<number>[] = [];
    for (let at = 0; at < data.length; at += chunk) {
      const piece = Buffer.from(data.subarray(at, Math.min(data.length, at + chunk)));
      parts.push(this.#writeFrame(offset + at, piece));
    }
    return Math.max(...(await Promise.all(parts)));
  }

  /** Persists the mapping on the server (msync + fsync); resolves when done. */
  async sync(): Promise<void> {
    this.#check();
    const f = await this.#conn.request((id) => msg.encodeMapIdBody(FrameType.SYNC, id, this.#wireId));
    expect(f, FrameType.OK, 'SYNC');
  }

  /**
   * Unmaps: waits for this mapping's writes, tells the server (which persists
   * the file when this was its last mapping) and drops the cache. Idempotent.
   */
  unmap(): Promise<void> {
    return (this.#closing ??= this.#unmap());
  }

  /** Alias of unmap(). */
  close(): Promise<void> {
    return this.unmap();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.unmap();
  }

  async #unmap(): Promise<void> {
    try {
      await Promise.allSettled([...this.#pendingWritePromises]);
      // Not connected: the server already dropped the mapping with the connection.
      if (this.#lostError === undefined && this.#conn.state === 'ready') {
        const f = await this.#conn.request((id) => msg.encodeMapIdBody(FrameType.UNMAP, id, this.#wireId), {
          // The server unmaps on disconnect anyway.
          onLost: () => true,
        });
        if (f.type !== FrameType.OK) expect(f, FrameType.OK, 'UNMAP');
      }
    } catch (e) {
      // The server is unreachable or already forgot the mapping: it unmaps on disconnect.
      if (!(e instanceof RmmapError)) throw e;
    } finally {
      this.#cache.clear();
      this.#inflight.clear();
      this.#stream.clear();
      this.#pool.length = 0;
      for (const id of this.#wireIds) this.#conn.notifyTargets.delete(id);
      this.#wireIds.clear();
      this.#conn.members.delete(this);
      this.#release();
    }
  }

  readonly #pendingWritePromises = new Set<Promise<number>>();

  #writeFrame(at: number, piece: Buffer): Promise<number> {
    const w: PendingWrite = { at, data: piece };
    this.#pendingWrites.add(w);
    // Write-through: cached pages show our own write at once (read-your-writes).
    this.#cache.patch(at, piece);
    this.#dropStream(at, at + piece.length);
    const p = this.#conn
      .request((id) => msg.encodeWrite(id, this.#wireId, this.#conn.lowWater, at, piece), {
        isWrite: true,
        settle: (reply) => {
          // In step with the frames: a DATA behind this WROTE must not lay the write over again.
          this.#pendingWrites.delete(w);
          // Not applied: cached pages must not keep our bytes.
          if (reply?.type !== FrameType.WROTE) this.#cache.invalidate(at, at + piece.length);
        },
      })
      .then(
        (f) => {
          this.#pendingWritePromises.delete(p);
          const version = msg.decodeVersion(expect(f, FrameType.WROTE, 'WRITE'), 'WROTE');
          this.#seeVersion(version);
          return version;
        },
        (err: unknown) => {
          this.#pendingWritePromises.delete(p);
          throw err;
        },
      );
    this.#pendingWritePromises.add(p);
    return p;
  }

  #maxChunk(): number {
    // Leave room for the frame header and the WRITE/DATA fields.
    const limit = Math.max(1024, this.#conn.maxFrame - 64);
    const P = this.#cache.pageSize;
    return limit >= P ? limit - (limit % P) : limit;
  }

  #check(): void {
    if (this.#closing !== undefined) throw new RmmapClosedError(`the mapping of ${this.path}`);
    if (this.#lostError !== undefined) throw this.#lostError;
  }

  #seeVersion(v: number): void {
    if (v > this.#version) this.#version = v;
  }

  #bindWireId(id: number): void {
    this.#wireIds.add(id);
    this.#conn.notifyTargets.set(id, (n) => this.#onNotify(n));
  }

  #onNotify(n: msg.Notify): void {
    this.#seeVersion(n.version);
    this.#cache.invalidate(n.start, n.end);
    this.#dropStream(n.start, n.end);
    this.emit('change', { offset: n.start, length: n.end - n.start, version: n.version } satisfies ChangeEvent);
  }

  /** Copies [offset, end) into `out`, from the cache or from the server. */
  async #fill(offset: number, end: number, out: Buffer): Promise<void> {
    const P = this.#cache.pageSize;
    const waits: Promise<void>[] = [];
    const copyRun = (run: Run): void => {
      copyInto(out, offset, end, run.start, run.data);
    };
    const maxPages = Math.max(1, Math.floor(this.#maxChunk() / P));
    const last = Math.floor((end - 1) / P);
    let i = Math.floor(offset / P);
    while (i <= last) {
      const page = this.#cache.get(i);
      if (page !== undefined) {
        copyInto(out, offset, end, i * P, page);
        i++;
        continue;
      }
      const pending = this.#inflight.get(i);
      if (pending !== undefined) {
        waits.push(pending.then(copyRun));
        // A run covers consecutive pages; skip the ones it also covers.
        let j = i + 1;
        while (j <= last && this.#inflight.get(j) === pending) j++;
        i = j;
        continue;
      }
      let j = i + 1;
      while (j <= last && j - i < maxPages && !this.#cache.has(j) && !this.#inflight.has(j)) j++;
      waits.push(this.#fetch(i, j).then(copyRun));
      i = j;
    }
    await Promise.all(waits);
  }

  async #readOnce(start: number, stop: number, pooled = false): Promise<Buffer> {
    const f = await this.#conn.request(
      (id) => msg.encodeRead(id, this.#wireId, start, stop),
      pooled ? { sink: (length) => this.#poolTake(length) } : {},
    );
    const { version, data } = msg.decodeData(expect(f, FrameType.DATA, 'READ'));
    if (data.length !== stop - start) throw new RmmapProtocolError('ERR_RMMAP_BAD_FRAME', `DATA carried ${data.length} bytes for a READ of ${stop - start}`);
    this.#seeVersion(version);
    // Pooled payloads are views of a pool buffer by design; other small views
    // would pin a whole chunk, so those are copied.
    if (pooled) return data;
    return data.length * 2 < data.buffer.byteLength ? Buffer.from(data) : data;
  }

  /**
   * A stream of large sequential reads bypasses the page cache: each read's
   * successors are requested ahead of time, and the reply payload is handed
   * to the caller as is (no copy into and out of cache pages). NOTIFYs and
   * our own writes drop overlapping read-ahead, so a read never returns
   * bytes older than a change it was told about or made itself.
   */
  async #streamRead(offset: number, end: number, pooled: boolean): Promise<{ data: Buffer; pooled: boolean }> {
    const len = end - offset;
    const ahead = this.#stream.get(offset);
    let first: StreamEntry;
    if (ahead !== undefined && ahead.length === len) {
      this.#stream.delete(offset);
      first = ahead;
    } else {
      this.#stream.clear();
      first = this.#streamEntry(offset, end, pooled);
    }
    const depth = Math.max(1, Math.floor(this.#readahead / len));
    for (let k = 0, at = end; k < depth && at < this.#length; k++, at += len) {
      if (this.#stream.has(at)) continue;
      const stop = Math.min(this.#length, at + len);
      const e = this.#streamEntry(at, stop, pooled);
      e.data.catch(() => {}); // surfaced to the read that consumes it
      this.#stream.set(at, e);
    }
    return { data: await first.data, pooled: first.pooled };
  }

  #streamEntry(start: number, stop: number, pooled: boolean): StreamEntry {
    const usePool = pooled && stop - start <= this.#maxChunk();
    return { length: stop - start, data: this.#readRange(start, stop, usePool), pooled: usePool };
  }

  #readRange(start: number, stop: number, pooled = false): Promise<Buffer> {
    if (stop - start <= this.#maxChunk()) return this.#readOnce(start, stop, pooled);
    const out = Buffer.allocUnsafe(stop - start);
    return this.#fetchDirect(start, stop, out).then(() => out);
  }

  /** A buffer of at least `length` bytes from the pool, or a new one that will join it. */
  #poolTake(length: number): Buffer {
    for (let i = this.#pool.length - 1; i >= 0; i--) {
      const b = this.#pool[i] as Buffer;
      if (b.length >= length) {
        this.#pool.splice(i, 1);
        return b;
      }
    }
    // Its own backing store, so the whole buffer can be recovered from a payload view.
    return Buffer.allocUnsafeSlow(length);
  }

  /** Returns the buffer a pooled payload lives in (bounded: about two read-ahead windows). */
  #recycle(payload: Buffer): void {
    const whole = payload.buffer;
    // Only standalone backing stores: never a slab Node shares with other Buffers.
    if (whole.byteLength < STREAM_MIN || this.#closing !== undefined || this.#pool.length >= POOL_MAX) return;
    let bytes = whole.byteLength;
    for (const b of this.#pool) bytes += b.length;
    if (bytes > 2 * this.#readahead + whole.byteLength) return;
    this.#pool.push(Buffer.from(whole, 0, whole.byteLength));
  }

  #dropStream(start: number, end: number): void {
    for (const [at, e] of this.#stream) if (at < end && start < at + e.length) this.#stream.delete(at);
  }

  /** Without a cache: READ exactly the bytes asked for (split at the frame limit). */
  async #fetchDirect(offset: number, end: number, out: Buffer): Promise<void> {
    const chunk = this.#maxChunk();
    const parts: Promise<void>[] = [];
    for (let at = offset; at < end; at += chunk) {
      const stop = Math.min(end, at + chunk);
      parts.push(
        this.#conn.request((id) => msg.encodeRead(id, this.#wireId, at, stop)).then((f) => {
          const { version, data } = msg.decodeData(expect(f, FrameType.DATA, 'READ'));
          if (data.length !== stop - at) throw new RmmapProtocolError('ERR_RMMAP_BAD_FRAME', `DATA carried ${data.length} bytes for a READ of ${stop - at}`);
          this.#seeVersion(version);
          data.copy(out, at - offset);
          for (const w of this.#pendingWrites) copyInto(out, offset, end, w.at, w.data);
        }),
      );
    }
    await Promise.all(parts);
  }

  #prefetch(from: number, to: number): void {
    const P = this.#cache.pageSize;
    // Several moderate READs rather than one huge one: the first bytes arrive
    // sooner and the server's copy overlaps with our receiving.
    const maxPages = Math.max(1, Math.floor(Math.min(this.#maxChunk(), PREFETCH_RUN) / P));
    const last = Math.floor((to - 1) / P);
    // Start at the page after the one holding `from` if that one is already being read.
    let i = Math.floor(from / P);
    while (i <= last) {
      if (this.#cache.has(i) || this.#inflight.has(i)) {
        i++;
        continue;
      }
      let j = i + 1;
      while (j <= last && j - i < maxPages && !this.#cache.has(j) && !this.#inflight.has(j)) j++;
      this.#fetch(i, j).catch(() => {});
      i = j;
    }
  }

  /** One READ of pages [first, end); the data also lands in the cache. */
  #fetch(first: number, endPage: number): Promise<Run> {
    const P = this.#cache.pageSize;
    const start = first * P;
    const stop = Math.min(endPage * P, this.#length);
    let run: Run | undefined;
    // Everything that touches the cache happens in settle(), in step with the
    // frames: a NOTIFY right behind this DATA must find the pages in place.
    const settle = (reply: RawFrame | undefined): void => {
      for (let i = first; i < endPage; i++) if (this.#inflight.get(i) === p) this.#inflight.delete(i);
      if (reply === undefined) return;
      const { version, data } = msg.decodeData(expect(reply, FrameType.DATA, 'READ'));
      if (data.length !== stop - start) {
        throw new RmmapProtocolError('ERR_RMMAP_BAD_FRAME', `DATA carried ${data.length} bytes for a READ of ${stop - start}`);
      }
      this.#seeVersion(version);
      // Writes still unacknowledged were sent after this READ, so the server
      // applies them after it: lay them over the snapshot.
      for (const w of this.#pendingWrites) copyInto(data, start, stop, w.at, w.data);
      if (this.#closing === undefined) {
        for (let i = first; i < endPage && i * P < stop; i++) this.#cache.adopt(i, data.subarray(i * P - start, Math.min(stop, (i + 1) * P) - start));
      }
      run = { start, data };
    };
    const p: Promise<Run> = this.#conn.request((id) => msg.encodeRead(id, this.#wireId, start, stop), { settle }).then(() => run as Run);
    for (let i = first; i < endPage; i++) this.#inflight.set(i, p);
    return p;
  }

  /** Re-maps a longer section (same start) and retires the old wire id. */
  async #ensureLength(need: number): Promise<void> {
    while (this.#extending !== undefined) await this.#extending;
    if (need <= this.#length) return;
    if (this.#knownFullFile) return;
    this.#extending = this.#extend(need);
    try {
      await this.#extending;
    } finally {
      this.#extending = undefined;
    }
  }

  /** True after an extension already found the end of the file (avoids a MAP per past-EOF read). */
  #knownFullFile = false;

  async #extend(need: number): Promise<void> {
    const P = this.#cache.pageSize;
    const want = Math.ceil(need / P) * P;
    const old = this.#wireId;
    const mapped = await RemoteMapping.requestMap(this.#conn, this.path, this.offset, want, this.writable, false, (m) => this.#adopt(m));
    this.#knownFullFile = mapped.length < want;
    if (old !== mapped.mapId) {
      // Frames already sent on the old id stay valid: the server handles them before this UNMAP.
      this.#conn.request((id) => msg.encodeMapIdBody(FrameType.UNMAP, id, old), { onLost: () => true }).then(
        () => this.#retire(old),
        () => this.#retire(old),
      );
    }
  }

  #retire(id: number): void {
    if (id === this.#wireId) return;
    this.#wireIds.delete(id);
    this.#conn.notifyTargets.delete(id);
  }

  #adopt(mapped: msg.Mapped): void {
    const P = this.#cache.pageSize;
    if (mapped.length !== this.#length) {
      // The old last page may have been short; its length changes now.
      this.#cache.delete(Math.floor((this.#length - 1) / P));
      if (mapped.length < this.#length) this.#cache.invalidate(mapped.length, this.#length);
    }
    this.#wireId = mapped.mapId;
    this.#length = mapped.length;
    this.#fileSize = mapped.fileSize;
    this.#bindWireId(mapped.mapId);
  }

  #cacheKept = true;

  /** @internal ConnectionMember: called on the new connection before queued requests are resent. */
  async remap(epochChanged: boolean): Promise<void> {
    if (this.#closing !== undefined || this.#lostError !== undefined) return;
    try {
      await RemoteMapping.requestMap(this.#conn, this.path, this.offset, this.#length, this.writable, true, (m) => this.#remapped(m, epochChanged));
    } catch (e) {
      if (e instanceof RmmapRemoteError) {
        this.#lostError = new RmmapError('ERR_RMMAP_LOST', `after reconnecting, the server refused to map ${this.path} again: ${e.message}`, { cause: e });
        this.#cache.clear();
        this.emit('lost', this.#lostError);
        return;
      }
      throw e;
    }
  }

  /** The MAPPED of a re-map, handled as it arrives (before any NOTIFY behind it). */
  #remapped(mapped: msg.Mapped, epochChanged: boolean): void {
    for (const id of this.#wireIds) this.#conn.notifyTargets.delete(id);
    this.#wireIds.clear();
    const before = this.#version;
    this.#adopt(mapped);
    // Revalidate: the cache is kept only if no write happened while we were away.
    this.#cacheKept = !epochChanged && mapped.version === before;
    this.#stream.clear();
    if (!this.#cacheKept) {
      this.#cache.clear();
      this.#version = mapped.version;
      this.emit('change', { offset: 0, length: this.#length, version: mapped.version } satisfies ChangeEvent);
    }
  }

  /** @internal ConnectionMember */
  reconnected(attempts: number): void {
    if (this.#closing !== undefined) return;
    this.emit('reconnect', { attempts, cacheKept: this.#cacheKept } satisfies ReconnectEvent);
  }

  /** @internal ConnectionMember */
  failed(err: Error): void {
    if (this.#closing !== undefined) return;
    this.#cache.clear();
    if (this.listenerCount('unavailable') > 0) this.emit('unavailable', err);
  }
}

function expect(f: RawFrame, type: number, what: string): Buffer {
  if (f.type !== type) throw new RmmapProtocolError('ERR_RMMAP_BAD_FRAME', `unexpected reply type 0x${f.type.toString(16)} to ${what}`);
  return f.payload;
}

function checkRange(offset: number, count: number, what: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(count) || count < 0) {
    throw new RmmapArgumentError('ERR_OUT_OF_RANGE', `${what}: offset and count must be non-negative integers, got ${offset} and ${count}`);
  }
}

/**
 * Copies the overlap of `src` (which holds bytes [srcStart, srcStart+len))
 * into `out` (which holds bytes [outStart, outEnd)).
 */
function copyInto(out: Buffer, outStart: number, outEnd: number, srcStart: number, src: Buffer): void {
  const from = Math.max(outStart, srcStart);
  const to = Math.min(outEnd, srcStart + src.length);
  if (to <= from) return;
  // Buffer#copy takes offsets: no view objects on this per-page path.
  src.copy(out, from - outStart, from - srcStart, to - srcStart);
}
