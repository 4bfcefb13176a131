import { SystemError } from '@shmkit/shm-fd';

/**
 * Error texts go to clients, who must not learn where the served root lies
 * on the server. Every spelling of the root in `message` is replaced: a path
 * under it by the path relative to it, the root itself by ".".
 */
export function withoutRoot(message: string, roots: readonly string[]): string {
  let out = message;
  // Longest first: one spelling may be a prefix of another.
  for (const root of [...new Set(roots.map((r) => r.replace(/\/+$/, '')))].filter((r) => r.length > 0).sort((a, b) => b.length - a.length)) {
    const r = root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // The root itself only where the name ends: "/srv/data" is not inside "/srv/database".
    out = out.replace(new RegExp(`${r}/+`, 'g'), '').replace(new RegExp(`${r}(?![\\w.-])`, 'g'), '.');
  }
  return out;
}

/**
 * The errno's meaning without the path: shm-fd's SystemError carries it;
 * Node's fs errors only in their message ("ENOENT: no such file or directory, open …").
 */
export function errnoDescription(err: unknown): string | undefined {
  if (err instanceof SystemError) return err.description;
  const m = /^[A-Z0-9_]+: ([^,(]+)/.exec(err instanceof Error ? err.message : '');
  return m?.[1]?.trim();
}
