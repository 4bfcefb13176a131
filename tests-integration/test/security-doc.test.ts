import fs from 'node:fs';
import path from 'node:path';

import { repoRoot } from './helpers/proc';

// docs/SECURITY.md names, for every threat, the test that proves it. This
// keeps those names true: each cited file exists and holds each cited test
// title (up to the first "…", as titles in the doc may be shortened).
const doc = fs.readFileSync(path.join(repoRoot, 'docs', 'SECURITY.md'), 'utf8');
const ti = 'tests-integration/test';

interface Citation {
  file: string;
  titles: string[];
  line: string;
}

function citations(): Citation[] {
  const out: Citation[] = [];
  for (const line of doc.split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line.split('|').map((c) => c.trim());
    const last = cells[cells.length - 2] ?? '';
    for (const part of last.split(/,\s*(?=`)/)) {
      const m = /^`([^`]+\.test\.ts)`(?:\s*›\s*(.*))?$/.exec(part.trim());
      if (m === null) continue;
      const file = (m[1] as string).replace(/^TI\//, `${ti}/`);
      const titles = (m[2] ?? '')
        .split(/;\s+(?=[a-z(])/)
        .map((t) => t.replace(/….*$/, '').replace(/^\(|\)$/g, '').trim())
        .filter((t) => t.length > 0);
      out.push({ file, titles, line });
    }
  }
  return out;
}

const cited = citations();

test('the threat model cites tests', () => {
  expect(cited.length).toBeGreaterThan(40);
});

test.each(cited.map((c) => [c.file, c.titles.join(' / '), c] as const))('%s › %s exists', (_file, _titles, c) => {
  const file = path.join(repoRoot, c.file);
  expect(fs.existsSync(file)).toBe(true);
  // Titles may be written with template parameters (%s) or split over describe blocks; compare words.
  const text = fs.readFileSync(file, 'utf8').replace(/\\/g, '').replace(/\s+/g, ' ');
  for (const title of c.titles) {
    const words = title.split(/%s|\s+›\s+/).map((w) => w.trim()).filter((w) => w.length > 0);
    for (const w of words) expect({ title, found: text.includes(w) }).toEqual({ title, found: true });
  }
});
