import type * as msg from '../messages';
import type { ClientConnection } from './connection';
import type { PageCache } from './page-cache';
import { PendingWrites } from './pending-writes';

/**
 * What the parts of a RemoteMapping share: the connection, the section as
 * last mapped (wire id, length, version), the page cache and the writes in
 * flight. The wire ids it binds route NOTIFYs to `onNotify`.
 */
export class MappingState {
  readonly conn: ClientConnection;
  readonly path: string;
  /** File offset of the mapping's first byte. */
  readonly offset: number;
  readonly writable: boolean;
  readonly cache: PageCache;
  readonly writes = new PendingWrites();
  /** Every wire id the server may still send NOTIFYs under. */
  readonly #wireIds = new Set<number>();
  readonly #onNotify: (n: msg.Notify) => void;
  wireId: number;
  length: number;
  fileSize: number;
  version: number;
  /** close() started. */
  closing = false;

  constructor(conn: ClientConnection, path: string, mapped: msg.Mapped, cache: PageCache, onNotify: (n: msg.Notify) => void) {
    this.conn = conn;
    this.path = path;
    this.offset = mapped.offset;
    this.writable = mapped.writable;
    this.cache = cache;
    this.#onNotify = onNotify;
    this.wireId = mapped.mapId;
    this.length = mapped.length;
    this.fileSize = mapped.fileSize;
    this.version = mapped.version;
    this.bindWireId(mapped.mapId);
  }

  seeVersion(v: number): void {
    if (v > this.version) this.version = v;
  }

  /** The largest READ or WRITE payload one frame carries (whole pages when it can). */
  maxChunk(): number {
    // Leave room for the frame header and the WRITE/DATA fields.
    const limit = Math.max(1024, this.conn.maxFrame - 64);
    const P = this.cache.pageSize;
    return limit >= P ? limit - (limit % P) : limit;
  }

  bindWireId(id: number): void {
    this.#wireIds.add(id);
    this.conn.notifyTargets.set(id, this.#onNotify);
  }

  /** Stops listening under an old wire id (unless it is the current one again). */
  retire(id: number): void {
    if (id === this.wireId) return;
    this.#wireIds.delete(id);
    this.conn.notifyTargets.delete(id);
  }

  unbindAll(): void {
    for (const id of this.#wireIds) this.conn.notifyTargets.delete(id);
    this.#wireIds.clear();
  }

  /** Takes over a MAPPED for the same start: new wire id, length and file size. */
  adopt(mapped: msg.Mapped): void {
    const P = this.cache.pageSize;
    if (mapped.length !== this.length) {
      // The old last page may have been short; its length changes now.
      this.cache.delete(Math.floor((this.length - 1) / P));
      if (mapped.length < this.length) this.cache.invalidate(mapped.length, this.length);
    }
    this.wireId = mapped.mapId;
    this.length = mapped.length;
    this.fileSize = mapped.fileSize;
    this.bindWireId(mapped.mapId);
  }
}
