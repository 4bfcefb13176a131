// The workspace's publishable packages, read from their package.json files.
import fs from 'node:fs';
import path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');

export interface PackageJson {
  name: string;
  version: string;
  private?: boolean;
  description?: string;
  keywords?: string[];
  license?: string;
  author?: string;
  homepage?: string;
  repository?: { type?: string; url?: string; directory?: string };
  bugs?: { url?: string };
  engines?: { node?: string };
  os?: string[];
  files?: string[];
  main?: string;
  types?: string;
  bin?: Record<string, string>;
  exports?: Record<string, string | { types?: string; default?: string }>;
  typesVersions?: Record<string, Record<string, string[]>>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

export interface WorkspacePackage {
  /** Folder name under packages/, e.g. "shm-fd". */
  dir: string;
  path: string;
  json: PackageJson;
}

/** Every package under packages/ that is not private, i.e. what would be published. */
export function publicPackages(): WorkspacePackage[] {
  const base = path.join(repoRoot, 'packages');
  return fs
    .readdirSync(base)
    .filter((dir) => fs.existsSync(path.join(base, dir, 'package.json')))
    .map((dir) => ({ dir, path: path.join(base, dir), json: JSON.parse(fs.readFileSync(path.join(base, dir, 'package.json'), 'utf8')) as PackageJson }))
    .filter((p) => p.json.private !== true)
    .sort((a, b) => a.dir.localeCompare(b.dir));
}

/** "@shmkit/shm-fd" and "@shmkit/shm-fd/sys" for each subpath in `exports` (not package.json). */
export function importSpecifiers(json: PackageJson): string[] {
  return Object.keys(json.exports ?? { '.': '' })
    .filter((sub) => sub !== './package.json')
    .map((sub) => (sub === '.' ? json.name : `${json.name}/${sub.slice(2)}`));
}
