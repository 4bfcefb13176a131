import fs from 'node:fs';

import type { RmmapCode } from '../codes';
import { RmmapError } from '../errors';
import { type AppliedTable, pruneApplied, recordApplied } from './applied';
import { crc32 } from '../crc32';
import { BadRecord, decodeBody, JOURNAL_MAGIC, MAX_BODY, PREFIX_BYTES, type WriteRecord } from './journal-format';

/** What a journal says about the server that wrote it. */
export interface RestoredState {
  /** Session id (hex) → its dedupe table, as the server held it. */
  sessions: Map<string, AppliedTable>;
  /** File path (relative to the root) → its last version. */
  fileVersions: Map<string, number>;
  /**
   * The last record, when it is a WRITE: the only write that may not have
   * reached the file (records are appended before their write is applied,
   * one at a time). Re-applying it is idempotent.
   */
  last: WriteRecord | undefined;
  /** Valid records read (the header included). */
  records: number;
}

export interface LoadResult {
  state: RestoredState;
  /** Bytes that hold whole, valid records; the file is truncated to this when longer (a torn tail). */
  validEnd: number;
  /** Why the bytes past validEnd were dropped; undefined when there were none. */
  tornReason: string | undefined;
  /** True when the file held no header yet (new, or torn while being created). */
  fresh: boolean;
}

const WINDOW = 1 << 20;

/** Reads a file through a 1 MiB window, so small records cost no syscall each. */
class Reader {
  readonly #win = Buffer.allocUnsafe(WINDOW);
  #start = 0;
  #len = 0;

  constructor(readonly fd: number) {}

  /** `n` bytes at `pos`; the caller checked they lie inside the file. Valid until the next call. */
  read(pos: number, n: number): Buffer {
    if (pos >= this.#start && pos + n <= this.#start + this.#len) return this.#win.subarray(pos - this.#start, pos - this.#start + n);
    const big = n > WINDOW;
    const into = big ? Buffer.allocUnsafe(n) : this.#win;
    const got = fs.readSync(this.fd, into, 0, big ? n : WINDOW, pos);
    if (got < n) throw new RmmapError('ERR_RMMAP_JOURNAL_IO', `short read of the journal at byte ${pos}: was it truncated while rmmapd started?`);
    if (big) return into;
    this.#start = pos;
    this.#len = got;
    return into.subarray(0, n);
  }
}

function corrupt(file: string, at: number, why: string, code: RmmapCode = 'ERR_RMMAP_JOURNAL_CORRUPT'): RmmapError {
  return new RmmapError(
    code,
    `journal ${file} is damaged at byte ${at} (${why}), so rmmapd cannot tell which retried writes it already applied. ` +
      `Move it away (mv ${file} ${file}.bad) and start again: retries of writes from before the restart may then be applied twice`,
  );
}

/**
 * Reads and validates a whole journal. Stops at a torn tail (a record cut
 * short, or failing its CRC as the very last thing in the file: what a
 * crash leaves) and reports where; throws ERR_RMMAP_JOURNAL_CORRUPT for
 * damage with valid-looking bytes after it, ERR_RMMAP_JOURNAL_BAD_PATH for
 * a path outside the root, ERR_RMMAP_JOURNAL_ROOT for another root's journal.
 */
export function loadJournal(fd: number, file: string, rootReal: string): LoadResult {
  const size = fs.fstatSync(fd).size;
  const state: RestoredState = { sessions: new Map(), fileVersions: new Map(), last: undefined, records: 0 };
  const reader = new Reader(fd);
  if (size < JOURNAL_MAGIC.length) {
    // A journal torn while it was being created holds a prefix of its magic.
    if (size > 0 && !reader.read(0, size).equals(JOURNAL_MAGIC.subarray(0, size))) throw corrupt(file, 0, 'not an rmmapd journal: wrong magic');
    return { state, validEnd: 0, tornReason: size === 0 ? undefined : `an incomplete header (${size} bytes)`, fresh: true };
  }
  if (!reader.read(0, JOURNAL_MAGIC.length).equals(JOURNAL_MAGIC)) throw corrupt(file, 0, 'not an rmmapd journal: wrong magic');
  /** Where the last record lies when it is a WRITE (decoded again at the end: the window moves). */
  let lastWrite: { at: number; length: number } | undefined;
  const done = (validEnd: number, tornReason: string | undefined): LoadResult => {
    if (lastWrite !== undefined) {
      const body = Buffer.from(reader.read(lastWrite.at + PREFIX_BYTES, lastWrite.length - 4));
      state.last = decodeBody(body) as WriteRecord & { type: 'write' };
    }
    return { state, validEnd, tornReason, fresh: state.records === 0 };
  };
  /** True when [from, size) holds only zeros: room the server reserved for records it never wrote. */
  const zerosFrom = (from: number): boolean => {
    for (let pos = from; pos < size; pos += WINDOW) {
      const chunk = reader.read(pos, Math.min(WINDOW, size - pos));
      for (let i = 0; i < chunk.length; i++) if (chunk[i] !== 0) return false;
    }
    return true;
  };
  let at = JOURNAL_MAGIC.length;
  while (at < size) {
    // A length field of 0 is the end: either reserved zeros, or a record the
    // server was killed while writing (its length is stored last).
    if (size - at < PREFIX_BYTES || reader.read(at, 4).readUInt32BE(0) === 0) {
      return done(at, zerosFrom(at) ? undefined : `an unfinished record (${size - at} bytes up to the end of the file)`);
    }
    const p = reader.read(at, PREFIX_BYTES);
    const length = p.readUInt32BE(0);
    const crc = p.readUInt32BE(4);
    // Size limits are checked before anything is allocated.
    if (length < 5 || length - 4 > MAX_BODY) throw corrupt(file, at, `record length ${length}`);
    const end = at + 4 + length;
    if (end > size) return done(at, `a record cut short (${size - at} of ${4 + length} bytes)`);
    const body = reader.read(at + PREFIX_BYTES, length - 4);
    if (crc32(body) !== crc) {
      // Damage to the last record only (zeros behind it) is what a power loss can leave; anything else is not ours to guess about.
      if (zerosFrom(end)) return done(at, 'a last record failing its CRC');
      throw corrupt(file, at, 'a record fails its CRC and more records follow');
    }
    let rec;
    try {
      rec = decodeBody(body);
    } catch (e) {
      if (!(e instanceof BadRecord)) throw e;
      if (e.badPath) throw corrupt(file, at, `a path outside the served root: ${e.message}`, 'ERR_RMMAP_JOURNAL_BAD_PATH');
      throw corrupt(file, at, e.message);
    }
    if ((state.records === 0) !== (rec.type === 'header')) throw corrupt(file, at, state.records === 0 ? 'no header record' : 'a second header record');
    state.records++;
    lastWrite = undefined;
    switch (rec.type) {
      case 'header':
        if (rec.root !== rootReal) {
          throw new RmmapError(
            'ERR_RMMAP_JOURNAL_ROOT',
            `journal ${file} belongs to the root ${JSON.stringify(rec.root)}, not ${JSON.stringify(rootReal)}; pass another --journal, or move this one away if that root is gone`,
          );
        }
        break;
      case 'write': {
        let applied = state.sessions.get(rec.session);
        if (applied === undefined) state.sessions.set(rec.session, (applied = new Map()));
        // The same steps, in the same order, as the server took: the rebuilt table is the one it had.
        pruneApplied(applied, rec.lowWater);
        recordApplied(applied, rec.requestId, rec.version);
        state.fileVersions.set(rec.path, Math.max(rec.version, state.fileVersions.get(rec.path) ?? 0));
        lastWrite = { at, length };
        break;
      }
      case 'session':
        state.sessions.set(rec.session, new Map(rec.applied));
        break;
      case 'file':
        state.fileVersions.set(rec.path, Math.max(rec.version, state.fileVersions.get(rec.path) ?? 0));
        break;
      default:
        rec satisfies never;
    }
    at = end;
  }
  return done(at, undefined);
}
