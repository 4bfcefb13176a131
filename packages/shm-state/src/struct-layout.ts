import { z } from 'zod';

import { ShmStateError } from './errors';
import { checkMapped, mappingOf, type ClosedProbe } from './mapping-probe';

export type ScalarType = 'u8' | 'u16' | 'u32' | 'u64' | 'i8' | 'i16' | 'i32' | 'i64' | 'f32' | 'f64';
/** A field type. Plain JSON, so a layout can be stored next to the data it describes. */
export type FieldType = ScalarType | { bytes: number } | { array: FieldType; length: number } | { struct: StructFields };
export type StructFields = { [name: string]: FieldType };

/** Layout builders: `t.struct({ hits: t.u64, name: t.bytes(32), hist: t.array(t.u32, 8) })`. */
export const t = {
  u8: 'u8',
  u16: 'u16',
  u32: 'u32',
  u64: 'u64',
  i8: 'i8',
  i16: 'i16',
  i32: 'i32',
  i64: 'i64',
  f32: 'f32',
  f64: 'f64',
  bytes: (length: number): FieldType => ({ bytes: length }),
  array: (of: FieldType, length: number): FieldType => ({ array: of, length }),
  struct: (fields: StructFields): { struct: StructFields } => ({ struct: fields }),
} as const;

const scalarSizes: Record<ScalarType, number> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, u64: 8, i64: 8, f64: 8 };

/** Field names: identifiers, except `toObject`, the view's own method (defining both would throw a TypeError). */
const fieldName = z.string().regex(/^[A-Za-z_$][\w$]*$/).refine((n) => n !== 'toObject', { message: 'toObject cannot be a field name' });

/**
 * Most property accessors one view may build. Arrays of zero-size elements
 * (empty structs, zero-length bytes) cost no data bytes, so a layout read
 * from shared memory could otherwise ask for 2^48 accessors and hang open().
 */
export const MAX_ACCESSORS = 1 << 20;

const fieldSchema: z.ZodType<FieldType> = z.lazy(() =>
  z.union([
    z.enum(['u8', 'u16', 'u32', 'u64', 'i8', 'i16', 'i32', 'i64', 'f32', 'f64']),
    z.object({ bytes: z.number().int().min(0).max(1 << 24) }).strict(),
    z.object({ array: fieldSchema, length: z.number().int().min(0).max(1 << 24) }).strict(),
    z.object({ struct: z.record(fieldName, fieldSchema) }).strict(),
  ]),
);

/** Validates a layout (from code or from shared memory). */
export function parseLayout(value: unknown, what: string): { struct: StructFields } {
  const r = z.object({ struct: z.record(fieldName, fieldSchema) }).strict().safeParse(value);
  if (!r.success) throw new ShmStateError('ERR_SHM_STATE_BAD_LAYOUT', `${what} is not a valid struct layout: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const layout = r.data as { struct: StructFields };
  const n = accessors(layout);
  if (n > MAX_ACCESSORS) {
    throw new ShmStateError('ERR_SHM_STATE_BAD_LAYOUT', `${what} needs ${n} field accessors, more than the ${MAX_ACCESSORS} a view may have; use arrays of scalars (one typed array each) or split the struct`);
  }
  return layout;
}

/** Accessors makeView builds for `type`: one per field, one per array of scalars (a typed array), one per element of other arrays. */
function accessors(type: FieldType): number {
  if (typeof type === 'string' || 'bytes' in type) return 1;
  if ('array' in type) return typeof type.array === 'string' ? 1 : 1 + type.length * accessors(type.array);
  let n = 1;
  for (const f of Object.values(type.struct)) n += accessors(f);
  return n;
}

export interface Compiled {
  size: number;
  align: number;
}

/** Size and alignment with natural alignment of every field (like C). */
export function compile(type: FieldType): Compiled {
  if (typeof type === 'string') return { size: scalarSizes[type], align: scalarSizes[type] };
  if ('bytes' in type) return { size: type.bytes, align: 1 };
  if ('array' in type) {
    const e = compile(type.array);
    return { size: alignTo(e.size, e.align) * type.length, align: e.align };
  }
  let size = 0;
  let align = 1;
  for (const f of Object.values(type.struct)) {
    const c = compile(f);
    size = alignTo(size, c.align) + c.size;
    align = Math.max(align, c.align);
  }
  return { size: alignTo(size, align), align };
}

/** Byte offsets of the fields of a struct, in declaration order. */
export function fieldOffsets(fields: StructFields): Array<[string, FieldType, number]> {
  const out: Array<[string, FieldType, number]> = [];
  let at = 0;
  for (const [name, f] of Object.entries(fields)) {
    const c = compile(f);
    at = alignTo(at, c.align);
    out.push([name, f, at]);
    at += c.size;
  }
  return out;
}

function alignTo(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

export type Plain = number | bigint | Buffer | Plain[] | { [k: string]: Plain };

/**
 * A live view over a struct in memory: each field is a property.
 * Scalars read and write numbers (bigint for u64/i64); `bytes` fields read as
 * a live Buffer and accept a string or bytes (zero-padded); arrays of scalars
 * read as a live typed array; nested structs and arrays of them read as views.
 */
export type StructView = { [name: string]: unknown } & { toObject(): { [k: string]: Plain } };

export function makeView(fields: StructFields, mem: Uint8Array, base: number): StructView {
  const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  const view = {} as StructView;
  const probe = mappingOf(mem);
  for (const [name, type, off] of fieldOffsets(fields)) {
    const at = base + off;
    defineField(view, name, type, mem, dv, at, probe);
  }
  Object.defineProperty(view, 'toObject', {
    value: () => {
      const o: { [k: string]: Plain } = {};
      for (const [name, type] of fieldOffsets(fields)) o[name] = toPlain((view as Record<string, unknown>)[name], type);
      return o;
    },
  });
  return view;
}

function defineField(target: object, name: string, type: FieldType, mem: Uint8Array, dv: DataView, at: number, probe: ClosedProbe | undefined): void {
  if (typeof type === 'string') {
    const [get, set] = scalarAccess(type, dv, at);
    if (probe === undefined) Object.defineProperty(target, name, { get, set, enumerable: true });
    else {
      // A closed mapping reads zeros: say so instead of answering 0.
      Object.defineProperty(target, name, {
        enumerable: true,
        get: () => {
          checkMapped(probe, 'Struct');
          return get();
        },
        set: (v: number | bigint) => {
          checkMapped(probe, 'Struct');
          set(v);
        },
      });
    }
    return;
  }
  if ('bytes' in type) {
    const view = Buffer.from(mem.buffer, mem.byteOffset + at, type.bytes);
    Object.defineProperty(target, name, {
      enumerable: true,
      get: () => {
        checkMapped(probe, 'Struct');
        return view;
      },
      set: (v: string | Uint8Array) => {
        checkMapped(probe, 'Struct');
        const src = typeof v === 'string' ? Buffer.from(v) : v;
        if (src.byteLength > type.bytes) throw new ShmStateError('ERR_OUT_OF_RANGE', `field ${name} holds ${type.bytes} bytes, got ${src.byteLength}`);
        view.fill(0);
        view.set(src);
      },
    });
    return;
  }
  if ('array' in type) {
    const e = compile(type.array);
    const stride = Math.ceil(e.size / e.align) * e.align;
    if (typeof type.array === 'string') {
      const arr = typedArray(type.array, mem, at, type.length);
      Object.defineProperty(target, name, {
        enumerable: true,
        get: () => arr,
        set: (v: ArrayLike<number | bigint>) => {
          if (v.length > type.length) throw new ShmStateError('ERR_OUT_OF_RANGE', `field ${name} holds ${type.length} elements, got ${v.length}`);
          for (let i = 0; i < v.length; i++) (arr as unknown as Array<number | bigint>)[i] = v[i] as never;
        },
      });
      return;
    }
    const items: unknown[] = [];
    for (let i = 0; i < type.length; i++) {
      const holder = {};
      defineField(holder, 'v', type.array, mem, dv, at + i * stride, probe);
      items.push(holder);
    }
    const elemType = type.array;
    const proxy = items.map((h) => (typeof elemType === 'object' && 'struct' in elemType ? (h as { v: unknown }).v : h));
    Object.defineProperty(target, name, {
      enumerable: true,
      get: () => (typeof elemType === 'object' && 'struct' in elemType ? proxy : items.map((h) => (h as { v: unknown }).v)),
      set: (v: unknown[]) => {
        if (v.length > type.length) throw new ShmStateError('ERR_OUT_OF_RANGE', `field ${name} holds ${type.length} elements, got ${v.length}`);
        v.forEach((x, i) => ((items[i] as { v: unknown }).v = x));
      },
    });
    return;
  }
  const nested = makeView(type.struct, mem, at);
  Object.defineProperty(target, name, {
    enumerable: true,
    get: () => nested,
    set: (v: Record<string, unknown>) => assign(nested, v),
  });
}

/** Copies the fields of a plain object (as from `toObject()`) into a view; unknown fields are ignored. */
export function assign(view: StructView, value: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(value)) {
    if (Object.prototype.hasOwnProperty.call(view, k) && k !== 'toObject') (view as Record<string, unknown>)[k] = v;
  }
}

function toPlain(v: unknown, type: FieldType): Plain {
  if (typeof type === 'string') return v as number | bigint;
  if ('bytes' in type) return Buffer.from(v as Buffer);
  if ('array' in type) return Array.from(v as ArrayLike<unknown>, (x) => toPlain(x, type.array));
  return (v as StructView).toObject();
}

function scalarAccess(type: ScalarType, dv: DataView, at: number): [() => number | bigint, (v: number | bigint) => void] {
  switch (type) {
    case 'u8':
      return [() => dv.getUint8(at), (v) => dv.setUint8(at, Number(v))];
    case 'i8':
      return [() => dv.getInt8(at), (v) => dv.setInt8(at, Number(v))];
    case 'u16':
      return [() => dv.getUint16(at, true), (v) => dv.setUint16(at, Number(v), true)];
    case 'i16':
      return [() => dv.getInt16(at, true), (v) => dv.setInt16(at, Number(v), true)];
    case 'u32':
      return [() => dv.getUint32(at, true), (v) => dv.setUint32(at, Number(v), true)];
    case 'i32':
      return [() => dv.getInt32(at, true), (v) => dv.setInt32(at, Number(v), true)];
    case 'f32':
      return [() => dv.getFloat32(at, true), (v) => dv.setFloat32(at, Number(v), true)];
    case 'f64':
      return [() => dv.getFloat64(at, true), (v) => dv.setFloat64(at, Number(v), true)];
    case 'u64':
      return [() => dv.getBigUint64(at, true), (v) => dv.setBigUint64(at, BigInt(v), true)];
    case 'i64':
      return [() => dv.getBigInt64(at, true), (v) => dv.setBigInt64(at, BigInt(v), true)];
  }
}

function typedArray(type: ScalarType, mem: Uint8Array, at: number, length: number): ArrayLike<number | bigint> {
  const o = mem.byteOffset + at;
  switch (type) {
    case 'u8':
      return new Uint8Array(mem.buffer, o, length);
    case 'i8':
      return new Int8Array(mem.buffer, o, length);
    case 'u16':
      return new Uint16Array(mem.buffer, o, length);
    case 'i16':
      return new Int16Array(mem.buffer, o, length);
    case 'u32':
      return new Uint32Array(mem.buffer, o, length);
    case 'i32':
      return new Int32Array(mem.buffer, o, length);
    case 'f32':
      return new Float32Array(mem.buffer, o, length);
    case 'f64':
      return new Float64Array(mem.buffer, o, length);
    case 'u64':
      return new BigUint64Array(mem.buffer, o, length);
    case 'i64':
      return new BigInt64Array(mem.buffer, o, length);
  }
}
