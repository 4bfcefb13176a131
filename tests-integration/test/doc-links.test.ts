import fs from 'node:fs';
import path from 'node:path';

import { repoRoot } from './helpers/proc';

// Links between the repository's Markdown files point at files that exist
// and at headings that exist (GitHub's anchors), so moving or renaming a
// section cannot leave a dangling link behind.

const SKIP = new Set(['node_modules', 'dist', '.git', '.turbo', 'coverage', 'tmp']);

function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || SKIP.has(e.name)) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...markdownFiles(full));
    else if (e.isFile() && e.name.endsWith('.md')) out.push(full);
  }
  return out;
}

/** Lines outside fenced code blocks. */
function prose(text: string): string[] {
  const out: string[] = [];
  let fence: string | null = null;
  for (const line of text.split('\n')) {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (m !== null) {
      if (fence === null) fence = m[1] as string;
      else if (line.trim().startsWith(fence)) fence = null;
      continue;
    }
    if (fence === null) out.push(line);
  }
  return out;
}

function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(file: string): Set<string> {
  const set = new Set<string>();
  for (const line of prose(fs.readFileSync(file, 'utf8'))) {
    const m = /^#{1,6}\s+(.*)$/.exec(line);
    if (m === null) continue;
    let s = slug(m[1] as string);
    for (let n = 1; set.has(s); n++) s = `${slug(m[1] as string)}-${n}`;
    set.add(s);
  }
  return set;
}

interface Link {
  from: string;
  target: string;
}

function links(file: string): Link[] {
  const out: Link[] = [];
  for (const line of prose(fs.readFileSync(file, 'utf8'))) {
    const text = line.replace(/`[^`]*`/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1] as string;
      if (/^[a-z]+:/i.test(target)) continue; // http:, https:, mailto:
      out.push({ from: file, target });
    }
  }
  return out;
}

const all = markdownFiles(repoRoot).flatMap(links);

test('the docs link to each other', () => {
  expect(all.length).toBeGreaterThan(20);
});

test.each(all.map((l) => [`${path.relative(repoRoot, l.from)} → ${l.target}`, l] as const))('%s resolves', (_name, l) => {
  const [file, anchor] = l.target.split('#') as [string, string | undefined];
  const resolved = file === '' ? l.from : path.resolve(path.dirname(l.from), file);
  expect({ target: l.target, exists: fs.existsSync(resolved) }).toEqual({ target: l.target, exists: true });
  if (anchor !== undefined && anchor !== '' && resolved.endsWith('.md')) {
    expect({ target: l.target, anchor: anchors(resolved).has(anchor) }).toEqual({ target: l.target, anchor: true });
  }
});

test('slugs are GitHub anchors', () => {
  expect(slug('API for other packages (queues, doorbell, locks)')).toBe('api-for-other-packages-queues-doorbell-locks');
  expect(slug('The `shm-fd` CLI')).toBe('the-shm-fd-cli');
  expect(slug('Queue strategy (implemented: restore-v1)')).toBe('queue-strategy-implemented-restore-v1');
});
