import fs from 'node:fs';
import path from 'node:path';

import { publicPackages } from './helpers/packages';
import { repoRoot } from './helpers/proc';

// Every package keeps its CHANGES.md in one format (Keep a Changelog 1.1.0):
// `## Unreleased` first, then released versions, newest first; inside a
// version only the standard groups.
const GROUPS = new Set(['Added', 'Changed', 'Deprecated', 'Removed', 'Fixed', 'Security']);
const packages = publicPackages();

test.each(packages)('packages/%s/CHANGES.md follows Keep a Changelog', (name) => {
  const file = path.join(repoRoot, 'packages', name, 'CHANGES.md');
  expect(fs.existsSync(file)).toBe(true);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  expect(lines[0]).toBe('# Changelog');
  const versions = lines.filter((l) => l.startsWith('## ')).map((l) => l.slice(3));
  expect(versions[0]).toBe('Unreleased');
  for (const v of versions.slice(1)) expect({ v, ok: /^\d+\.\d+\.\d+(?: - \d{4}-\d\d-\d\d)?$/.test(v) }).toEqual({ v, ok: true });
  const groups = lines.filter((l) => l.startsWith('### ')).map((l) => l.slice(4));
  for (const g of groups) expect({ g, ok: GROUPS.has(g) }).toEqual({ g, ok: true });
  expect(lines.some((l) => l.startsWith('#### '))).toBe(false);
});
