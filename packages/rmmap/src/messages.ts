import { z } from 'zod';

import { FrameType, HEADER_BYTES, MAGIC, MAX_FRAME_LIMIT, MAX_PATH_BYTES, WireError, type WireErrorName } from './constants';
import { RmmapProtocolError } from './errors';

// Encoders and decoders of each message body (docs/PROTOCOL.md §4). Decoders
// read with bounds-checked Buffer methods, then validate the decoded control
// fields with zod before anything uses them.

const u64 = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const u32 = z.number().int().nonnegative().max(0xffffffff);
const mapId = z.number().int().positive().max(0xffffffff);

export const helloSchema = z.object({
  // §3: "magic MUST be 0x524d4d50".
  magic: z.literal(MAGIC),
  version: z.number().int().min(1).max(0xffff),
  session: z.instanceof(Buffer).refine((b) => b.length === 16, 'session id must be 16 bytes'),
  token: z.instanceof(Buffer).refine((b) => b.length <= 1024, 'token must be at most 1024 bytes'),
});
export type Hello = z.infer<typeof helloSchema>;

export const helloOkSchema = z.object({
  version: z.number().int().min(1).max(0xffff),
  maxFrame: z.number().int().min(1024).max(MAX_FRAME_LIMIT),
  epoch: z.instanceof(Buffer).refine((b) => b.length === 16),
  resumed: z.boolean(),
  readOnly: z.boolean(),
});
export type HelloOk = z.infer<typeof helloOkSchema>;

export const mapSchema = z
  .object({
    offset: u64,
    length: u64.min(1),
    writable: z.boolean(),
    // §4.1: a relative path of at most 4096 bytes, no NUL.
    path: z.string().min(1).refine((p) => !p.includes('\0'), 'path must not contain NUL'),
  })
  .refine((m) => m.offset + m.length <= Number.MAX_SAFE_INTEGER, 'offset + length overflows');
export type MapRequest = z.infer<typeof mapSchema>;

export const mappedSchema = z.object({
  mapId,
  offset: u64,
  length: u64,
  fileSize: u64,
  version: u64,
  writable: z.boolean(),
});
export type Mapped = z.infer<typeof mappedSchema>;

export const readSchema = z
  .object({ mapId, start: u64, end: u64 })
  .refine((r) => r.start <= r.end, 'READ start must not exceed end');
export type ReadRequest = z.infer<typeof readSchema>;

// The control fields only: the data is the frame's remaining bytes, a Buffer
// by construction (checking it with z.instanceof cost ~1 µs a WRITE, cold).
export const writeSchema = z.object({ mapId, lowWater: u32, start: u64 });
export type WriteRequest = z.infer<typeof writeSchema> & { data: Buffer };

export const notifySchema = z
  .object({ mapId, start: u64, end: u64, version: u64 })
  .refine((r) => r.start <= r.end, 'NOTIFY start must not exceed end');
export type Notify = z.infer<typeof notifySchema>;

export const errorSchema = z.object({ code: z.number().int().min(0).max(0xffff), message: z.string() });
export type ErrorBody = z.infer<typeof errorSchema>;

/** Bounds-checked cursor; any overrun becomes ERR_RMMAP_BAD_FRAME. */
class Reader {
  #at = 0;
  constructor(
    readonly buf: Buffer,
    readonly what: string,
  ) {}
  u8(): number {
    const at = this.#take(1);
    return this.buf.readUInt8(at);
  }
  u16(): number {
    const at = this.#take(2);
    return this.buf.readUInt16BE(at);
  }
  u32(): number {
    const at = this.#take(4);
    return this.buf.readUInt32BE(at);
  }
  u64(): number {
    // Two 32-bit halves (no BigInt on the hot path). Values of 2^53 and above
    // come out >= MAX_SAFE_INTEGER + 1 and fail the zod u64 check.
    const at = this.#take(8);
    return this.buf.readUInt32BE(at) * 0x100000000 + this.buf.readUInt32BE(at + 4);
  }
  bytes(n: number): Buffer {
    const at = this.#take(n);
    return this.buf.subarray(at, at + n);
  }
  rest(): Buffer {
    const b = this.buf.subarray(this.#at);
    this.#at = this.buf.length;
    return b;
  }
  end(): void {
    if (this.#at !== this.buf.length) {
      throw new RmmapProtocolError('ERR_RMMAP_BAD_FRAME', `${this.what} has ${this.buf.length - this.#at} trailing bytes (PROTOCOL.md §4)`);
    }
  }
  /** Reserves `n` bytes and returns where they start; an overrun is ERR_RMMAP_BAD_FRAME. */
  #take(n: number): number {
    const at = this.#at;
    if (at + n > this.buf.length) {
      throw new RmmapProtocolError('ERR_RMMAP_BAD_FRAME', `${this.what} is truncated: ${this.buf.length} bytes (PROTOCOL.md §4)`);
    }
    this.#at = at + n;
    return at;
  }
}

function validate<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : ` (field ${issue.path.join('.')})`;
    throw new RmmapProtocolError('ERR_RMMAP_BAD_FRAME', `invalid ${what}: ${issue?.message ?? 'malformed'}${where} (PROTOCOL.md §4)`);
  }
  return r.data;
}

export function decodeHello(p: Buffer): Hello {
  const r = new Reader(p, 'HELLO');
  const magic = r.u32();
  const version = r.u16();
  r.u16(); // flags, reserved (§3)
  const session = r.bytes(16);
  const token = r.bytes(r.u16());
  r.end();
  return validate(helloSchema, { magic, version, session, token }, 'HELLO');
}

export function decodeHelloOk(p: Buffer): HelloOk {
  const r = new Reader(p, 'HELLO_OK');
  const version = r.u16();
  const maxFrame = r.u32();
  const epoch = r.bytes(16);
  const resumed = r.u8() === 1;
  const readOnly = r.u8() === 1;
  r.end();
  return validate(helloOkSchema, { version, maxFrame, epoch, resumed, readOnly }, 'HELLO_OK');
}

export function decodeMap(p: Buffer): MapRequest {
  const r = new Reader(p, 'MAP');
  const offset = r.u64();
  const length = r.u64();
  const flags = r.u8();
  const pathLen = r.u16();
  if (pathLen > MAX_PATH_BYTES) {
    throw new RmmapProtocolError('ERR_RMMAP_BAD_FRAME', `MAP path is ${pathLen} bytes; the limit is ${MAX_PATH_BYTES} (PROTOCOL.md §4.1)`);
  }
  const pathBytes = r.bytes(pathLen);
  r.end();
  const path = pathBytes.toString('utf8');
  if (!Buffer.from(path, 'utf8').equals(pathBytes)) {
    throw new RmmapProtocolError('ERR_RMMAP_BAD_FRAME', 'MAP path is not valid UTF-8 (PROTOCOL.md §4.1)');
  }
  return validate(mapSchema, { offset, length, writable: (flags & 1) === 1, path }, 'MAP');
}

export function decodeMapped(p: Buffer): Mapped {
  const r = new Reader(p, 'MAPPED');
  const v = { mapId: r.u32(), offset: r.u64(), length: r.u64(), fileSize: r.u64(), version: r.u64(), writable: r.u8() === 1 };
  r.end();
  return validate(mappedSchema, v, 'MAPPED');
}

export function decodeRead(p: Buffer): ReadRequest {
  const r = new Reader(p, 'READ');
  const v = { mapId: r.u32(), start: r.u64(), end: r.u64() };
  r.end();
  return validate(readSchema, v, 'READ');
}

export function decodeData(p: Buffer): { version: number; data: Buffer } {
  const r = new Reader(p, 'DATA');
  const version = validate(u64, r.u64(), 'DATA version');
  return { version, data: r.rest() };
}

export function decodeWrite(p: Buffer): WriteRequest {
  const r = new Reader(p, 'WRITE');
  const head = validate(writeSchema, { mapId: r.u32(), lowWater: r.u32(), start: r.u64() }, 'WRITE');
  return { mapId: head.mapId, lowWater: head.lowWater, start: head.start, data: r.rest() };
}

export function decodeVersion(p: Buffer, what: string): number {
  const r = new Reader(p, what);
  const v = r.u64();
  r.end();
  return validate(u64, v, what);
}

export function decodeMapIdBody(p: Buffer, what: string, allowZero: boolean): number {
  const r = new Reader(p, what);
  const id = r.u32();
  r.end();
  return validate(allowZero ? u32 : mapId, id, what);
}

export function decodeNotify(p: Buffer): Notify {
  const r = new Reader(p, 'NOTIFY');
  const v = { mapId: r.u32(), start: r.u64(), end: r.u64(), version: r.u64() };
  r.end();
  return validate(notifySchema, v, 'NOTIFY');
}

export function decodeError(p: Buffer): ErrorBody {
  const r = new Reader(p, 'ERROR');
  const code = r.u16();
  const message = r.bytes(r.u16()).toString('utf8');
  r.end();
  return validate(errorSchema, { code, message }, 'ERROR');
}

// ---- encoders ---------------------------------------------------------------

/** Allocates a frame with its header filled in; the caller writes `size` payload bytes at HEADER_BYTES. */
export function frame(type: number, requestId: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(HEADER_BYTES + size);
  b.writeUInt32BE(HEADER_BYTES - 4 + size, 0);
  b.writeUInt8(type, 4);
  b.writeUInt32BE(requestId, 5);
  return b;
}

/** Writes a safe integer as u64 (callers only pass validated, non-negative safe integers). */
function w64(b: Buffer, v: number, at: number): number {
  b.writeUInt32BE(Math.floor(v / 0x100000000), at);
  b.writeUInt32BE(v >>> 0, at + 4);
  return at + 8;
}

export function encodeHello(requestId: number, session: Buffer, token: Buffer, version = 1): Buffer {
  const b = frame(FrameType.HELLO, requestId, 4 + 2 + 2 + 16 + 2 + token.length);
  let at = HEADER_BYTES;
  at = b.writeUInt32BE(MAGIC, at);
  at = b.writeUInt16BE(version, at);
  at = b.writeUInt16BE(0, at);
  at += session.copy(b, at);
  at = b.writeUInt16BE(token.length, at);
  token.copy(b, at);
  return b;
}

export function encodeHelloOk(requestId: number, v: HelloOk): Buffer {
  const b = frame(FrameType.HELLO_OK, requestId, 2 + 4 + 16 + 2);
  let at = HEADER_BYTES;
  at = b.writeUInt16BE(v.version, at);
  at = b.writeUInt32BE(v.maxFrame, at);
  at += v.epoch.copy(b, at);
  at = b.writeUInt8(v.resumed ? 1 : 0, at);
  b.writeUInt8(v.readOnly ? 1 : 0, at);
  return b;
}

export function encodeMap(requestId: number, m: MapRequest): Buffer {
  const path = Buffer.from(m.path, 'utf8');
  const b = frame(FrameType.MAP, requestId, 8 + 8 + 1 + 2 + path.length);
  let at = w64(b, m.offset, HEADER_BYTES);
  at = w64(b, m.length, at);
  at = b.writeUInt8(m.writable ? 1 : 0, at);
  at = b.writeUInt16BE(path.length, at);
  path.copy(b, at);
  return b;
}

export function encodeMapped(requestId: number, m: Mapped): Buffer {
  const b = frame(FrameType.MAPPED, requestId, 4 + 8 * 4 + 1);
  let at = b.writeUInt32BE(m.mapId, HEADER_BYTES);
  at = w64(b, m.offset, at);
  at = w64(b, m.length, at);
  at = w64(b, m.fileSize, at);
  at = w64(b, m.version, at);
  b.writeUInt8(m.writable ? 1 : 0, at);
  return b;
}

export function encodeRead(requestId: number, id: number, start: number, end: number): Buffer {
  const b = frame(FrameType.READ, requestId, 4 + 16);
  let at = b.writeUInt32BE(id, HEADER_BYTES);
  at = w64(b, start, at);
  w64(b, end, at);
  return b;
}

/** A DATA frame whose payload is a copy of `src`: the reply is a snapshot, later writes cannot leak into it. */
export function encodeData(requestId: number, version: number, src: Buffer): Buffer {
  const b = frame(FrameType.DATA, requestId, 8 + src.length);
  const at = w64(b, version, HEADER_BYTES);
  src.copy(b, at);
  return b;
}

export function encodeWrite(requestId: number, id: number, lowWater: number, start: number, data: Uint8Array): Buffer {
  const b = frame(FrameType.WRITE, requestId, 4 + 4 + 8 + data.length);
  let at = b.writeUInt32BE(id, HEADER_BYTES);
  at = b.writeUInt32BE(lowWater, at);
  at = w64(b, start, at);
  b.set(data, at);
  return b;
}

export function encodeVersion(type: number, requestId: number, version: number): Buffer {
  const b = frame(type, requestId, 8);
  w64(b, version, HEADER_BYTES);
  return b;
}

export function encodeMapIdBody(type: number, requestId: number, id: number): Buffer {
  const b = frame(type, requestId, 4);
  b.writeUInt32BE(id, HEADER_BYTES);
  return b;
}

export function encodeEmpty(type: number, requestId: number): Buffer {
  return frame(type, requestId, 0);
}

export function encodeBytes(type: number, requestId: number, data: Uint8Array): Buffer {
  const b = frame(type, requestId, data.length);
  b.set(data, HEADER_BYTES);
  return b;
}

export function encodeNotify(n: Notify): Buffer {
  const b = frame(FrameType.NOTIFY, 0, 4 + 24);
  let at = b.writeUInt32BE(n.mapId, HEADER_BYTES);
  at = w64(b, n.start, at);
  at = w64(b, n.end, at);
  w64(b, n.version, at);
  return b;
}

export function encodeError(requestId: number, code: WireErrorName, message: string): Buffer {
  let msg = Buffer.from(message, 'utf8');
  if (msg.length > 1024) msg = msg.subarray(0, 1024);
  const b = frame(FrameType.ERROR, requestId, 2 + 2 + msg.length);
  let at = b.writeUInt16BE(WireError[code], HEADER_BYTES);
  at = b.writeUInt16BE(msg.length, at);
  msg.copy(b, at);
  return b;
}
