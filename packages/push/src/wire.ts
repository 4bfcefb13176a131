// Encoding and decoding of push frames. Each check names the clause of
// docs/PUSH.md ("Wire format") it enforces.
import {
  CHECKSUMS,
  HEADER_FIXED_LEN,
  HEADER_MAGIC,
  MAX_NAME_LEN,
  MAX_TOKEN_LEN,
  MAX_REPLY_MESSAGE_LEN,
  MAX_SIZE,
  PROTOCOL_VERSION,
  REPLY_FIXED_LEN,
  REPLY_MAGIC,
  ReplyState,
  TRAILER_MAGIC,
  trailerLen,
  type ChecksumId,
} from './constants';
import { takeBytes } from '@shmkit/kit/bytes';

import { PushStatus, type PushStatusCode } from './codes';
import { PushError } from './errors';

export interface Header {
  name: string;
  size: number;
  checksum: ChecksumId;
  /** Shared secret for receivers started with a token; empty for none. */
  token?: Buffer;
}

export function encodeHeader(h: Header): Buffer {
  const name = Buffer.from(h.name, 'utf8');
  const token = h.token ?? Buffer.alloc(0);
  if (name.length < 1 || name.length > MAX_NAME_LEN) throw new RangeError(`name must be 1..${MAX_NAME_LEN} bytes`);
  if (token.length > MAX_TOKEN_LEN) throw new RangeError(`token must be at most ${MAX_TOKEN_LEN} bytes`);
  const b = Buffer.alloc(HEADER_FIXED_LEN + name.length + token.length);
  b.writeUInt32BE(HEADER_MAGIC, 0);
  b.writeUInt16BE(PROTOCOL_VERSION, 4);
  b.writeUInt8(h.checksum, 6);
  b.writeUInt8(name.length, 7);
  b.writeBigUInt64BE(BigInt(h.size), 8);
  b.writeUInt8(token.length, 16);
  name.copy(b, HEADER_FIXED_LEN);
  token.copy(b, HEADER_FIXED_LEN + name.length);
  return b;
}

export type FixedHeader =
  | { ok: true; checksum: ChecksumId; nameLen: number; tokenLen: number; size: number }
  | { ok: false; status: PushStatusCode; message: string };

/** Validates the fixed 16 bytes of a header before anything is allocated for the rest. */
export function decodeHeaderFixed(b: Buffer, maxSize: number): FixedHeader {
  // "A header starts with the magic RMPS": anything else is not a push.
  if (b.length < HEADER_FIXED_LEN || b.readUInt32BE(0) !== HEADER_MAGIC) {
    return { ok: false, status: PushStatus.BAD_HEADER, message: 'not an rmmap push (bad magic); is the sender shm-push send of the same protocol?' };
  }
  const version = b.readUInt16BE(4);
  // "A receiver refuses versions it does not know."
  if (version !== PROTOCOL_VERSION) {
    return { ok: false, status: PushStatus.UNSUPPORTED_VERSION, message: `protocol version ${version} is not supported (this receiver speaks ${PROTOCOL_VERSION})` };
  }
  const checksum = b.readUInt8(6);
  if (!(checksum in CHECKSUMS)) return { ok: false, status: PushStatus.BAD_HEADER, message: `unknown checksum algorithm ${checksum}` };
  const nameLen = b.readUInt8(7);
  if (nameLen === 0) return { ok: false, status: PushStatus.BAD_NAME, message: 'the file name is empty' };
  // "size is a u64 but must not exceed 2^53-1 or the receiver's limit."
  const size = b.readBigUInt64BE(8);
  if (size > BigInt(MAX_SIZE)) return { ok: false, status: PushStatus.TOO_LARGE, message: `size ${size} is beyond 2^53-1 bytes` };
  if (size > BigInt(maxSize)) {
    return { ok: false, status: PushStatus.TOO_LARGE, message: `the file is ${size} bytes; this receiver accepts at most ${maxSize} (--max-size)` };
  }
  // "Reserved bytes 17..19 are zero": room for flags in later versions.
  if (b.readUInt8(17) !== 0 || b.readUInt16BE(18) !== 0) return { ok: false, status: PushStatus.BAD_HEADER, message: 'reserved header bytes are not zero' };
  return { ok: true, checksum: checksum as ChecksumId, nameLen, tokenLen: b.readUInt8(16), size: Number(size) };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The name bytes as text, or null when they are not valid UTF-8. */
export function decodeName(b: Uint8Array): string | null {
  try {
    return strictUtf8.decode(b);
  } catch {
    return null;
  }
}

export function encodeTrailer(digest: Buffer): Buffer {
  const b = Buffer.alloc(4 + digest.length);
  b.writeUInt32BE(TRAILER_MAGIC, 0);
  digest.copy(b, 4);
  return b;
}

/** The digest carried by a trailer, or null when the magic is wrong. */
export function decodeTrailer(b: Buffer, checksum: ChecksumId): Buffer | null {
  if (b.length !== trailerLen(checksum) || b.readUInt32BE(0) !== TRAILER_MAGIC) return null;
  return b.subarray(4);
}

export interface Reply {
  status: number;
  message: string;
}

export function encodeReply(status: PushStatusCode, message: string): Buffer {
  let text = Buffer.from(message, 'utf8');
  if (text.length > MAX_REPLY_MESSAGE_LEN) text = text.subarray(0, MAX_REPLY_MESSAGE_LEN);
  const b = Buffer.alloc(REPLY_FIXED_LEN + text.length);
  b.writeUInt32BE(REPLY_MAGIC, 0);
  b.writeUInt8(status, 4);
  b.writeUInt16BE(text.length, 6);
  text.copy(b, REPLY_FIXED_LEN);
  return b;
}

/**
 * Decodes receiver replies from arbitrary chunks (run() returns as
 * soon as too few bytes are buffered; lengths are checked before allocating).
 */
export class ReplyParser {
  #chunks: Buffer[] = [];
  #buffered = 0;
  #state: (typeof ReplyState)[keyof typeof ReplyState] = ReplyState.FIXED;
  #status = 0;
  #messageLen = 0;

  /** Feeds bytes; returns the replies completed by them. Throws ERR_RMMAP_PUSH_BAD_REPLY. */
  push(chunk: Buffer): Reply[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const out: Reply[] = [];
    for (;;) {
      if (this.#state === ReplyState.FIXED) {
        if (this.#buffered < REPLY_FIXED_LEN) return out;
        const fixed = this.#consume(REPLY_FIXED_LEN);
        // "Every reply starts with the magic RMPR."
        if (fixed.readUInt32BE(0) !== REPLY_MAGIC) {
          throw new PushError('ERR_RMMAP_PUSH_BAD_REPLY', 'the receiver answered with bytes that are not an rmmap push reply (bad magic)');
        }
        this.#status = fixed.readUInt8(4);
        this.#messageLen = fixed.readUInt16BE(6);
        // "A reply message is at most 1024 bytes."
        if (this.#messageLen > MAX_REPLY_MESSAGE_LEN) {
          throw new PushError('ERR_RMMAP_PUSH_BAD_REPLY', `the receiver sent a reply message of ${this.#messageLen} bytes (at most ${MAX_REPLY_MESSAGE_LEN})`);
        }
        this.#state = ReplyState.MESSAGE;
      }
      if (this.#buffered < this.#messageLen) return out;
      const message = this.#consume(this.#messageLen).toString('utf8');
      out.push({ status: this.#status, message });
      this.#state = ReplyState.FIXED;
    }
  }

  /** Takes n buffered bytes, copying only when they span chunks. */
  #consume(n: number): Buffer {
    this.#buffered -= n;
    return takeBytes(this.#chunks, n);
  }
}
