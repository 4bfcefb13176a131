import { crc32 } from 'node:zlib';

import { z } from 'zod';

import { reportRecovery } from './diagnostics';
import { claimCreation } from './creation-claim';
import { ShmStateCorruptError, ShmStateCorruptWordError, ShmStateError } from './errors';
import { Mutex } from './mutex';
import { checkMapped, mappingOf, type ClosedProbe } from './mapping-probe';
import { alignUp, checkRegion, fourcc, int32At, type Memory } from './memory-region';

/**
 * What a region holds. Stored as a number; never renumber (files outlive code).
 */
export const RegionKind = {
  bytes: 1,
  spscQueue: 2,
  mpmcQueue: 3,
  mutex: 4,
  semaphore: 5,
  int32: 6,
  int64: 7,
  counter32: 8,
  counter64: 9,
  hashMap: 10,
  struct: 11,
  ring: 12,
  seq: 13,
} as const;
export type RegionKindName = keyof typeof RegionKind;
const kindNames = new Map<number, RegionKindName>(Object.entries(RegionKind).map(([k, v]) => [v, k as RegionKindName]));

export interface RegionInfo {
  name: string;
  kind: RegionKindName;
  /** Byte offset of the region in the memory the directory lives in. */
  offset: number;
  length: number;
  /** The layout version the region was created with (for Struct migrations). */
  layoutVersion: number;
}

// Page 0 layout (int32 words). The directory is the first thing in the file.
const MAGIC0 = fourcc('shms');
const MAGIC1 = fourcc('tate');
const VERSION = 1;
const W_MAGIC0 = 0;
const W_MAGIC1 = 1;
const W_VERSION = 2;
const W_ENTRIES = 3;
const W_HEAP_START_LO = 4; // u64 as two words: lo, hi
const W_HEAP_NEXT_LO = 6;
const W_CREATOR = 8; // pid of the process initialising a fresh directory
const MUTEX_AT = 64;
const ENTRIES_AT = 512;
const ENTRY_BYTES = 128;
// Entry words.
const E_STATE = 0;
const E_KIND = 1;
const E_LAYOUT = 2;
const E_PID = 3;
const E_OFF_LO = 4; // u64 as two words: lo, hi
const E_LEN_LO = 6;
const E_CRC = 8;
const NAME_AT = 64;
const NAME_MAX = 63;
const STATE_FREE = 0;
const STATE_CREATING = 1;
const STATE_READY = 2;

const REGION_ALIGN = 64;
const DEFAULT_ENTRIES = 64;
const MAX_ENTRIES = 4096;

const headerSchema = z
  .object({
    version: z.literal(VERSION, { error: (i) => `unsupported directory version ${String(i.input)} (this library reads ${VERSION})` }),
    entries: z.number().int().min(1).max(MAX_ENTRIES),
    heapStart: z.number().int(),
    heapNext: z.number().int(),
    memoryLength: z.number().int(),
  })
  .superRefine((h, ctx) => {
    if (h.heapStart !== heapStartFor(h.entries)) ctx.addIssue({ code: 'custom', message: `heap starts at ${h.heapStart}, expected ${heapStartFor(h.entries)} for ${h.entries} entries` });
    if (h.heapNext < h.heapStart || h.heapNext > h.memoryLength) ctx.addIssue({ code: 'custom', message: `heap end ${h.heapNext} is outside [${h.heapStart}, ${h.memoryLength}]` });
  });

const entrySchema = z
  .object({
    index: z.number().int(),
    state: z.union([z.literal(STATE_FREE), z.literal(STATE_CREATING), z.literal(STATE_READY)], { error: (i) => `impossible state ${String(i.input)}` }),
    kind: z.number().int(),
    name: z.string(),
    offset: z.number().int(),
    length: z.number().int(),
    layoutVersion: z.number().int().nonnegative(),
    crcOk: z.boolean(),
    heapStart: z.number().int(),
    heapNext: z.number().int(),
  })
  .superRefine((e, ctx) => {
    if (e.state !== STATE_READY) return;
    if (!kindNames.has(e.kind)) ctx.addIssue({ code: 'custom', message: `unknown kind ${e.kind}` });
    if (!/^[\x21-\x7e][\x20-\x7e]{0,62}$/.test(e.name)) ctx.addIssue({ code: 'custom', message: `bad name ${JSON.stringify(e.name)}` });
    if (e.offset < e.heapStart || e.offset % REGION_ALIGN !== 0 || e.length < 0 || e.offset + e.length > e.heapNext) {
      ctx.addIssue({ code: 'custom', message: `range [${e.offset}, ${e.offset + e.length}) is not inside the allocated heap [${e.heapStart}, ${e.heapNext})` });
    }
    if (!e.crcOk) ctx.addIssue({ code: 'custom', message: 'checksum mismatch' });
  });

function heapStartFor(entries: number): number {
  return alignUp(ENTRIES_AT + entries * ENTRY_BYTES, 4096);
}

export interface DirectoryOptions {
  /** Directory slots when creating (default 64, max 4096). Ignored when opening. */
  entries?: number;
}

/**
 * The directory at the start of a shared file: magic, version, and named
 * regions (name → offset, length, kind, layout version), so several
 * structures share one file and a restarted program finds them by name.
 *
 * Layout: page 0 holds the header (magic "shmstate", version, slot count,
 * heap bounds), a Mutex guarding allocation, and 128-byte entries from byte
 * 512; regions follow from the first page after the entries, 64-byte
 * aligned, allocated by bumping `heapNext` (regions are never freed).
 *
 * Every entry carries a CRC-32 over its fields; opening validates the header
 * and every entry (zod schemas) and reports a mismatch, never trusts it.
 *
 * Crash behaviour: allocation runs under the Mutex. An entry is written as
 * `creating`, the heap is bumped, the structure initialised, then the entry
 * turns `ready`. A creator killed part-way leaves a `creating` entry; the next
 * allocator is told `ownerDead` by the mutex and frees such entries (their
 * heap bytes stay unused). Readers only ever see `ready` entries.
 */
export class RegionDirectory {
  readonly memory: Memory;
  readonly entries: number;
  readonly #h: Int32Array;
  readonly #mutex: Mutex;
  readonly #mapping: ClosedProbe | undefined;

  private constructor(memory: Memory, entries: number) {
    this.memory = memory;
    this.entries = entries;
    this.#mapping = mappingOf(memory);
    this.#h = int32At(memory, 0, heapStartFor(entries), 'RegionDirectory');
    this.#mutex = Mutex.open(memory, { offset: MUTEX_AT });
  }

  /** Bytes the directory itself takes at the start of the memory. */
  static overheadFor(entries = DEFAULT_ENTRIES): number {
    return heapStartFor(entries);
  }

  /**
   * Opens the directory at the start of `memory`, creating it when the memory
   * is all zeros there (a fresh file). Anything else that does not validate
   * throws ERR_SHM_STATE_BAD_HEADER.
   */
  static open(memory: Memory, options: DirectoryOptions = {}): RegionDirectory {
    checkRegion(memory, 0, 4096, 8, 'RegionDirectory');
    const h = int32At(memory, 0, 4096, 'RegionDirectory');
    if (Atomics.load(h, W_MAGIC0) === 0 && Atomics.load(h, W_MAGIC1) === 0) {
      RegionDirectory.#create(memory, h, options.entries ?? DEFAULT_ENTRIES);
    }
    if (Atomics.load(h, W_MAGIC0) !== MAGIC0 || Atomics.load(h, W_MAGIC1) !== MAGIC1) {
      throw new ShmStateCorruptError('the region directory', 'the memory does not start with the shm-state magic; it holds something else or is corrupt');
    }
    const header = {
      version: Atomics.load(h, W_VERSION),
      entries: Atomics.load(h, W_ENTRIES),
      heapStart: read64(h, W_HEAP_START_LO),
      heapNext: read64(h, W_HEAP_NEXT_LO),
      memoryLength: memory.byteLength,
    };
    const parsed = headerSchema.safeParse(header);
    if (!parsed.success) throw new ShmStateCorruptError('the region directory header', parsed.error.issues.map((i) => i.message).join('; '));
    const dir = new RegionDirectory(memory, header.entries);
    dir.list(); // validates every entry
    return dir;
  }

  static #create(memory: Memory, h: Int32Array, entries: number): void {
    if (!Number.isInteger(entries) || entries < 1 || entries > MAX_ENTRIES) {
      throw new ShmStateError('ERR_OUT_OF_RANGE', `directory entries must be between 1 and ${MAX_ENTRIES}, got ${entries}`);
    }
    const start = heapStartFor(entries);
    if (memory.byteLength < start) {
      throw new ShmStateError('ERR_SHM_STATE_TOO_SMALL', `a directory of ${entries} entries needs ${start} bytes; the memory has ${memory.byteLength}; resize the file`);
    }
    // Two processes creating at once: one initialises, the others wait for the magic (see claimCreation).
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    const claim = claimCreation(h, { creator: W_CREATOR, ready: W_MAGIC1, readyValue: MAGIC1 }, 'creating the region directory', () => Atomics.wait(sleeper, 0, 0, 1));
    if (claim === 'exists') return;
    Atomics.store(h, W_VERSION, VERSION);
    Atomics.store(h, W_ENTRIES, entries);
    write64(h, W_HEAP_START_LO, start);
    write64(h, W_HEAP_NEXT_LO, start);
    const all = int32At(memory, 0, start, 'RegionDirectory');
    for (let i = ENTRIES_AT / 4; i < all.length; i++) Atomics.store(all, i, 0);
    Mutex.create(memory, { offset: MUTEX_AT });
    // Magic last: a directory half-written by a killed creator never validates.
    Atomics.store(h, W_MAGIC0, MAGIC0);
    Atomics.store(h, W_MAGIC1, MAGIC1);
  }

  /** Every ready region. Throws ERR_SHM_STATE_BAD_HEADER if any entry is corrupt. */
  list(): RegionInfo[] {
    const out: RegionInfo[] = [];
    for (let i = 0; i < this.entries; i++) {
      const e = this.#entry(i);
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  /** The ready region called `name`, or undefined. */
  get(name: string): RegionInfo | undefined {
    checkName(name);
    for (let i = 0; i < this.entries; i++) {
      const e = this.#entry(i);
      if (e?.name === name) return e;
    }
    return undefined;
  }

  /**
   * The region called `name`: the existing one if there is one (its kind must
   * match), else a new one of `length` bytes that `init` initialises before
   * anyone else can see it. `created` says which.
   */
  ensure(
    name: string,
    spec: { kind: RegionKindName; length: number; layoutVersion?: number },
    init: (region: RegionInfo) => void,
  ): { region: RegionInfo; created: boolean } {
    checkName(name);
    const found = this.get(name);
    if (found !== undefined) return { region: checkKind(found, spec.kind), created: false };
    const guard = this.#mutex.lockSync({ timeoutMs: 10_000 });
    if (guard === null) throw new ShmStateError('ETIMEDOUT', `the region directory stayed locked by pid ${this.#mutex.holder} for 10 s`);
    try {
      if (guard.ownerDead) {
        this.#freeAbandoned();
        guard.markConsistent();
      }
      const again = this.get(name);
      if (again !== undefined) return { region: checkKind(again, spec.kind), created: false };
      return { region: this.#allocate(name, spec, init), created: true };
    } finally {
      guard.unlock();
    }
  }

  /** Bytes still free for new regions. */
  get free(): number {
    checkMapped(this.#mapping, 'RegionDirectory');
    const next = read64(this.#h, W_HEAP_NEXT_LO);
    if (next < heapStartFor(this.entries) || next > this.memory.byteLength) {
      throw new ShmStateCorruptWordError('RegionDirectory', 'the heap end word', `is ${next}, outside [${heapStartFor(this.entries)}, ${this.memory.byteLength}]`);
    }
    return this.memory.byteLength - next;
  }

  #allocate(name: string, spec: { kind: RegionKindName; length: number; layoutVersion?: number }, init: (region: RegionInfo) => void): RegionInfo {
    const { length } = spec;
    if (!Number.isSafeInteger(length) || length < 0) throw new ShmStateError('ERR_OUT_OF_RANGE', `region length must be a non-negative integer, got ${length}`);
    const layoutVersion = spec.layoutVersion ?? 1;
    const h = this.#h;
    let slot = -1;
    for (let i = 0; i < this.entries; i++) {
      if (Atomics.load(this.#words(i), E_STATE) === STATE_FREE) {
        slot = i;
        break;
      }
    }
    if (slot < 0) throw new ShmStateError('ERR_SHM_STATE_FULL', `all ${this.entries} directory entries are used; create the file with more entries`);
    const next = read64(h, W_HEAP_NEXT_LO);
    // Allocating below the heap start (or past the end) would hand out bytes other regions use.
    if (next < heapStartFor(this.entries) || next > this.memory.byteLength) {
      throw new ShmStateCorruptWordError('RegionDirectory', 'the heap end word', `is ${next}, outside [${heapStartFor(this.entries)}, ${this.memory.byteLength}]`);
    }
    const offset = alignUp(next, REGION_ALIGN);
    if (offset + length > this.memory.byteLength) {
      throw new ShmStateError('ERR_SHM_STATE_FULL', `region "${name}" needs ${length} bytes but only ${Math.max(0, this.memory.byteLength - offset)} are free; enlarge the shared file`);
    }
    const w = this.#words(slot);
    Atomics.store(w, E_STATE, STATE_CREATING);
    Atomics.store(w, E_KIND, RegionKind[spec.kind]);
    Atomics.store(w, E_LAYOUT, layoutVersion);
    Atomics.store(w, E_PID, process.pid);
    write64(w, E_OFF_LO, offset);
    write64(w, E_LEN_LO, length);
    const nameBytes = this.#nameBytes(slot);
    nameBytes.fill(0);
    nameBytes.write(name, 'utf8');
    write64(h, W_HEAP_NEXT_LO, offset + length);
    const region: RegionInfo = { name, kind: spec.kind, offset, length, layoutVersion };
    init(region);
    Atomics.store(w, E_CRC, this.#crc(slot));
    Atomics.store(w, E_STATE, STATE_READY);
    return region;
  }

  /** Rewrites the layout version of a region (Struct migrations), under the lock. */
  setLayoutVersion(name: string, layoutVersion: number): void {
    this.#mutex.withLockSync(() => {
      for (let i = 0; i < this.entries; i++) {
        const e = this.#entry(i);
        if (e?.name !== name) continue;
        const w = this.#words(i);
        Atomics.store(w, E_LAYOUT, layoutVersion);
        Atomics.store(w, E_CRC, this.#crc(i));
        return;
      }
      throw new ShmStateError('ERR_SHM_STATE_NO_REGION', `no region named "${name}"`);
    }, { timeoutMs: 10_000 });
  }

  #freeAbandoned(): void {
    for (let i = 0; i < this.entries; i++) {
      const w = this.#words(i);
      if (Atomics.load(w, E_STATE) !== STATE_CREATING) continue;
      Atomics.store(w, E_STATE, STATE_FREE);
      reportRecovery({ structure: 'RegionDirectory', what: `freed entry ${i}, abandoned while being created`, deadPid: Atomics.load(w, E_PID) });
    }
  }

  #entry(i: number): RegionInfo | undefined {
    const w = this.#words(i);
    const state = Atomics.load(w, E_STATE);
    if (state !== STATE_READY) {
      if (state === STATE_FREE || state === STATE_CREATING) return undefined;
    }
    const raw = this.#nameBytes(i);
    const end = raw.indexOf(0);
    const e = {
      index: i,
      state,
      kind: Atomics.load(w, E_KIND),
      name: raw.toString('utf8', 0, end < 0 ? NAME_MAX : end),
      offset: read64(w, E_OFF_LO),
      length: read64(w, E_LEN_LO),
      layoutVersion: Atomics.load(w, E_LAYOUT),
      crcOk: Atomics.load(w, E_CRC) === this.#crc(i),
      heapStart: read64(this.#h, W_HEAP_START_LO),
      heapNext: read64(this.#h, W_HEAP_NEXT_LO),
    };
    const parsed = entrySchema.safeParse(e);
    if (!parsed.success) throw new ShmStateCorruptError(`region directory entry ${i}`, parsed.error.issues.map((x) => x.message).join('; '));
    return { name: e.name, kind: kindNames.get(e.kind) as RegionKindName, offset: e.offset, length: e.length, layoutVersion: e.layoutVersion };
  }

  #words(i: number): Int32Array {
    checkMapped(this.#mapping, 'RegionDirectory');
    return new Int32Array(this.memory.buffer, this.memory.byteOffset + ENTRIES_AT + i * ENTRY_BYTES, ENTRY_BYTES / 4);
  }

  #nameBytes(i: number): Buffer {
    const at = this.memory.byteOffset + ENTRIES_AT + i * ENTRY_BYTES + NAME_AT;
    return Buffer.from(this.memory.buffer, at, ENTRY_BYTES - NAME_AT);
  }

  #crc(i: number): number {
    const at = this.memory.byteOffset + ENTRIES_AT + i * ENTRY_BYTES;
    const b = Buffer.from(this.memory.buffer, at, ENTRY_BYTES);
    // Fields after the state word and before the checksum, plus the name.
    return crc32(b.subarray(NAME_AT), crc32(b.subarray(4, E_CRC * 4))) | 0;
  }
}

function read64(w: Int32Array, lo: number): number {
  return (Atomics.load(w, lo + 1) >>> 0) * 2 ** 32 + (Atomics.load(w, lo) >>> 0);
}

function write64(w: Int32Array, lo: number, v: number): void {
  Atomics.store(w, lo, v % 2 ** 32 | 0);
  Atomics.store(w, lo + 1, Math.floor(v / 2 ** 32) | 0);
}

function checkName(name: string): void {
  if (typeof name !== 'string' || !/^[\x21-\x7e][\x20-\x7e]{0,62}$/.test(name)) {
    throw new ShmStateError('ERR_INVALID_ARG_VALUE', `region names are 1-63 printable ASCII characters, not starting with a space; got ${JSON.stringify(name)}`);
  }
}

function checkKind(found: RegionInfo, kind: RegionKindName): RegionInfo {
  if (found.kind !== kind) {
    throw new ShmStateError('ERR_SHM_STATE_KIND_MISMATCH', `region "${found.name}" holds a ${found.kind}, not a ${kind}; use another name or a new file`);
  }
  return found;
}
