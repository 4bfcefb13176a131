import { RmmapArgumentError } from '../errors';
import { ClientConnection, type ConnectionOptions, type ServerAddress } from './connection';
import { type MappingOptions, RemoteMapping } from './mapping';
import { requestMap } from './request-map';

/** Where the file lives: address, port and path, plus a token. */
export interface RmmapLocation extends ServerAddress {
  /** Path relative to the server's --root. */
  path: string;
}

export type RmmapOptions = MappingOptions & ConnectionOptions;

/** Connections by server; each is shared by every mapping this process holds there. */
const pool = new Map<string, { conn: ClientConnection; users: number }>();

function acquire(loc: RmmapLocation, options: ConnectionOptions): { conn: ClientConnection; release: () => void } {
  const key = ClientConnection.keyOf(loc);
  let entry = pool.get(key);
  if (entry === undefined || entry.conn.state === 'closed') {
    const conn = new ClientConnection(loc, options, () => {
      if (pool.get(key)?.conn === conn) pool.delete(key);
    });
    entry = { conn, users: 0 };
    pool.set(key, entry);
  }
  const e = entry;
  e.users++;
  let released = false;
  return {
    conn: e.conn,
    release: () => {
      if (released) return;
      released = true;
      // The last user closes the connection.
      if (--e.users === 0) e.conn.close();
    },
  };
}

/** Open connections in this process (one per server); for tests and diagnostics. */
export function connectionCount(): number {
  return pool.size;
}

/**
 * Maps `length` bytes at `offset` of a file served by rmmapd. Resolves once
 * the server mapped it. Offsets of the returned mapping's methods are
 * relative to `offset`.
 */
export async function rmmap(location: RmmapLocation, offset = 0, length = 64 * 1024, options: RmmapOptions = {}): Promise<RemoteMapping> {
  validateLocation(location);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RmmapArgumentError('ERR_OUT_OF_RANGE', `offset must be a non-negative integer, got ${offset}`);
  if (!Number.isSafeInteger(length) || length <= 0) throw new RmmapArgumentError('ERR_OUT_OF_RANGE', `length must be a positive integer, got ${length}`);
  const { conn, release } = acquire(location, options);
  try {
    await conn.ready();
    let mapping: RemoteMapping | undefined;
    // Built as the MAPPED arrives, so a NOTIFY right behind it already finds its mapping.
    await requestMap(conn, location.path, offset, length, options.writable ?? true, false, (mapped) => {
      mapping = new RemoteMapping(conn, location.path, mapped, options, release);
    });
    return mapping as RemoteMapping;
  } catch (e) {
    release();
    throw e;
  }
}

function validateLocation(loc: RmmapLocation): void {
  if (typeof loc !== 'object' || loc === null) throw new RmmapArgumentError('ERR_INVALID_ARG_TYPE', 'location must be an object { host, port, path, token? }');
  if (typeof loc.host !== 'string' || loc.host.length === 0) throw new RmmapArgumentError('ERR_INVALID_ARG_VALUE', 'location.host must be a non-empty string');
  if (!Number.isInteger(loc.port) || loc.port <= 0 || loc.port > 65535) {
    throw new RmmapArgumentError('ERR_INVALID_ARG_VALUE', `location.port must be a TCP port (1-65535), got ${String(loc.port)}`);
  }
  if (typeof loc.path !== 'string' || loc.path.length === 0) throw new RmmapArgumentError('ERR_INVALID_ARG_VALUE', 'location.path must be a non-empty path relative to the server root');
  if (loc.token !== undefined && typeof loc.token !== 'string' && !Buffer.isBuffer(loc.token)) {
    throw new RmmapArgumentError('ERR_INVALID_ARG_TYPE', 'location.token must be a string or Buffer');
  }
}

// The function-style API, after fmmap.h: rmmap / mread / mwrite / rmunmap.

/** Reads `count` bytes at `offset` of the mapping. */
export function mread(mapping: RemoteMapping, offset: number, count: number): Promise<Buffer> {
  return mapping.read(offset, count);
}

/** Writes `data` at `offset` of the mapping. */
export function mwrite(mapping: RemoteMapping, offset: number, data: Uint8Array): Promise<number> {
  return mapping.write(offset, data);
}

/** Persists the mapping on the server. */
export function msync(mapping: RemoteMapping): Promise<void> {
  return mapping.sync();
}

/** Unmaps; the connection closes with the process's last mapping on that server. */
export function rmunmap(mapping: RemoteMapping): Promise<void> {
  return mapping.close();
}
