import fs from 'node:fs';

import { ShmSnapshotError } from '../errors';
import { PAGE_BYTES, type Geometry } from '../layout';
import { readHead, scanEntries, type Head } from '../recover';
import type { RecoveredConfiguration, Snapshot } from '../snapshot';
import { Words } from '../words';

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

export type Failure = { status: 'unconfigured' | 'changed' | 'corrupt'; reason: string };
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

/** Reads the head page: the configuration, or why there is none. */
export function probeHead(fd: number): Probe {
  const fileBytes = fs.fstatSync(fd).size;
  if (fileBytes < 8) return { status: 'unconfigured', reason: `the shared file has ${fileBytes} bytes` };
  const first = Buffer.alloc(PAGE_BYTES);
  if (!preadFully(fd, first, 0, Math.min(PAGE_BYTES, fileBytes), 0)) return SHRANK;
  try {
    const head = readHead(first, new Words(first), fileBytes);
    if (head === null) return { status: 'unconfigured', reason: 'the shared file carries no shm-snapshot head yet' };
    return { status: 'ok', head, fileBytes };
  } catch (err) {
    if (err instanceof ShmSnapshotError) return { status: 'corrupt', reason: err.message };
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

/** The valid entries of a region read by readRegion(), checked like a live scan (torn or outrun entries are left out). */
export function parseRegion(region: Buffer | null, fileBytes: number, g: Geometry): LiveRead {
  if (region === null) return SHRANK;
  const words = new Words(region);
  let head;
  try {
    head = readHead(region, words, fileBytes);
  } catch (err) {
    if (err instanceof ShmSnapshotError) return { status: 'changed', reason: err.message };
    throw err;
  }
  if (head === null || head.configuration.entries !== g.entries || head.configuration.dataBytes !== g.dataBytes) {
    return { status: 'changed', reason: 'the shared file was reconfigured while being read' };
  }
  const scan = scanEntries(words, g, false);
  return { status: 'ok', layout: { configuration: { ...head.configuration, writeOffset: scan.writeOffset }, geometry: g, valid: scan.valid } };
}

/** probeHead + readRegion + parseRegion. */
export function readLive(fd: number): LiveRead {
  const probe = probeHead(fd);
  if (probe.status !== 'ok') return probe;
  return parseRegion(readRegion(fd, probe.head.geometry), probe.fileBytes, probe.head.geometry);
}
