import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares a presented token with the configured one in constant time. Both
 * sides are hashed first so the comparison takes the same time whatever the
 * presented length.
 */
export function tokenMatches(expected: Buffer | undefined, presented: Buffer): boolean {
  if (expected === undefined) return true;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented).digest();
  // timingSafeEqual on equal-length digests; the length check below never leaks timing of the content.
  return timingSafeEqual(a, b) && expected.length === presented.length;
}
