import { MAX_FRAME_LIMIT, MAX_PATH_BYTES } from '../constants';
import { RmmapError } from '../errors';
import { MAX_APPLIED } from './applied';
import { checkRelativePath } from './confine';
import { crc32 } from '../crc32';

/*
 * The byte layout of rmmapd's write journal (PROTOCOL.md §6, "The write
 * journal"). Integers are big-endian, like the wire protocol.
 *
 *   file    := MAGIC record*            the first record is a HEADER
 *   record  := u32 length, u32 crc, body    length = 4 + body length;
 *                                           crc = CRC-32 of the body
 *   body    := u8 type, fields per type (below)
 *
 * Records are stored into a shared mapping of the file, the length field
 * last, so after a kill -9 only the last one can be unfinished, and then
 * its length field is still 0. Past the last record the file is zeros
 * (room reserved for the next records).
 */

/** "RMMAPJ", NUL, format version 1. */
export const JOURNAL_MAGIC = Buffer.from([0x52, 0x4d, 0x4d, 0x41, 0x50, 0x4a, 0x00, 0x01]);

/** u32 length + u32 crc in front of every body. */
export const PREFIX_BYTES = 8;

export const RecordType = {
  /** u8 type, root path (UTF-8, the rest): which --root the journal belongs to. */
  HEADER: 1,
  /** u8 type, 16 B session, u32 request id, u32 low water, u64 version, u64 file offset, u16 path len, path, data. */
  WRITE: 2,
  /** u8 type, 16 B session, u32 count, count × (u32 request id, u64 version): a session's whole table (compaction). */
  SESSION: 3,
  /** u8 type, u64 version, path (the rest): a file's version (compaction). */
  FILE: 4,
} as const;

const WRITE_FIXED = 1 + 16 + 4 + 4 + 8 + 8 + 2;
const SESSION_FIXED = 1 + 16 + 4;
const SESSION_ENTRY = 4 + 8;

/**
 * Largest body a reader accepts before allocating: a WRITE of the largest
 * frame any rmmapd accepts, or a full SESSION table, whichever is larger.
 */
export const MAX_BODY = Math.max(WRITE_FIXED + MAX_PATH_BYTES + MAX_FRAME_LIMIT, SESSION_FIXED + MAX_APPLIED * SESSION_ENTRY);

export interface WriteRecord {
  /** The client's session id (HELLO), hex. */
  session: string;
  requestId: number;
  lowWater: number;
  /** The file version the write produced (§4.5). */
  version: number;
  /** Path relative to the served root, as the server's file table names the file. */
  path: string;
  /** Offset in the file (not in the mapping). */
  offset: number;
  data: Buffer;
}

export type JournalRecord =
  | { type: 'header'; root: string }
  | ({ type: 'write' } & WriteRecord)
  | { type: 'session'; session: string; applied: Array<[number, number]> }
  | { type: 'file'; path: string; version: number };

/** A record that is whole (its CRC matched) but does not make sense: the journal is not ours to guess about. */
export class BadRecord extends Error {
  constructor(
    message: string,
    readonly badPath = false,
  ) {
    super(message);
  }
}

function writeU64(b: Buffer, v: number, at: number): void {
  b.writeUInt32BE(Math.floor(v / 0x100000000), at);
  b.writeUInt32BE(v >>> 0, at + 4);
}

function readU64(b: Buffer, at: number, what: string): number {
  const hi = b.readUInt32BE(at);
  if (hi > 0x1fffff) throw new BadRecord(`${what} does not fit 2^53`);
  return hi * 0x100000000 + b.readUInt32BE(at + 4);
}

function prefix(body: Buffer, crc: number, bodyLength = body.length - PREFIX_BYTES): Buffer {
  body.writeUInt32BE(4 + bodyLength, 0);
  body.writeUInt32BE(crc >>> 0, 4);
  return body;
}

/** A whole record for a body built after PREFIX_BYTES of room. */
function seal(withRoom: Buffer): Buffer {
  return prefix(withRoom, crc32(withRoom.subarray(PREFIX_BYTES)));
}

export function encodeHeader(root: string): Buffer {
  const r = Buffer.from(root, 'utf8');
  const b = Buffer.allocUnsafe(PREFIX_BYTES + 1 + r.length);
  b[PREFIX_BYTES] = RecordType.HEADER;
  r.copy(b, PREFIX_BYTES + 1);
  return seal(b);
}

/** The fields of a WRITE record besides its data. The server passes the session id and path as bytes it keeps, to spare a conversion per write. */
export interface WriteHead {
  /** 16 bytes, or their hex. */
  session: Buffer | string;
  requestId: number;
  lowWater: number;
  version: number;
  /** UTF-8 bytes, or the string. */
  path: Buffer | string;
  offset: number;
}

/** Bytes a WRITE record takes, prefix included. */
export function writeRecordLength(rec: WriteHead, dataLength: number): number {
  const pathLen = typeof rec.path === 'string' ? Buffer.byteLength(rec.path, 'utf8') : rec.path.length;
  return PREFIX_BYTES + WRITE_FIXED + pathLen + dataLength;
}

/**
 * Writes a WRITE record into `target` at `at` (room for writeRecordLength
 * bytes, all zero) and returns its length. The length field is stored last:
 * it is the commit. A process killed halfway leaves length 0 there, which a
 * reader takes for the end of the journal (journal-load.ts).
 */
export function encodeWriteInto(target: Buffer, at: number, rec: WriteHead, data: Uint8Array): number {
  const p = typeof rec.path === 'string' ? Buffer.from(rec.path, 'utf8') : rec.path;
  const bodyAt = at + PREFIX_BYTES;
  let i = bodyAt;
  target[i++] = RecordType.WRITE;
  if (typeof rec.session === 'string') target.write(rec.session, i, 16, 'hex');
  else rec.session.copy(target, i, 0, 16);
  i += 16;
  target.writeUInt32BE(rec.requestId, i);
  target.writeUInt32BE(rec.lowWater, i + 4);
  writeU64(target, rec.version, i + 8);
  writeU64(target, rec.offset, i + 16);
  target.writeUInt16BE(p.length, i + 24);
  p.copy(target, i + 26);
  const dataAt = i + 26 + p.length;
  target.set(data, dataAt);
  const end = dataAt + data.length;
  target.writeUInt32BE(crc32(target.subarray(bodyAt, end)), at + 4);
  target.writeUInt32BE(4 + end - bodyAt, at);
  return end - at;
}

export function encodeSession(session: string, applied: ReadonlyMap<number, number>): Buffer {
  const b = Buffer.allocUnsafe(PREFIX_BYTES + SESSION_FIXED + applied.size * SESSION_ENTRY);
  let at = PREFIX_BYTES;
  b[at++] = RecordType.SESSION;
  at += b.write(session, at, 16, 'hex');
  b.writeUInt32BE(applied.size, at);
  at += 4;
  for (const [id, version] of applied) {
    b.writeUInt32BE(id, at);
    writeU64(b, version, at + 4);
    at += SESSION_ENTRY;
  }
  return seal(b);
}

export function encodeFile(path: string, version: number): Buffer {
  const p = Buffer.from(path, 'utf8');
  const b = Buffer.allocUnsafe(PREFIX_BYTES + 9 + p.length);
  b[PREFIX_BYTES] = RecordType.FILE;
  writeU64(b, version, PREFIX_BYTES + 1);
  p.copy(b, PREFIX_BYTES + 9);
  return seal(b);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A path field: valid UTF-8 and a relative path that stays inside the root (§4.1 rules, same code as MAP). */
function readPath(b: Buffer): string {
  if (b.length === 0 || b.length > MAX_PATH_BYTES) throw new BadRecord(`path of ${b.length} bytes`);
  let p: string;
  try {
    p = utf8.decode(b);
  } catch {
    throw new BadRecord('path is not UTF-8');
  }
  try {
    return checkRelativePath(p);
  } catch (e) {
    if (e instanceof RmmapError) throw new BadRecord(e.message, true);
    throw e;
  }
}

/** Decodes and validates one body whose CRC already matched. Throws BadRecord. */
export function decodeBody(body: Buffer): JournalRecord {
  if (body.length === 0) throw new BadRecord('empty record');
  const type = body.readUInt8(0);
  switch (type) {
    case RecordType.HEADER:
      return { type: 'header', root: body.toString('utf8', 1) };
    case RecordType.WRITE: {
      if (body.length < WRITE_FIXED) throw new BadRecord('WRITE record too short');
      const pathLen = body.readUInt16BE(WRITE_FIXED - 2);
      if (WRITE_FIXED + pathLen > body.length) throw new BadRecord('WRITE path runs past the record');
      return {
        type: 'write',
        session: body.toString('hex', 1, 17),
        requestId: body.readUInt32BE(17),
        lowWater: body.readUInt32BE(21),
        version: readU64(body, 25, 'version'),
        offset: readU64(body, 33, 'offset'),
        path: readPath(body.subarray(WRITE_FIXED, WRITE_FIXED + pathLen)),
        data: body.subarray(WRITE_FIXED + pathLen),
      };
    }
    case RecordType.SESSION: {
      if (body.length < SESSION_FIXED) throw new BadRecord('SESSION record too short');
      const count = body.readUInt32BE(17);
      if (count > MAX_APPLIED || body.length !== SESSION_FIXED + count * SESSION_ENTRY) throw new BadRecord(`SESSION record with ${count} entries has ${body.length} bytes`);
      const applied: Array<[number, number]> = [];
      for (let at = SESSION_FIXED; at < body.length; at += SESSION_ENTRY) applied.push([body.readUInt32BE(at), readU64(body, at + 4, 'version')]);
      return { type: 'session', session: body.toString('hex', 1, 17), applied };
    }
    case RecordType.FILE:
      if (body.length < 10) throw new BadRecord('FILE record too short');
      return { type: 'file', version: readU64(body, 1, 'version'), path: readPath(body.subarray(9)) };
    default:
      throw new BadRecord(`unknown record type ${String(type)}`);
  }
}
