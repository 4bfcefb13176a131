import fs from 'node:fs';
import path from 'node:path';

import { IPCBUFFER_CODES } from '@shmkit/ipcbuffer';
import { PUSH_CODES } from '@shmkit/push';
import { RMMAP_CODES } from '@shmkit/rmmap';
import { SHM_FD_CODES } from '@shmkit/shm-fd';
import { SNAPSHOT_CODES } from '@shmkit/shm-snapshot';
import { SHM_STATE_CODES } from '@shmkit/shm-state';
import { TINYFILE_CODES } from '@shmkit/tinyfile';

import { repoRoot } from './helpers/proc';

// Each package's codes.ts table (code → meaning) is the one list of its error
// codes: its README's "Errors" table must list exactly those codes with the
// same meanings, and every code its source throws must be in it.
const tables: Record<string, Readonly<Record<string, string>>> = {
  'shm-fd': SHM_FD_CODES,
  'shm-state': SHM_STATE_CODES,
  'shm-snapshot': SNAPSHOT_CODES,
  ipcbuffer: IPCBUFFER_CODES,
  rmmap: RMMAP_CODES,
  push: PUSH_CODES,
  tinyfile: TINYFILE_CODES,
};
const packages = Object.keys(tables);
const everyCode = new Set(Object.values(tables).flatMap((t) => Object.keys(t)));

/** The README's Errors table as code → meaning (markdown unescaped). */
function readmeTable(pkg: string): Map<string, string> {
  const text = fs.readFileSync(path.join(repoRoot, 'packages', pkg, 'README.md'), 'utf8');
  const head = /^(#{2,3}) Errors\n/m.exec(text);
  if (head === null) throw new Error(`packages/${pkg}/README.md has no "Errors" section`);
  const level = (head[1] as string).length;
  const rest = text.slice(head.index + head[0].length);
  const next = new RegExp(`^#{2,${level}} `, 'm').exec(rest);
  const section = next === null ? rest : rest.slice(0, next.index);
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const m = /^\| `([A-Z][A-Z0-9_]*)` \| (.*?) \| (.*?) \|$/.exec(line);
    if (m === null) continue;
    const [, code, meaning] = m as unknown as [string, string, string];
    expect(rows.has(code)).toBe(false);
    rows.set(code, meaning.replace(/\\\|/g, '|'));
  }
  return rows;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Code literals at throw sites: `new XError('CODE'`, `super('CODE'`, `code: 'CODE'`, `code = 'CODE'`. */
const throwSite = /(?:new \w+(?:<\w+>)?\(|super\()\s*'([A-Z][A-Z0-9_]+)'|\bcode(?:: \w+)?\s*[:=]\s*'([A-Z][A-Z0-9_]+)'/g;

function thrownCodes(pkg: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of sourceFiles(path.join(repoRoot, 'packages', pkg, 'src'))) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(throwSite)) {
      const code = (m[1] ?? m[2]) as string;
      if (!found.has(code)) found.set(code, path.relative(repoRoot, file));
    }
  }
  return found;
}

describe.each(packages)('%s error codes', (pkg) => {
  const table = tables[pkg] as Readonly<Record<string, string>>;

  test('the README lists every code of codes.ts, with its meaning, and no other', () => {
    const readme = readmeTable(pkg);
    expect([...readme.keys()].sort()).toEqual(Object.keys(table).sort());
    for (const [code, meaning] of readme) expect([code, meaning]).toEqual([code, table[code]]);
  });

  test('every code thrown in src is in codes.ts', () => {
    const thrown = thrownCodes(pkg);
    expect(thrown.size).toBeGreaterThan(0);
    const missing = [...thrown].filter(([code]) => !(code in table)).map(([code, file]) => `${code} (${file})`);
    expect(missing).toEqual([]);
  });

  test("every ERR_ literal in src is some package's code, or the prefix of a family of them", () => {
    const unknown: string[] = [];
    for (const file of sourceFiles(path.join(repoRoot, 'packages', pkg, 'src'))) {
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/'(ERR_[A-Z0-9_]+)'/g)) {
        const lit = m[1] as string;
        // A prefix matched with startsWith (ERR_RMMAP_JOURNAL for every journal code) names a family of codes.
        const family = [...everyCode].some((c) => c.startsWith(`${lit}_`));
        if (!everyCode.has(lit) && !family) unknown.push(`${lit} (${path.relative(repoRoot, file)})`);
      }
    }
    expect(unknown).toEqual([]);
  });
});
