import { ShmStateCorruptError, ShmStateError } from './errors';
import { assign, compile, makeView, parseLayout, type Plain, type StructFields, type StructView } from './struct-layout';
import { alignUp, checkRegion, fourcc, int32At, type Memory } from './memory-region';

const MAGIC = fourcc('STRC');
const VERSION = 1;
const W_MAGIC = 0;
const W_VERSION = 1;
const W_ACTIVE = 2; // which copy (0 or 1) is current
const W_JSON_CAP = 3;
const W_DATA_CAP = 4;
const HEADER = 64;
// Copy header words.
const C_LAYOUT_VERSION = 0;
const C_JSON_LEN = 1;
const COPY_HEADER = 8;

export interface StructOptions {
  offset?: number;
  /** The layout: `t.struct({ … })`. */
  layout: { struct: StructFields };
  /** Your layout's version; bump it whenever the layout changes. Default 1. */
  version?: number;
}

export interface StructCreateOptions extends StructOptions {
  /** Bytes reserved for data, so later layouts can grow in place. Default: twice the layout, at least 256. */
  reserve?: number;
}

/**
 * Called when the stored layout version differs from the code's: `old` is the
 * stored data decoded with the stored layout; write the new state into
 * `next` (a zeroed view of the new layout), or return a plain object to be
 * copied into it field by field.
 */
export type Migrate = (old: { version: number; data: { [k: string]: Plain } }, next: StructView) => void | Record<string, unknown>;

/**
 * A fixed-layout record in shared memory with typed accessors, whose layout
 * is stored next to it so a program whose code changed between runs can
 * migrate the old data (hot reload).
 *
 * Layout: a 64-byte header (magic, version, active copy, capacities) and two
 * copies, each [layout version][layout JSON][data]. Only the active copy is
 * live. `open()` with a different layout version decodes the active copy
 * with its stored layout, lets `migrate` fill the other copy, and then flips
 * `active` with one atomic store: a migration killed half-way leaves the old
 * copy active and is simply redone on the next start.
 *
 * Fields are plain memory, not atomics: have one writer, or guard writers
 * with a Mutex; for counters updated by many processes use Counter64.
 * A process still running the old code keeps its view of the old copy; its
 * writes after a migration are not carried over.
 */
export class Struct {
  readonly version: number;
  readonly byteLength: number;
  /** Whether open() migrated data from another layout version. */
  readonly migratedFrom: number | null;
  readonly view: StructView;

  private constructor(view: StructView, version: number, byteLength: number, migratedFrom: number | null) {
    this.view = view;
    this.version = version;
    this.byteLength = byteLength;
    this.migratedFrom = migratedFrom;
  }

  static byteLengthFor(layout: { struct: StructFields }, reserve?: number): number {
    const { jsonCap, dataCap } = capacities(layout, reserve);
    return HEADER + 2 * copyBytes(jsonCap, dataCap);
  }

  static create(memory: Memory, options: StructCreateOptions): Struct {
    const layout = parseLayout(options.layout, 'the layout');
    const offset = options.offset ?? 0;
    const version = checkVersion(options.version ?? 1);
    const { jsonCap, dataCap } = capacities(layout, options.reserve);
    const total = HEADER + 2 * copyBytes(jsonCap, dataCap);
    checkRegion(memory, offset, total, 8, 'Struct');
    const h = int32At(memory, offset, HEADER, 'Struct');
    Atomics.store(h, W_MAGIC, 0);
    memory.fill(0, offset + 4, offset + total);
    Atomics.store(h, W_VERSION, VERSION);
    Atomics.store(h, W_JSON_CAP, jsonCap);
    Atomics.store(h, W_DATA_CAP, dataCap);
    writeCopy(memory, offset, 0, jsonCap, version, layout);
    Atomics.store(h, W_ACTIVE, 0);
    Atomics.store(h, W_MAGIC, MAGIC);
    return new Struct(makeView(layout.struct, memory, offset + HEADER + COPY_HEADER + jsonCap), version, total, null);
  }

  /**
   * Opens a struct; if it was stored with another layout version, migrates it
   * (see `Migrate`). Same version with a different layout is refused.
   */
  static open(memory: Memory, options: StructOptions & { migrate?: Migrate }): Struct {
    const layout = parseLayout(options.layout, 'the layout');
    const offset = options.offset ?? 0;
    const version = checkVersion(options.version ?? 1);
    checkRegion(memory, offset, HEADER, 8, 'Struct');
    const h = int32At(memory, offset, HEADER, 'Struct');
    const where = `Struct at offset ${offset}`;
    if (Atomics.load(h, W_MAGIC) !== MAGIC) throw new ShmStateCorruptError(where, 'no struct header (bad magic)');
    if (Atomics.load(h, W_VERSION) !== VERSION) throw new ShmStateCorruptError(where, `unsupported header version ${Atomics.load(h, W_VERSION)}`);
    const active = Atomics.load(h, W_ACTIVE);
    const jsonCap = Atomics.load(h, W_JSON_CAP);
    const dataCap = Atomics.load(h, W_DATA_CAP);
    if ((active !== 0 && active !== 1) || jsonCap < 64 || jsonCap % 64 !== 0 || dataCap < 0 || dataCap % 64 !== 0) {
      throw new ShmStateCorruptError(where, `impossible header (active ${active}, capacities ${jsonCap}/${dataCap})`);
    }
    const total = HEADER + 2 * copyBytes(jsonCap, dataCap);
    if (offset + total > memory.byteLength) throw new ShmStateCorruptError(where, 'its copies run past the end of the buffer');
    const stored = readCopy(memory, offset, active, jsonCap, where);
    const dataAt = (copy: number) => offset + HEADER + copy * copyBytes(jsonCap, dataCap) + COPY_HEADER + jsonCap;
    if (stored.version === version) {
      if (JSON.stringify(stored.layout) !== JSON.stringify(layout)) {
        throw new ShmStateError(
          'ERR_SHM_STATE_LAYOUT_MISMATCH',
          `${where} was stored with a different layout under the same version ${version}; bump the version and pass migrate()`,
        );
      }
      return new Struct(makeView(layout.struct, memory, dataAt(active)), version, total, null);
    }
    if (options.migrate === undefined) {
      throw new ShmStateError('ERR_SHM_STATE_LAYOUT_MISMATCH', `${where} holds layout version ${stored.version}, the code has ${version}; pass migrate() to convert it`);
    }
    const size = compile(layout).size;
    const json = Buffer.byteLength(JSON.stringify(layout));
    if (size > dataCap || json > jsonCap) {
      throw new ShmStateError('ERR_SHM_STATE_TOO_SMALL', `${where}: the new layout needs ${size} data bytes (${json} layout bytes) but ${dataCap} (${jsonCap}) were reserved; migrate into a region with a new name`);
    }
    const old = makeView(stored.layout.struct, memory, dataAt(active)).toObject();
    const target = 1 - active;
    memory.fill(0, dataAt(target), dataAt(target) + dataCap);
    writeCopy(memory, offset, target, jsonCap, version, layout, dataCap);
    const next = makeView(layout.struct, memory, dataAt(target));
    const returned = options.migrate({ version: stored.version, data: old }, next);
    if (returned !== undefined) assign(next, returned);
    // The flip: one store makes the new copy current.
    Atomics.store(h, W_ACTIVE, target);
    return new Struct(next, version, total, stored.version);
  }
}

/**
 * Decodes a struct with the layout stored next to it, without knowing the
 * program's layout (for tools such as `shm-state inspect`).
 */
export function inspectStruct(memory: Memory, offset: number): { version: number; layout: { struct: StructFields }; data: { [k: string]: Plain } } {
  checkRegion(memory, offset, HEADER, 8, 'Struct');
  const h = int32At(memory, offset, HEADER, 'Struct');
  const where = `Struct at offset ${offset}`;
  if (Atomics.load(h, W_MAGIC) !== MAGIC) throw new ShmStateCorruptError(where, 'no struct header (bad magic)');
  const active = Atomics.load(h, W_ACTIVE);
  const jsonCap = Atomics.load(h, W_JSON_CAP);
  const dataCap = Atomics.load(h, W_DATA_CAP);
  if ((active !== 0 && active !== 1) || jsonCap < 64 || jsonCap % 64 !== 0 || dataCap < 0 || dataCap % 64 !== 0) {
    throw new ShmStateCorruptError(where, `impossible header (active ${active}, capacities ${jsonCap}/${dataCap})`);
  }
  if (offset + HEADER + 2 * copyBytes(jsonCap, dataCap) > memory.byteLength) throw new ShmStateCorruptError(where, 'its copies run past the end of the buffer');
  const stored = readCopy(memory, offset, active, jsonCap, where);
  const at = offset + HEADER + active * copyBytes(jsonCap, dataCap) + COPY_HEADER + jsonCap;
  return { version: stored.version, layout: stored.layout, data: makeView(stored.layout.struct, memory, at).toObject() };
}

function checkVersion(v: number): number {
  if (!Number.isInteger(v) || v < 1 || v > 0x7fffffff) throw new ShmStateError('ERR_OUT_OF_RANGE', `layout version must be a positive integer, got ${v}`);
  return v;
}

function capacities(layout: { struct: StructFields }, reserve?: number): { jsonCap: number; dataCap: number } {
  const size = compile(layout).size;
  const json = Buffer.byteLength(JSON.stringify(layout));
  const dataCap = alignUp(Math.max(reserve ?? Math.max(256, 2 * size), size), 64);
  const jsonCap = alignUp(Math.max(1024, 2 * json), 64);
  return { jsonCap, dataCap };
}

function copyBytes(jsonCap: number, dataCap: number): number {
  return COPY_HEADER + jsonCap + dataCap;
}

function writeCopy(memory: Memory, offset: number, copy: number, jsonCap: number, version: number, layout: object, dataCap?: number): void {
  const dc = dataCap ?? Atomics.load(int32At(memory, offset, HEADER, 'Struct'), W_DATA_CAP);
  const at = offset + HEADER + copy * copyBytes(jsonCap, dc);
  const w = int32At(memory, at, COPY_HEADER, 'Struct');
  const json = Buffer.from(JSON.stringify(layout));
  Buffer.from(memory.buffer, memory.byteOffset + at + COPY_HEADER, jsonCap).fill(0).set(json);
  Atomics.store(w, C_LAYOUT_VERSION, version);
  Atomics.store(w, C_JSON_LEN, json.length);
}

function readCopy(memory: Memory, offset: number, copy: number, jsonCap: number, where: string): { version: number; layout: { struct: StructFields } } {
  const dataCap = Atomics.load(int32At(memory, offset, HEADER, 'Struct'), W_DATA_CAP);
  const at = offset + HEADER + copy * copyBytes(jsonCap, dataCap);
  const w = int32At(memory, at, COPY_HEADER, 'Struct');
  const version = Atomics.load(w, C_LAYOUT_VERSION);
  const len = Atomics.load(w, C_JSON_LEN);
  if (len <= 0 || len > jsonCap) throw new ShmStateCorruptError(where, `stored layout length ${len} is outside (0, ${jsonCap}]`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(memory.buffer, memory.byteOffset + at + COPY_HEADER, len).toString('utf8'));
  } catch {
    throw new ShmStateCorruptError(where, 'stored layout is not JSON');
  }
  let layout: { struct: StructFields };
  try {
    layout = parseLayout(parsed, 'the stored layout');
  } catch (err) {
    throw new ShmStateCorruptError(where, (err as Error).message);
  }
  if (compile(layout).size > dataCap) throw new ShmStateCorruptError(where, 'stored layout is larger than its data area');
  return { version, layout };
}
