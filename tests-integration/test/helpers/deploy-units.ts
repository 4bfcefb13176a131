// The shipped unit files of deploy/systemd, with their install paths
// (/usr/local/bin for the npm-installed bins, /opt/shmkit-primes for the
// example) pointed at this checkout's builds, so they can be verified and run.
import fs from 'node:fs';
import path from 'node:path';

import { bin, repoRoot } from './proc';

export const deployDir = path.join(repoRoot, 'deploy', 'systemd');

/** Install path in the shipped units → path in this checkout. */
export function installPaths(): [string, string][] {
  return [
    ['/usr/local/bin/shm-fd', bin('shm-fd', 'shm-fd')],
    ['/usr/local/bin/shm-restore', bin('shm-snapshot', 'shm-restore')],
    ['/usr/local/bin/tinyd', bin('tinyfile', 'tinyd')],
    ['/usr/local/bin/rmmapd', bin('rmmap', 'rmmapd')],
    ['/opt/shmkit-primes', path.join(repoRoot, 'examples', 'primes')],
  ];
}

/** Names of the unit files shipped in deploy/systemd. */
export function shippedUnits(): string[] {
  return fs
    .readdirSync(deployDir)
    .filter((f) => /\.(service|socket|target|timer)$/.test(f))
    .sort();
}

/** The text of a shipped unit with its install paths rewritten. */
export function localUnit(name: string): string {
  let text = fs.readFileSync(path.join(deployDir, name), 'utf8');
  for (const [from, to] of installPaths()) text = text.split(from).join(to);
  return text;
}
