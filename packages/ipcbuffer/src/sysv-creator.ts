import fs from 'node:fs';

// candidate for @shmkit/shm-fd/sys: sysvStat could report shm_perm.cuid itself.

/**
 * The uid that created System V segment `id` (shm_perm.cuid), read from
 * /proc/sysvipc/shm ("key shmid perms size cpid lpid nattch uid gid cuid …");
 * undefined when the table cannot be read or has no such segment.
 */
export function segmentCreator(id: number): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync('/proc/sysvipc/shm', 'latin1');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 10 && Number(f[1]) === id) return Number(f[9]);
  }
  return undefined;
}
