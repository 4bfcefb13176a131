import fs from 'node:fs';

// candidate for @shmkit/shm-fd/sys: sysvStat could report shm_perm.cuid itself.

export interface SegmentOwners {
  /** shm_perm.uid: the owner, who may change or remove the segment. */
  uid: number;
  /** shm_perm.cuid: the creator, who may too. */
  cuid: number;
}

/**
 * Owner and creator of System V segment `id`, read from /proc/sysvipc/shm
 * ("key shmid perms size cpid lpid nattch uid gid cuid …"), which any user
 * may read (IPC_STAT needs read permission on the segment). Undefined when
 * the table cannot be read or has no such segment.
 */
export function segmentOwners(id: number): SegmentOwners | undefined {
  let text: string;
  try {
    text = fs.readFileSync('/proc/sysvipc/shm', 'latin1');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 10 && Number(f[1]) === id) return { uid: Number(f[7]), cuid: Number(f[9]) };
  }
  return undefined;
}
