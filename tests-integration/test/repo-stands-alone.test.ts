import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { repoRoot } from './helpers/proc';

// The repository is read by people who have only the repository: code,
// docs and comments describe what is, and development history stays in git.
// Each pattern below catches a way that history or an outside document was
// cited; the patterns are narrow on purpose, so ordinary words keep their
// meaning (a client's session, a random seed, `../shared-fd`).

interface Rule {
  readonly what: string;
  readonly pattern: RegExp;
  /** Only files whose repository path matches. */
  readonly only?: RegExp;
  /** Files (repository paths) where the pattern is allowed. */
  readonly except?: RegExp;
}

const rules: Rule[] = [
  { what: 'a style guide outside the repo', pattern: /\bSTYLE(?:\.md\b| §)/ },
  {
    what: 'the project brief ("the seed") instead of saying what the code does',
    pattern: /\bthe seed(?:'s\b| (?:project|brief|spec|promised?|asks?|asked|says|said|closed|used)\b)|\bseeds\/\d/i,
  },
  { what: 'a numbered work session', pattern: /\bsession \d+\b|\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth) session\b/i },
  { what: 'progress against an internal target', pattern: /\bmet since\b|\btarget (?:met|missed)\b/i },
  { what: 'the issue tracker this was built with', pattern: /\bissue #?\d+\b|\bthe (?:issue|brief)'s\b/i },
  { what: 'files outside the repository', pattern: /\.\.\/shared(?![\w-])/, except: /^\.ci\/run$/ },
  {
    what: 'a dated heading (a work log; a benchmark table names its date in its "measured on" line)',
    pattern: /^#+ .*\b20\d\d-\d\d-\d\d\b/m,
    only: /\.md$/,
  },
];

const self = path.relative(repoRoot, __filename);

function repoFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: repoRoot, encoding: 'utf8' });
  return out
    .split('\0')
    .filter((f) => f.length > 0 && f !== self && f !== 'pnpm-lock.yaml')
    .filter((f) => fs.existsSync(path.join(repoRoot, f)));
}

function text(file: string): string | null {
  const bytes = fs.readFileSync(path.join(repoRoot, file));
  return bytes.subarray(0, 8000).includes(0) ? null : bytes.toString('utf8');
}

const files = repoFiles();

test('the scan sees the repository', () => {
  expect(files).toEqual(expect.arrayContaining(['README.md', 'CONTRIBUTING.md', 'packages/shm-fd/src/index.ts']));
});

test.each(rules.map((r) => [r.what, r] as const))('nothing cites %s', (_what, rule) => {
  const hits: string[] = [];
  const global = new RegExp(rule.pattern.source, rule.pattern.flags.includes('g') ? rule.pattern.flags : rule.pattern.flags + 'g');
  for (const file of files) {
    if (rule.only !== undefined && !rule.only.test(file)) continue;
    if (rule.except?.test(file) === true) continue;
    const body = text(file);
    if (body === null) continue;
    for (const m of body.matchAll(global)) {
      const line = body.slice(0, m.index).split('\n').length;
      const content = body.split('\n')[line - 1] ?? '';
      hits.push(`${file}:${line}: ${content.trim().slice(0, 120)}`);
    }
  }
  expect(hits).toEqual([]);
});

test('the patterns catch what they are for and spare ordinary words', () => {
  const matches = (s: string) => rules.filter((r) => new RegExp(r.pattern.source, r.pattern.flags).test(s)).map((r) => r.what);
  // The examples are assembled from words so that this file does not itself cite what it forbids.
  const examples = [
    ['see', 'STYLE', '§4'],
    ['the', "seed's", 'mread'],
    ['fixed', 'in', 'session', '3'],
    ['###', 'Fourth', 'session', '(2026-11-23)'],
    ['target', '1.6×:', 'met', 'since', 'then'],
    ['read', ['..', 'shared', 'peers'].join('/')],
    ['the', "issue's", 'target'],
  ];
  for (const bad of examples.map((words) => words.join(' ')))
    expect({ bad, hit: matches(bad).length > 0 }).toEqual({ bad, hit: true });
  for (const ok of ["a client's session", 'the seed is printed on failure', 'replays the seed a failing run printed', "import '../shared-fd'", 'Request ids are 32-bit per session'])
    expect({ ok, hits: matches(ok) }).toEqual({ ok, hits: [] });
});
