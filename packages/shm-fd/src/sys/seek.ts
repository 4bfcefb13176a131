import { check } from './calls';
import { libc } from './libc';

// lseek(2) whence values (linux/include/uapi/linux/fs.h at v6.6).
export const SEEK_SET = 0;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;

const ENXIO = 6;

/**
 * lseek(2). Returns the new offset, or null for SEEK_DATA / SEEK_HOLE past
 * the last data (ENXIO), which is how the kernel says "no more data".
 */
export function lseek(fd: number, offset: number, whence: number): number | null {
  const r = libc().lseek(fd, offset, whence);
  if (r.value === -1 && r.errno === ENXIO && (whence === SEEK_DATA || whence === SEEK_HOLE)) return null;
  return check(r, 'lseek', `seeking fd ${fd} to ${offset} (whence ${whence})`);
}

export interface Extent {
  offset: number;
  length: number;
}

/**
 * The ranges of [from, to) that hold data, by SEEK_DATA / SEEK_HOLE: holes
 * of sparse files (never-touched memfd pages) are skipped. File systems
 * without hole support report one extent covering everything, which is
 * still correct, only not sparse.
 */
export function dataExtents(fd: number, from: number, to: number): Extent[] {
  const out: Extent[] = [];
  let pos = from;
  while (pos < to) {
    const data = lseek(fd, pos, SEEK_DATA);
    if (data === null || data >= to) break;
    const hole = lseek(fd, data, SEEK_HOLE) ?? to;
    const end = Math.min(hole, to);
    out.push({ offset: data, length: end - data });
    pos = end;
  }
  return out;
}
