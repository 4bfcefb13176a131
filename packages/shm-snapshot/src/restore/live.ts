import fs from 'node:fs';

import { ShmSnapshotError } from '../errors';
import { PAGE_BYTES, type Geometry } from '../layout';
import { readHead, scanEntries } from '../recover';
import type { RecoveredConfiguration, Snapshot } from '../snapshot';
import { Words } from '../words';

export interface LiveLayout {
  configuration: RecoveredConfiguration;
  geometry: Geometry;
  /** Valid entries, oldest first, that passed the bounds checks. */
  valid: Snapshot[];
  /** Head and sequence pages as read (a private copy). */
  head: Buffer;
  fileBytes: number;
}

export type LiveRead = { status: 'ok'; layout: LiveLayout } | { status: 'unconfigured' | 'changed' | 'corrupt'; reason: string };

function preadFully(fd: number, buf: Buffer, at: number, length: number, position: number): boolean {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, at + done, length - done, position + done);
    if (n === 0) return false;
    done += n;
  }
  return true;
}

/**
 * The entries of a file another process is writing, read with pread() into
 * private memory: a child that shrinks the file makes the read come up
 * short instead of killing us with SIGBUS, and nothing is ever written to
 * the live file. The sequence pages are read before the head is read
 * again, so the write offset bounds every entry read untorn; a torn or
 * outrun entry fails the checks and is left out (live scan).
 */
export function readLive(fd: number): LiveRead {
  const fileBytes = fs.fstatSync(fd).size;
  const first = Buffer.alloc(PAGE_BYTES);
  if (fileBytes < 8) return { status: 'unconfigured', reason: `the shared file has ${fileBytes} bytes` };
  if (!preadFully(fd, first, 0, Math.min(PAGE_BYTES, fileBytes), 0)) return { status: 'changed', reason: 'the shared file shrank while being read' };
  let head;
  try {
    head = readHead(first, new Words(first), fileBytes);
  } catch (err) {
    if (err instanceof ShmSnapshotError) return { status: 'corrupt', reason: err.message };
    throw err;
  }
  if (head === null) return { status: 'unconfigured', reason: 'the shared file carries no shm-snapshot head yet' };
  const g = head.geometry;
  const region = Buffer.alloc(g.dataOffset);
  if (!preadFully(fd, region, PAGE_BYTES, g.dataOffset - PAGE_BYTES, PAGE_BYTES)) {
    return { status: 'changed', reason: 'the shared file shrank while being read' };
  }
  if (!preadFully(fd, region, 0, PAGE_BYTES, 0)) return { status: 'changed', reason: 'the shared file shrank while being read' };
  const words = new Words(region);
  let again;
  try {
    again = readHead(region, words, fileBytes);
  } catch (err) {
    if (err instanceof ShmSnapshotError) return { status: 'changed', reason: err.message };
    throw err;
  }
  if (again === null || again.configuration.entries !== g.entries || again.configuration.dataBytes !== g.dataBytes) {
    return { status: 'changed', reason: 'the shared file was reconfigured while being read' };
  }
  const scan = scanEntries(words, g, false);
  return {
    status: 'ok',
    layout: {
      configuration: { ...again.configuration, writeOffset: scan.writeOffset },
      geometry: g,
      valid: scan.valid,
      head: region,
      fileBytes,
    },
  };
}
