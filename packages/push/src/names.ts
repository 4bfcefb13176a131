import { MAX_NAME_LEN, TEMP_PREFIX } from './constants';

/**
 * Why `name` cannot be stored as a file directly inside the receive
 * directory, or null when it can. A pushed name is one path component: it can
 * never climb out of --dir, name a directory, or hide among our temp files.
 */
export function nameProblem(name: string): string | null {
  const bytes = Buffer.byteLength(name);
  if (bytes === 0) return 'the name is empty';
  if (bytes > MAX_NAME_LEN) return `the name is ${bytes} bytes long (at most ${MAX_NAME_LEN})`;
  if (name === '.' || name === '..') return `"${name}" names a directory`;
  if (name.includes('/')) return 'the name contains "/" (only a plain file name is allowed, no path)';
  if (name.includes('\\')) return 'the name contains "\\"';
  // Control characters would garble logs and terminals; NUL would truncate the path in C.
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'the name contains control characters';
  if (name.startsWith(TEMP_PREFIX)) return `names starting with "${TEMP_PREFIX}" are reserved for partial files`;
  if (name.startsWith('-')) return 'the name starts with "-"';
  return null;
}
