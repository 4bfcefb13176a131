import fs from 'node:fs';
import path from 'node:path';

import { publicPackages } from './helpers/packages';
import { repoRoot } from './helpers/proc';

// Every package README has the same skeleton, so a reader knows where to
// look: what it is for and a runnable snippet first (readme-snippets.test.ts
// checks the snippet), then the API, and these sections in this order.
const ORDER = ['Errors', 'Lifetime', 'Limits', 'Benchmark'];

const readmes = publicPackages()
  .map((name) => path.join('packages', name, 'README.md'))
  .filter((f) => fs.existsSync(path.join(repoRoot, f)));

/** `## ` headings outside code fences. */
function headings(file: string): string[] {
  const out: string[] = [];
  let fence: string | null = null;
  for (const line of fs.readFileSync(path.join(repoRoot, file), 'utf8').split('\n')) {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (m !== null) {
      if (fence === null) fence = m[1] as string;
      else if (line.trim().startsWith(fence)) fence = null;
    } else if (fence === null && line.startsWith('## ')) out.push(line.slice(3).trim());
  }
  return out;
}

test('there are package READMEs', () => {
  expect(readmes.length).toBeGreaterThanOrEqual(7);
});

test.each(readmes)('%s has Errors, Lifetime, Limits and Benchmark in order', (file) => {
  const h = headings(file);
  expect(ORDER.filter((s) => h.includes(s))).toEqual(ORDER);
  const at = ORDER.map((s) => h.indexOf(s));
  expect(at).toEqual([...at].sort((a, b) => a - b));
  // The benchmark table says where it was measured: machine, Node and runs.
  const text = fs.readFileSync(path.join(repoRoot, file), 'utf8');
  const bench = text.slice(text.indexOf('\n## Benchmark'));
  expect(bench).toMatch(/Node v\d+\.\d+\.\d+/);
  expect(bench).toMatch(/\b(?:one run|median of \d+|\d+ runs?|best of \d+)\b/i);
});
