import fs from 'node:fs';
import os from 'node:os';

import { SharedFd } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { ShmSnapshotError } from '../errors';
import { HEAD_ENTRY_MASK, HEAD_PAGE_MASK, HEAD_VERSION, HEAD_WRITE_OFFSET, MAGIC, MAGIC_OTHER_ENDIAN, entryLengthWord, entryOffsetWord } from '../layout';
import { snapshotKey, type Configuration, type Snapshot } from '../snapshot';
import { SnapshotFile } from '../snapshot-file';
import { Words } from '../u64-words';
import type { BackupPath } from './backup';
import { copyRange } from './copy';
import { parseRegion, preadFully, probeHead, readRegion, sharedFileSize, type Failure } from './live';

/** What the wrapper knows about BACKUP and the live file between cycles. */
export interface SnapshotState {
  /** Stream end of the newest entry BACKUP holds; a new BACKUP must go beyond it. */
  baselineEnd: number;
  /** Configuration and write offset last seen live, to notice a child that re-initialised the file. */
  configuration: Configuration | null;
  lastWriteOffset: number;
  /** The child started over: keep a copy of BACKUP before the first write of the new stream. */
  resetPending: boolean;
}

export type CycleResult =
  | { written: true; kept: number; newestEnd: number; fileBytes: number }
  | { written: false; reason: string; code?: string };

/** restore-v1 holds the ring in memory for the guarded window. */
const MAX_RING_COPY = 256 * 1024 * 1024;

const end = (s: Snapshot) => s.offset + s.length;
const newestEnd = (v: readonly Snapshot[]) => v.reduce((m, s) => Math.max(m, end(s)), 0);

/**
 * One restore-v1 snapshot (format §3, with the re-check the Rust wrapper
 * lacks): the valid set before the copy, the copy into a temp file beside
 * BACKUP, the valid set after the copy; the copy keeps only entries valid
 * and unchanged in both. Its head and sequence pages are written from those
 * verified values rather than copied, so a torn read of a shared word never
 * reaches the disk. BACKUP is replaced only if the copy holds a newer
 * commit than BACKUP does.
 *
 * Only the ring's bytes are guarded by entries (the writer invalidates an
 * entry before overwriting them), so the second valid set is read right
 * after the ring is copied, before the tail: the window in which a fast
 * writer can overwrite what we copy is the ring copy, microseconds, not the
 * whole file. The tail is the application's; what an entry vouches for
 * there was written before the commit and, by the application's contract,
 * is not changed afterwards, so copying it later is as good.
 */
export function snapshotCycle(memfd: number, backup: BackupPath, state: SnapshotState, log: (m: string) => void): CycleResult {
  const probe = probeHead(memfd);
  if (probe.status !== 'ok') return skipped(probe);
  const g = probe.head.geometry;
  const cfg = probe.head.configuration;
  const prev = state.configuration;
  if (prev !== null && (prev.entries !== cfg.entries || prev.dataBytes !== cfg.dataBytes || cfg.writeOffset < state.lastWriteOffset)) {
    log('the child re-initialised the shared file; the next backup starts its new journal (the current BACKUP is kept beside it)');
    state.baselineEnd = 0;
    state.resetPending = true;
  }
  state.configuration = { entries: cfg.entries, dataBytes: cfg.dataBytes };
  state.lastWriteOffset = cfg.writeOffset;
  const ringBytes = g.tailOffset - g.dataOffset;
  if (ringBytes > MAX_RING_COPY) return { written: false, reason: `the ${g.dataBytes}-byte ring is larger than restore-v1 copies (${MAX_RING_COPY} bytes)` };

  // The guarded window: entries, ring bytes, entries again, back to back;
  // parsing waits until it is over.
  const preRegion = readRegion(memfd, g);
  const ring = Buffer.allocUnsafe(ringBytes);
  const ringRead = preRegion !== null && preadFully(memfd, ring, 0, ringBytes, g.dataOffset);
  const postRegion = ringRead ? readRegion(memfd, g) : null;

  // Nobody wrote the head or the entries while we read them (stream
  // offsets only grow, so a commit always changes a word): the region is a
  // state the writer was in, and is held to the rules of a file at rest.
  // Otherwise a word that is out of range may just be torn or outrun.
  const quiet = preRegion !== null && postRegion !== null && preRegion.equals(postRegion);
  const pre = parseRegion(preRegion, probe.fileBytes, g, quiet);
  if (pre.status !== 'ok') return skipped(pre);
  if (pre.layout.valid.length === 0) return { written: false, reason: 'no valid entry in the shared file' };
  if (newestEnd(pre.layout.valid) <= state.baselineEnd) return { written: false, reason: 'no commit since the last backup' };
  const post = parseRegion(postRegion, probe.fileBytes, g, quiet);
  if (post.status !== 'ok') return skipped(post);
  const after = new Set(post.layout.valid.map(snapshotKey));
  const kept = pre.layout.valid.filter((s) => after.has(snapshotKey(s)));
  if (kept.length === 0) return { written: false, reason: 'no entry stayed valid during the copy' };
  const newest = newestEnd(kept);
  if (newest <= state.baselineEnd) return { written: false, reason: 'the newer entries changed during the copy' };

  let fileBytes = 0;
  const written = backup.replace((fd, reused) => {
    // The child may have resized the file since the probe.
    fileBytes = Math.max(sharedFileSize(memfd), g.minFileBytes);
    fs.ftruncateSync(fd, fileBytes);
    fs.writeSync(fd, headRegion(g.dataOffset, cfg, kept, newest), 0, g.dataOffset, 0);
    fs.writeSync(fd, ring, 0, ringBytes, g.dataOffset);
    copyRange(memfd, fd, g.tailOffset, fileBytes, reused);
    if (state.resetPending) {
      const copy = backup.keepCopy('before-reset');
      if (copy !== null) log(`kept the previous BACKUP as ${copy}`);
    }
    return true;
  });
  if (!written) return { written: false, reason: 'BACKUP was not replaced' };
  state.baselineEnd = newest;
  state.resetPending = false;
  return { written: true, kept: kept.length, newestEnd: newest, fileBytes };
}

function skipped(f: Failure): CycleResult {
  return f.code === undefined ? { written: false, reason: f.reason } : { written: false, reason: f.reason, code: f.code };
}

/** Head and sequence pages holding exactly `kept`; writing resumes after the newest of them. */
function headRegion(dataOffset: number, cfg: Configuration, kept: readonly Snapshot[], writeOffset: number): Buffer {
  const region = Buffer.alloc(dataOffset);
  const w = new Words(region);
  w.store(HEAD_VERSION, MAGIC);
  w.store(HEAD_ENTRY_MASK, BigInt(cfg.entries - 1));
  w.store(HEAD_PAGE_MASK, BigInt(cfg.dataBytes - 1));
  w.store(HEAD_WRITE_OFFSET, BigInt(writeOffset));
  for (const s of kept) {
    w.store(entryOffsetWord(s.slot), BigInt(s.offset));
    w.store(entryLengthWord(s.slot), BigInt(s.length));
  }
  return region;
}

/**
 * Without --snapshot: the child has exited, so the file is at rest and a
 * plain copy is consistent. Returns false (BACKUP kept) when the file is
 * empty but BACKUP is not.
 */
export function writeBack(memfd: number, backup: BackupPath): boolean {
  const fileBytes = sharedFileSize(memfd);
  if (fileBytes === 0 && (backup.size() ?? 0) > 0) return false;
  return backup.replace((fd, reused) => {
    fs.ftruncateSync(fd, fileBytes);
    copyRange(memfd, fd, 0, fileBytes, reused);
    return true;
  });
}

/** Fills a new (empty) shared file from BACKUP. */
export function fillFromBackup(backupFile: string, memfd: number): number {
  const fd = sys.openOwnedFile(backupFile);
  try {
    const size = fs.fstatSync(fd).size;
    fs.ftruncateSync(memfd, size);
    copyRange(fd, memfd, 0, size);
    return size;
  } finally {
    fs.closeSync(fd);
  }
}

export type BackupState =
  | { kind: 'absent' | 'empty' }
  | { kind: 'opaque'; size: number }
  | { kind: 'corrupt'; size: number; error: ShmSnapshotError }
  | { kind: 'snapshot'; size: number; configuration: Configuration & { writeOffset: number }; valid: Snapshot[]; newestEnd: number };

/**
 * Reads BACKUP without changing it. A file that does not start with the
 * shm-snapshot magic (in either byte order) is opaque data, as a child that
 * does not use the journal leaves it; one that does must hold together.
 */
export function examineBackup(backup: BackupPath): BackupState {
  const size = backup.size();
  if (size === null) return { kind: 'absent' };
  if (size === 0) return { kind: 'empty' };
  const shared = SharedFd.openFile(backup.file, { readOnly: true });
  try {
    const first = Buffer.alloc(8);
    if (size < 8 || fs.readSync(shared.fd, first, 0, 8, 0) < 8) return { kind: 'opaque', size };
    const word = first.readBigUInt64LE(0);
    const magic = os.endianness() === 'LE' ? MAGIC : MAGIC_OTHER_ENDIAN;
    if (word !== magic && word !== (magic === MAGIC ? MAGIC_OTHER_ENDIAN : MAGIC)) return { kind: 'opaque', size };
    const file = SnapshotFile.map(shared, { writable: false });
    try {
      const r = file.recover();
      if (r === null) return { kind: 'opaque', size };
      const valid = r.valid();
      return { kind: 'snapshot', size, configuration: r.configuration, valid, newestEnd: newestEnd(valid) };
    } catch (err) {
      if (err instanceof ShmSnapshotError) return { kind: 'corrupt', size, error: err };
      throw err;
    } finally {
      file.close();
    }
  } finally {
    shared.close();
  }
}
