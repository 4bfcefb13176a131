// The registration handshake on the Unix socket. All integers little-endian.
//
//   client → daemon  HELLO   magic u32, version u16, kind u8 (1 = register, 2 = status),
//                            priority u8, slots wanted u16, reserved u16, pid u32  (16 bytes)
//   daemon → client  WELCOME magic u32, version u16, status u16 (0 = ok), client id u32,
//                            slots u16, reserved u16, slot size u32, daemon pid u32,
//                            codec name (16 bytes, NUL padded)                       (40 bytes)
//                            + the channel memfd as SCM_RIGHTS
//                    or, status ≠ 0, a UTF-8 message after the first 8 bytes.
//   kind 2 (status): the daemon answers with one JSON document and closes.
// After WELCOME the socket carries only 1-byte wake-ups, both ways.
import { TinyFileError } from '../errors';
import { MAGIC, VERSION } from './layout';

export const HELLO_BYTES = 16;
export const WELCOME_BYTES = 40;
export const KIND_REGISTER = 1;
export const KIND_STATUS = 2;

export interface Hello {
  kind: number;
  priority: number;
  slots: number;
  pid: number;
}

export interface Welcome {
  clientId: number;
  slots: number;
  slotSize: number;
  daemonPid: number;
  codec: string;
}

export function encodeHello(h: Hello): Buffer {
  const b = Buffer.alloc(HELLO_BYTES);
  b.writeUInt32LE(MAGIC, 0);
  b.writeUInt16LE(VERSION, 4);
  b.writeUInt8(h.kind, 6);
  b.writeUInt8(h.priority, 7);
  b.writeUInt16LE(h.slots, 8);
  b.writeUInt32LE(h.pid, 12);
  return b;
}

/** Parses a HELLO; throws ERR_TINYFILE_PROTOCOL naming what is wrong. */
export function decodeHello(b: Buffer): Hello {
  if (b.length < HELLO_BYTES) throw new TinyFileError('ERR_TINYFILE_PROTOCOL', `short hello: ${b.length} of ${HELLO_BYTES} bytes`);
  if (b.readUInt32LE(0) !== MAGIC) throw new TinyFileError('ERR_TINYFILE_PROTOCOL', 'not a tinyfile client (bad magic)');
  const version = b.readUInt16LE(4);
  if (version !== VERSION) throw new TinyFileError('ERR_TINYFILE_PROTOCOL', `client speaks protocol version ${version}, tinyd speaks ${VERSION}`);
  const kind = b.readUInt8(6);
  if (kind !== KIND_REGISTER && kind !== KIND_STATUS) throw new TinyFileError('ERR_TINYFILE_PROTOCOL', `unknown hello kind ${kind}`);
  return { kind, priority: b.readUInt8(7), slots: b.readUInt16LE(8), pid: b.readUInt32LE(12) };
}

export function encodeWelcome(w: Welcome): Buffer {
  const b = Buffer.alloc(WELCOME_BYTES);
  b.writeUInt32LE(MAGIC, 0);
  b.writeUInt16LE(VERSION, 4);
  b.writeUInt16LE(0, 6);
  b.writeUInt32LE(w.clientId, 8);
  b.writeUInt16LE(w.slots, 12);
  b.writeUInt32LE(w.slotSize, 16);
  b.writeUInt32LE(w.daemonPid, 20);
  b.write(w.codec.slice(0, 16), 24, 'latin1');
  return b;
}

export function encodeRefusal(code: number, message: string): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt16LE(VERSION, 4);
  head.writeUInt16LE(code, 6);
  return Buffer.concat([head, Buffer.from(message.slice(0, 1000))]);
}

/** Parses a WELCOME or a refusal (thrown as ERR_TINYFILE_PROTOCOL or ERR_TINYFILE_BUSY). */
export function decodeWelcome(b: Buffer): Welcome {
  if (b.length < 8 || b.readUInt32LE(0) !== MAGIC) throw new TinyFileError('ERR_TINYFILE_PROTOCOL', 'the socket did not answer like tinyd (bad magic)');
  const version = b.readUInt16LE(4);
  if (version !== VERSION) throw new TinyFileError('ERR_TINYFILE_PROTOCOL', `tinyd speaks protocol version ${version}, this client ${VERSION}`);
  const status = b.readUInt16LE(6);
  if (status !== 0) {
    throw new TinyFileError(status === 2 ? 'ERR_TINYFILE_BUSY' : 'ERR_TINYFILE_PROTOCOL', `tinyd refused the registration: ${b.subarray(8).toString()}`);
  }
  if (b.length < WELCOME_BYTES) throw new TinyFileError('ERR_TINYFILE_PROTOCOL', `short welcome: ${b.length} of ${WELCOME_BYTES} bytes`);
  const codecEnd = b.indexOf(0, 24);
  return {
    clientId: b.readUInt32LE(8),
    slots: b.readUInt16LE(12),
    slotSize: b.readUInt32LE(16),
    daemonPid: b.readUInt32LE(20),
    codec: b.subarray(24, codecEnd === -1 || codecEnd > 40 ? 40 : codecEnd).toString('latin1'),
  };
}

/** Refusal codes in a WELCOME's status field. */
export const REFUSED_PROTOCOL = 1;
export const REFUSED_BUSY = 2;
