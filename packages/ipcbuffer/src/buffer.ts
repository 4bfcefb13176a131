import { ShmClosedError } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { forgetAtExit, syncAtExit, unwatchFd, watchFd } from './lifetime';
import { kState } from './symbols';

export type IPCBufferKind = 'memory' | 'posix' | 'file' | 'sysv' | 'anonymous';

export interface SyncOptions {
  /** Only schedule the write-back (MS_ASYNC) instead of waiting for it. */
  async?: boolean;
}

/** What an IPCBuffer has on top of Buffer. All of it is non-enumerable, so Buffer behaviour is unchanged. */
export interface IPCBufferExtras {
  /** Where the bytes live. */
  readonly kind: IPCBufferKind;
  /** POSIX shm name ("/name"), for kind 'posix'. */
  readonly name?: string;
  /** File path as given, for kind 'file'. */
  readonly path?: string;
  /** System V key, for kind 'sysv'. */
  readonly key?: number;
  /** System V segment id (shmid), for kind 'sysv'. */
  readonly id?: number;
  /** The memfd this buffer owns, for kind 'anonymous' (pass it to children); -1 after close(). */
  readonly fd?: number;
  /** True when this call created the object (and registered it for `ipcbuffer ls`). */
  readonly created: boolean;
  /** The encoding given to the constructor (default 'utf8'); Buffer methods keep their own defaults. */
  readonly encoding: BufferEncoding;
  /** True once close() was called on the owner of the memory. */
  readonly closed: boolean;
  /**
   * msync(MS_SYNC) over this buffer's pages: for 'file', returns once the
   * bytes are on disk. Shared memory (posix, sysv, anonymous) has no disk
   * behind it, so it returns at once; 'memory' has nothing to flush. Other
   * processes see writes immediately either way. Throws ERR_SHM_CLOSED after close().
   */
  sync(options?: SyncOptions): void;
  /**
   * Releases the shared memory (a 'file' buffer is synced first). Idempotent.
   * The Buffer stays usable but reads zeros afterwards. On an alias it
   * releases nothing: close the buffer it aliases.
   */
  close(): void;
  [Symbol.dispose](): void;
}

/** A real Buffer (Buffer.isBuffer, instanceof Buffer) with IPCBufferExtras. */
export type IPCBuffer = Buffer & IPCBufferExtras;

/** @internal What a buffer knows about its memory. */
export interface State {
  kind: IPCBufferKind;
  /** The mapping, or undefined for in-process memory. */
  mapping: sys.Mapping | undefined;
  /** Byte offset of this buffer inside `mapping.buffer`. */
  start: number;
  length: number;
  /** Whether close() on this buffer releases the memory (false for aliases). */
  owner: boolean;
  fd: number;
  created: boolean;
  encoding: BufferEncoding;
  name?: string;
  path?: string;
  key?: number;
  id?: number;
  /** In-process memory has nothing to release; close() only records it. */
  memoryClosed: boolean;
  exitRef?: WeakRef<sys.Mapping>;
  /** The owner's state, for aliases. */
  root?: State;
  /** Things living in this memory (locks placed with .at) to close before it is unmapped. */
  dependents?: Set<WeakRef<Dependent>>;
}

/** Something placed in a buffer's memory that must stop using it when the buffer is closed. */
export interface Dependent {
  close(): void;
}

function stateOf(b: unknown): State {
  const s = (b as { [kState]?: State })[kState];
  if (s === undefined) throw new TypeError('not an IPCBuffer');
  return s;
}

function isClosed(s: State): boolean {
  const root = s.root ?? s;
  return root.mapping === undefined ? root.memoryClosed : root.mapping.closed;
}

function sync(this: IPCBuffer, options: SyncOptions = {}): void {
  const s = stateOf(this);
  if (isClosed(s)) throw new ShmClosedError(`the ${s.kind} IPCBuffer`);
  if (s.mapping === undefined) return; // in-process memory has no backing store to write to
  s.mapping.sync({ offset: s.start, length: s.length, async: options.async === true });
}

function close(this: IPCBuffer): void {
  const s = stateOf(this);
  if (!s.owner) return;
  if (s.mapping === undefined) {
    s.memoryClosed = true;
    return;
  }
  if (s.mapping.closed) return;
  closeDependents(s);
  try {
    // Durability point of a file-backed buffer: close() waits for the disk.
    if (s.kind === 'file') s.mapping.sync();
  } finally {
    forgetAtExit(s.exitRef);
    s.mapping.close();
    if (s.fd >= 0) {
      unwatchFd(s);
      const fd = s.fd;
      s.fd = -1;
      sys.close(fd);
    }
  }
}

function closeDependents(s: State): void {
  const deps = s.dependents;
  if (deps === undefined) return;
  s.dependents = undefined;
  for (const ref of deps) {
    try {
      ref.deref()?.close();
    } catch {
      // The memory is released whatever a dependent does; it reports its own state afterwards.
    }
  }
}

/**
 * Closes `d` when the memory under `buf` is released (close() of the buffer
 * or of the buffer it aliases), before it is unmapped, so a lock placed there
 * rejects its waiters instead of waiting on memory that is gone. Held
 * weakly; returns the function that forgets `d`.
 */
export function closeWith(buf: IPCBuffer, d: Dependent): () => void {
  const root = stateOf(buf).root ?? stateOf(buf);
  const ref = new WeakRef(d);
  (root.dependents ??= new Set()).add(ref);
  return () => root.dependents?.delete(ref);
}

// One set of functions shared by every instance, defined in one fixed order
// on every IPCBuffer whatever its kind: all IPCBuffers then share one hidden
// class, so Buffer.prototype methods see at most two receiver shapes (plain
// Buffer and IPCBuffer) and their inline caches stay fast.
const descriptors: PropertyDescriptorMap = {
  [kState]: { value: undefined, writable: true },
  kind: { get(this: IPCBuffer) { return stateOf(this).kind; } },
  name: { get(this: IPCBuffer) { return stateOf(this).name; } },
  path: { get(this: IPCBuffer) { return stateOf(this).path; } },
  key: { get(this: IPCBuffer) { return stateOf(this).key; } },
  id: { get(this: IPCBuffer) { return stateOf(this).id; } },
  fd: { get(this: IPCBuffer) { const s = stateOf(this); return s.kind === 'anonymous' ? (s.root ?? s).fd : undefined; } },
  created: { get(this: IPCBuffer) { return stateOf(this).created; } },
  encoding: { get(this: IPCBuffer) { return stateOf(this).encoding; } },
  closed: { get(this: IPCBuffer) { return isClosed(stateOf(this)); } },
  sync: { value: sync, writable: true, configurable: true },
  close: { value: close, writable: true, configurable: true },
  [Symbol.dispose]: { value: close, writable: true, configurable: true },
};

/**
 * Turns `buf` into an IPCBuffer in place. Everything is added as
 * non-enumerable own properties and the prototype stays Buffer.prototype, so
 * Buffer methods, JSON, inspection and deep equality see a plain Buffer.
 */
export function decorate(buf: Buffer, state: State): IPCBuffer {
  Object.defineProperties(buf, descriptors);
  // Set once, right after creation; the property is non-enumerable and only this module knows the symbol.
  (buf as unknown as { [kState]: State })[kState] = state;
  return buf as IPCBuffer;
}

/** The state behind an IPCBuffer, or undefined for anything else. */
export function peekState(b: unknown): State | undefined {
  if (!(b instanceof Uint8Array)) return undefined;
  return (b as { [kState]?: State })[kState];
}

export function isIPCBuffer(b: unknown): b is IPCBuffer {
  return peekState(b) !== undefined;
}

export interface MappedInit {
  kind: Exclude<IPCBufferKind, 'memory'>;
  mapping: sys.Mapping;
  fd?: number;
  created: boolean;
  encoding?: BufferEncoding;
  name?: string;
  path?: string;
  key?: number;
  id?: number;
}

/** An IPCBuffer owning `mapping` (and `fd`, when given). */
export function fromMapping(init: MappedInit): IPCBuffer {
  const m = init.mapping;
  const view = m.buffer;
  // A fresh Buffer object over the mapping's memory: ours to decorate, the Mapping's own stays untouched.
  const buf = Buffer.from(view.buffer, view.byteOffset, view.length);
  const state: State = {
    kind: init.kind,
    mapping: m,
    start: 0,
    length: view.length,
    owner: true,
    fd: init.fd ?? -1,
    created: init.created,
    encoding: init.encoding ?? 'utf8',
    memoryClosed: false,
  };
  for (const k of ['name', 'path', 'key', 'id'] as const) if (init[k] !== undefined) (state as unknown as Record<string, unknown>)[k] = init[k];
  if (init.kind === 'file') state.exitRef = syncAtExit(m);
  if (state.fd >= 0) watchFd(buf, state.fd, `IPCBuffer ${init.kind} fd ${state.fd}`, state);
  return decorate(buf, state);
}

/** In-process memory (the original's "normal in process memory buffers"). */
export function fromMemory(buf: Buffer, encoding: BufferEncoding = 'utf8'): IPCBuffer {
  return decorate(buf, {
    kind: 'memory',
    mapping: undefined,
    start: 0,
    length: buf.length,
    owner: true,
    fd: -1,
    created: true,
    encoding,
    memoryClosed: false,
  });
}

/** A view of `length` bytes at `offset` of `parent`, sharing its memory and kind but owning nothing. */
export function alias(parent: Buffer, offset: number, length: number, encoding: BufferEncoding = 'utf8'): IPCBuffer {
  const buf = Buffer.from(parent.buffer, parent.byteOffset + offset, length);
  const p = peekState(parent);
  if (p === undefined) {
    return decorate(buf, { kind: 'memory', mapping: undefined, start: 0, length, owner: false, fd: -1, created: false, encoding, memoryClosed: false });
  }
  const root = p.root ?? p;
  const state: State = {
    kind: p.kind,
    mapping: p.mapping,
    start: p.start + offset,
    length,
    owner: false,
    fd: -1,
    created: false,
    encoding,
    memoryClosed: false,
    root,
  };
  for (const k of ['name', 'path', 'key', 'id'] as const) if (p[k] !== undefined) (state as unknown as Record<string, unknown>)[k] = p[k];
  return decorate(buf, state);
}
