import fs from 'node:fs';
import path from 'node:path';

/** The package version, read from package.json next to dist/ or src/. */
export function version(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, rel), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@shmkit/shm-snapshot' && pkg.version !== undefined) return pkg.version;
    } catch {
      // try the next layout
    }
  }
  return 'unknown';
}
