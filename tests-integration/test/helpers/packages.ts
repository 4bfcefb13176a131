import fs from 'node:fs';
import path from 'node:path';

import { repoRoot } from './proc';

/**
 * The folder names under packages/ of the packages users install: every
 * package with a package.json that is not `"private": true` (the private kit
 * is shmkit's own and has no user documentation or changelog).
 */
export function publicPackages(): string[] {
  return fs
    .readdirSync(path.join(repoRoot, 'packages'))
    .filter((name) => {
      const file = path.join(repoRoot, 'packages', name, 'package.json');
      if (!fs.existsSync(file)) return false;
      return (JSON.parse(fs.readFileSync(file, 'utf8')) as { private?: boolean }).private !== true;
    })
    .sort();
}
