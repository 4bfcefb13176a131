import fs from 'node:fs';
import path from 'node:path';

/**
 * The version in the package.json of package `name`, found by walking up
 * from `dir` (pass `__dirname`): the same call works from src/ under tsx
 * and from dist/ once built, at any depth. 'unknown' when none is found.
 */
export function packageVersion(name: string, dir: string): string {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(at, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here, or not readable: keep walking up
    }
    if (path.dirname(at) === at) return 'unknown';
  }
}
