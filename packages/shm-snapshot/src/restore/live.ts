import fs from 'node:fs';

import type { ShmkitError } from '@shmkit/shm-fd';

import { ShmSnapshotError } from '../errors';
import { PAGE_BYTES, type Geometry } from '../layout';
import { readHead, scanEntries, type Head } from '../file-scan';
import type { RecoveredConfiguration, Snapshot } from '../snapshot';
import { Words } from '../u64-words';

// Everything here reads a file another process is writing with pread()
// into private memory: a child that shrinks the file makes a read come up
// short instead of killing us with SIGBUS, and nothing is ever written to
// the live file.

export interface LiveLayout {
  configuration: RecoveredConfiguration;
  geometry: Geometry;
  /** Valid entries, oldest first, that passed the bounds checks. */
  valid: Snapshot[];
}

/** Why no snapshot was taken; `code` when the shared file broke a rule (a corrupt word, an impossible size). */
export type Failure = { status: 'unconfigured' | 'changed' | 'corrupt'; reason: string; code?: string };
export type Probe = { status: 'ok'; head: Head; fileBytes: number } | Failure;
export type LiveRead = { status: 'ok'; layout: LiveLayout } | Failure;

const SHRANK: Failure = { status: 'changed', reason: 'the shared file shrank while being read' };

export function preadFully(fd: number, buf: Buffer, at: number, length: number, position: number): boolean {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, at + done, length - done, position + done);
    if (n === 0) return false;
    done += n;
  }
  return true;
}

function corrupt(err: ShmkitError): Failure {
  return { status: 'corrupt', reason: `the shared file is corrupt: ${err.message} (${err.code})`, code: err.code };
}

/**
 * The shared file's size. The child sets it, up to 2^63 − 1 on a memfd;
 * beyond 2^53 − 1 fstat's double is inexact and fs calls throw a
 * RangeError on it, so such a size is refused before anything uses it.
 */
// candidate for @shmkit/shm-fd/sys
export function sharedFileSize(fd: number): number {
  const size = fs.fstatSync(fd).size;
  if (!Number.isSafeInteger(size)) {
    throw new ShmSnapshotError('ERR_SNAPSHOT_FILE_TOO_LARGE', `the shared file's size is about ${size} bytes, beyond 2^53 − 1: the child resized it past anything restore-v1 copies`);
  }
  return size;
}

/** Reads the head page: the configuration, or why there is none. */
export function probeHead(fd: number): Probe {
  let fileBytes: number;
  try {
    fileBytes = sharedFileSize(fd);
  } catch (err) {
    if (err instanceof ShmSnapshotError) return corrupt(err);
    throw err;
  }
  if (fileBytes < 8) return { status: 'unconfigured', reason: `the shared file has ${fileBytes} bytes` };
  const first = Buffer.alloc(PAGE_BYTES);
  if (!preadFully(fd, first, 0, Math.min(PAGE_BYTES, fileBytes), 0)) return SHRANK;
  try {
    const head = readHead(first, new Words(first), fileBytes);
    if (head === null) return { status: 'unconfigured', reason: 'the shared file carries no shm-snapshot head yet' };
    return { status: 'ok', head, fileBytes };
  } catch (err) {
    if (err instanceof ShmSnapshotError) return corrupt(err);
    throw err;
  }
}

/**
 * Raw head and sequence pages, the sequence pages read first: the write
 * offset read afterwards then bounds every entry read untorn. Returns null
 * when the file shrank. Parse with parseRegion() later; keeping the two
 * apart keeps the read itself short.
 */
export function readRegion(fd: number, g: Geometry): Buffer | null {
  const region = Buffer.alloc(g.dataOffset);
  if (!preadFully(fd, region, PAGE_BYTES, g.dataOffset - PAGE_BYTES, PAGE_BYTES)) return null;
  if (!preadFully(fd, region, 0, PAGE_BYTES, 0)) return null;
  return region;
}

/**
 * The valid entries of a region read by readRegion(). `strict: false`
 * checks them like a live scan (torn or outrun entries are left out);
 * `strict: true` is for a region known to be at rest (nobody wrote while
 * it was read), where anything a writer cannot have left is corruption.
 */
export function parseRegion(region: Buffer | null, fileBytes: number, g: Geometry, strict = false): LiveRead {
  if (region === null) return SHRANK;
  const words = new Words(region);
  let head;
  try {
    head = readHead(region, words, fileBytes);
  } catch (err) {
    if (!(err instanceof ShmSnapshotError)) throw err;
    return strict ? corrupt(err) : { status: 'changed', reason: err.message };
  }
  if (head === null || head.configuration.entries !== g.entries || head.configuration.dataBytes !== g.dataBytes) {
    return { status: 'changed', reason: 'the shared file was reconfigured while being read' };
  }
  let scan;
  try {
    scan = scanEntries(words, g, strict);
  } catch (err) {
    if (err instanceof ShmSnapshotError) return corrupt(err);
    throw err;
  }
  return { status: 'ok', layout: { configuration: { ...head.configuration, writeOffset: scan.writeOffset }, geometry: g, valid: scan.valid } };
}

/** probeHead + readRegion + parseRegion. */
export function readLive(fd: number): LiveRead {
  const probe = probeHead(fd);
  if (probe.status !== 'ok') return probe;
  return parseRegion(readRegion(fd, probe.head.geometry), probe.fileBytes, probe.head.geometry);
}
