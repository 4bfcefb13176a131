import { SharedFd, ShmClosedError } from '@shmkit/shm-fd';
import type { Mapping } from '@shmkit/shm-fd';

import { Counter32, Counter64, Int32Cell, Int64Cell } from './cells';
import { ShmStateError } from './errors';
import { HashMap, type HashMapOptions } from './hash-map';
import { MpmcQueue } from './mpmc-queue';
import { Mutex } from './mutex';
import { RegionDirectory, type RegionInfo, type RegionKindName } from './region-directory';
import { Ring } from './descriptor-ring';
import { Semaphore } from './semaphore';
import { Seq } from './seq';
import { SpscQueue } from './spsc-queue';
import { Struct, type Migrate } from './struct';
import type { StructFields } from './struct-layout';
import type { Memory } from './memory-region';

export interface ShmStateOptions {
  /** Directory entries when the memory is fresh (default 64). */
  entries?: number;
}

export interface FromEnvOptions extends ShmStateOptions {
  /** Size to grow the shared file to if it is smaller (e.g. a fresh memfd of size 0). */
  size?: number;
}

/**
 * Named structures in one shared file: the entry point most programs want.
 *
 * ```ts
 * const state = ShmState.fromEnv({ size: 16 << 20 }); // the SHM_SHARED_FD from shm-fd
 * const hits = state.counter64('hits');               // created on first run, found on later ones
 * ```
 *
 * Each accessor creates the structure the first time a name is used (any
 * process, race-free) and opens it afterwards, checking that the stored kind
 * matches. The handle owns its mapping and fd only when made by `fromEnv` or
 * `openFile`; `close()` releases them.
 */
export class ShmState {
  readonly directory: RegionDirectory;
  readonly #memory: Memory;
  readonly #owned: { mapping: Mapping; fd: SharedFd } | undefined;
  readonly #handles: Array<{ close(): void }> = [];
  #closed = false;

  private constructor(memory: Memory, options: ShmStateOptions, owned?: { mapping: Mapping; fd: SharedFd }) {
    this.#memory = memory;
    this.#owned = owned;
    this.directory = RegionDirectory.open(memory, options);
  }

  /** Over memory you own (a mapping's buffer); creates the directory on all-zero memory. */
  static open(memory: Memory, options: ShmStateOptions = {}): ShmState {
    return new ShmState(memory, options);
  }

  /**
   * Maps the shared file handed over by `shm-fd` (LISTEN_FDS / SHM_SHARED_FD),
   * growing it to `size` first if needed. Throws ERR_SHM_STATE_NO_SHARED_FD
   * when the process was not started under shm-fd.
   */
  static fromEnv(options: FromEnvOptions = {}): ShmState {
    const fd = SharedFd.fromEnv();
    if (fd === null) {
      throw new ShmStateError('ERR_SHM_STATE_NO_SHARED_FD', 'no SHM_SHARED_FD in LISTEN_FDS; start this program under `shm-fd` (e.g. `shm-fd watch -- node app.js`)');
    }
    return ShmState.#fromFd(fd, options);
  }

  /** Opens (creating if needed) a file — on /dev/shm it is plain shared memory. */
  static openFile(path: string, options: FromEnvOptions = {}): ShmState {
    return ShmState.#fromFd(SharedFd.openFile(path, { create: true, size: options.size }), options);
  }

  static #fromFd(fd: SharedFd, options: FromEnvOptions): ShmState {
    try {
      if (options.size !== undefined && fd.size < options.size) fd.resize(options.size);
      const mapping = fd.map();
      return new ShmState(mapping.buffer, options, { mapping, fd });
    } catch (err) {
      fd.close();
      throw err;
    }
  }

  /** Every named region. */
  regions(): RegionInfo[] {
    return this.directory.list();
  }

  /** A raw byte region of `length` bytes (zeroed when created). */
  bytes(name: string, length: number): Buffer {
    const r = this.#ensure(name, 'bytes', length, () => undefined).region;
    return Buffer.from(this.#memory.buffer, this.#memory.byteOffset + r.offset, r.length);
  }

  int32(name: string): Int32Cell {
    return new Int32Cell(this.#memory, this.#ensure(name, 'int32', 8, () => undefined).region.offset);
  }

  int64(name: string): Int64Cell {
    return new Int64Cell(this.#memory, this.#ensure(name, 'int64', 8, () => undefined).region.offset);
  }

  counter32(name: string): Counter32 {
    return new Counter32(this.#memory, this.#ensure(name, 'counter32', 8, () => undefined).region.offset);
  }

  counter64(name: string): Counter64 {
    return new Counter64(this.#memory, this.#ensure(name, 'counter64', 8, () => undefined).region.offset);
  }

  spscQueue(name: string, options: { capacity: number }): SpscQueue {
    const { region } = this.#ensure(name, 'spscQueue', SpscQueue.byteLengthFor(options.capacity), (r) => {
      SpscQueue.create(this.#memory, { offset: r.offset, capacity: options.capacity });
    });
    return this.#track(SpscQueue.open(this.#memory, { offset: region.offset }));
  }

  mpmcQueue(name: string, options: { capacity: number; slotSize: number }): MpmcQueue {
    const { region } = this.#ensure(name, 'mpmcQueue', MpmcQueue.byteLengthFor(options.capacity, options.slotSize), (r) => {
      MpmcQueue.create(this.#memory, { offset: r.offset, ...options });
    });
    return this.#track(MpmcQueue.open(this.#memory, { offset: region.offset }));
  }

  mutex(name: string): Mutex {
    const { region } = this.#ensure(name, 'mutex', Mutex.byteLength, (r) => void Mutex.create(this.#memory, { offset: r.offset }));
    return this.#track(Mutex.open(this.#memory, { offset: region.offset }));
  }

  semaphore(name: string, options: { permits: number }): Semaphore {
    const { region } = this.#ensure(name, 'semaphore', Semaphore.byteLengthFor(options.permits), (r) => {
      Semaphore.create(this.#memory, { offset: r.offset, permits: options.permits });
    });
    return this.#track(Semaphore.open(this.#memory, { offset: region.offset }));
  }

  hashMap(name: string, options: Omit<HashMapOptions, 'offset'>): HashMap {
    const { region } = this.#ensure(name, 'hashMap', HashMap.byteLengthFor(options), (r) => {
      HashMap.create(this.#memory, { offset: r.offset, ...options });
    });
    return this.#track(HashMap.open(this.#memory, { offset: region.offset }));
  }

  ring(name: string, options: { count: number }): Ring {
    const { region } = this.#ensure(name, 'ring', Ring.byteLengthFor(options.count), (r) => void Ring.create(this.#memory, { offset: r.offset, count: options.count }));
    return this.#track(Ring.open(this.#memory, { offset: region.offset }));
  }

  seq(name: string, options: { buffer: number }): Seq {
    const { region } = this.#ensure(name, 'seq', Seq.byteLengthFor(options.buffer), (r) => void Seq.create(this.#memory, { offset: r.offset, buffer: options.buffer }));
    return this.#track(Seq.open(this.#memory, { offset: region.offset, buffer: options.buffer }));
  }

  /**
   * A typed struct. When the stored layout version differs from `version`,
   * `migrate` converts the old data (see `Struct.open`), and the directory
   * records the new version.
   */
  struct(name: string, options: { layout: { struct: StructFields }; version?: number; reserve?: number; migrate?: Migrate }): Struct {
    const version = options.version ?? 1;
    const length = Struct.byteLengthFor(options.layout, options.reserve);
    const { region } = this.#ensure(name, 'struct', length, (r) => {
      Struct.create(this.#memory, { offset: r.offset, layout: options.layout, version, reserve: options.reserve });
    }, version);
    const s = Struct.open(this.#memory, { offset: region.offset, layout: options.layout, version, migrate: options.migrate });
    if (s.migratedFrom !== null) this.directory.setLayoutVersion(name, version);
    return s;
  }

  /** Closes every structure handle made here, then the mapping and fd if this handle owns them. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const h of this.#handles.splice(0)) h.close();
    if (this.#owned !== undefined) {
      this.#owned.mapping.close();
      this.#owned.fd.close();
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #ensure(name: string, kind: RegionKindName, length: number, init: (r: RegionInfo) => void, layoutVersion = 1) {
    if (this.#closed) throw new ShmClosedError('the ShmState');
    const res = this.directory.ensure(name, { kind, length, layoutVersion }, init);
    if (res.region.length < length && kind !== 'struct') {
      throw new ShmStateError(
        'ERR_SHM_STATE_KIND_MISMATCH',
        `region "${name}" was created with ${res.region.length} bytes; these options need ${length}; use the options it was created with or another name`,
      );
    }
    return res;
  }

  #track<T extends { close(): void }>(h: T): T {
    this.#handles.push(h);
    return h;
  }
}
