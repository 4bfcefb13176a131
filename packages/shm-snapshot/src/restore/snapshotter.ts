import fs from 'node:fs';
import os from 'node:os';

import { SharedFd } from '@shmkit/shm-fd';

import { ShmSnapshotError } from '../errors';
import { HEAD_ENTRY_MASK, HEAD_PAGE_MASK, HEAD_VERSION, HEAD_WRITE_OFFSET, MAGIC, MAGIC_OTHER_ENDIAN, entryLengthWord, entryOffsetWord } from '../layout';
import { snapshotKey, type Configuration, type Snapshot } from '../snapshot';
import { SnapshotFile } from '../snapshot-file';
import { Words } from '../words';
import type { BackupPath } from './backup';
import { copyRange } from './copy';
import { readLive } from './live';

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
  | { written: false; reason: string };

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
 */
export function snapshotCycle(memfd: number, backup: BackupPath, state: SnapshotState, log: (m: string) => void): CycleResult {
  const pre = readLive(memfd);
  if (pre.status !== 'ok') return { written: false, reason: pre.reason };
  const cfg = pre.layout.configuration;
  const prev = state.configuration;
  if (prev !== null && (prev.entries !== cfg.entries || prev.dataBytes !== cfg.dataBytes || cfg.writeOffset < state.lastWriteOffset)) {
    log('the child re-initialised the shared file; the next backup starts its new journal (the current BACKUP is kept beside it)');
    state.baselineEnd = 0;
    state.resetPending = true;
  }
  state.configuration = { entries: cfg.entries, dataBytes: cfg.dataBytes };
  state.lastWriteOffset = cfg.writeOffset;
  if (pre.layout.valid.length === 0) return { written: false, reason: 'no valid entry in the shared file' };
  if (newestEnd(pre.layout.valid) <= state.baselineEnd) return { written: false, reason: 'no commit since the last backup' };

  const g = pre.layout.geometry;
  let result: CycleResult = { written: false, reason: 'no entry stayed valid during the copy' };
  backup.replace((fd, reused) => {
    const fileBytes = fs.fstatSync(memfd).size;
    if (fileBytes < g.minFileBytes) {
      result = { written: false, reason: 'the shared file shrank below its layout' };
      return false;
    }
    fs.ftruncateSync(fd, fileBytes);
    copyRange(memfd, fd, g.dataOffset, fileBytes, reused);
    const post = readLive(memfd);
    if (post.status !== 'ok') {
      result = { written: false, reason: post.reason };
      return false;
    }
    const pc = post.layout.configuration;
    if (pc.entries !== cfg.entries || pc.dataBytes !== cfg.dataBytes) {
      result = { written: false, reason: 'the shared file was reconfigured during the copy' };
      return false;
    }
    const after = new Set(post.layout.valid.map(snapshotKey));
    const kept = pre.layout.valid.filter((s) => after.has(snapshotKey(s)));
    const newest = newestEnd(kept);
    if (kept.length === 0) return false;
    if (newest <= state.baselineEnd) {
      result = { written: false, reason: 'the newer entries changed during the copy' };
      return false;
    }
    fs.writeSync(fd, headRegion(g.dataOffset, cfg, kept, newest), 0, g.dataOffset, 0);
    if (state.resetPending) {
      const copy = backup.keepCopy('before-reset');
      if (copy !== null) log(`kept the previous BACKUP as ${copy}`);
    }
    result = { written: true, kept: kept.length, newestEnd: newest, fileBytes };
    return true;
  });
  // Assigned inside the callback, which TypeScript's narrowing cannot see.
  const done = result as CycleResult;
  if (done.written) {
    state.baselineEnd = done.newestEnd;
    state.resetPending = false;
  }
  return done;
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
  const fileBytes = fs.fstatSync(memfd).size;
  if (fileBytes === 0 && (backup.size() ?? 0) > 0) return false;
  return backup.replace((fd, reused) => {
    fs.ftruncateSync(fd, fileBytes);
    copyRange(memfd, fd, 0, fileBytes, reused);
    return true;
  });
}

/** Fills a new (empty) shared file from BACKUP. */
export function fillFromBackup(backupFile: string, memfd: number): number {
  const fd = fs.openSync(backupFile, fs.constants.O_RDONLY);
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
