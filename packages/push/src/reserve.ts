import * as sys from '@shmkit/shm-fd/sys';

/**
 * Reserves the blocks of [offset, offset + window), clipped to the announced
 * size, and returns the end of what is now reserved. The receive loops call
 * it only when a chunk would cross that end, so it costs one compare per
 * chunk and one fallocate per window. ENOSPC surfaces here, as the sender's
 * NO_SPACE, before the bytes of the window are written.
 */
export function reserveAhead(fd: number, offset: number, size: number, window: number): number {
  const end = Math.min(size, offset + window);
  if (end > offset) sys.fallocate(fd, offset, end - offset);
  return end;
}
