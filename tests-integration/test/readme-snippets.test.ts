import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { publicPackages } from './helpers/packages';
import { bin, killAll, repoRoot, run, start, type Proc } from './helpers/proc';
import { extensionOf, extractSnippets, type Snippet } from './helpers/readme-snippets';

// Every fenced js/ts block in the repository's Markdown runs here, against
// the built packages, unless it is marked `<!-- fragment -->`: the docs
// cannot drift from the API without this test failing.

const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', '.turbo', 'coverage', 'tmp']);

function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || SKIP_DIRS.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...markdownFiles(full));
    else if (entry.isFile() && entry.name.endsWith('.md')) out.push(full);
  }
  return out;
}

const files = markdownFiles(repoRoot).sort();
const snippets = files.flatMap((f) => extractSnippets(f));
const runnable = snippets.filter((s) => !s.fragment);
const packageReadmes = publicPackages()
  .map((name) => path.join(repoRoot, 'packages', name, 'README.md'))
  .filter((f) => fs.existsSync(f));

// Snippets import `@shmkit/*` by name: they are written where
// tests-integration's node_modules resolve them (to each package's dist/).
const snippetDir = path.join(__dirname, '..', '.snippets');
// tsx's loader in this process (not its CLI, which runs the program in a
// child: the fds and LISTEN_PID that shm-fd passes would not reach it).
const tsxLoader = pathToFileURL(path.join(repoRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const shmFd = bin('shm-fd', 'shm-fd');
const tinyd = bin('tinyfile', 'tinyd');

function label(s: Snippet): string {
  return `${path.relative(repoRoot, s.file)}:${s.line}`;
}

beforeAll(() => {
  fs.rmSync(snippetDir, { recursive: true, force: true });
  fs.mkdirSync(snippetDir, { recursive: true });
});

afterEach(async () => {
  await killAll();
});

test('each package README opens with a runnable snippet', () => {
  const missing = packageReadmes.filter((f) => {
    const first = snippets.find((s) => s.file === f);
    return first === undefined || first.fragment;
  });
  expect(missing.map((f) => path.relative(repoRoot, f))).toEqual([]);
});

test('the extractor reads markers, languages and fences', () => {
  const md = path.join(os.tmpdir(), `snippets-${process.pid}.md`);
  fs.writeFileSync(
    md,
    [
      '# t',
      '```js',
      "require('node:fs');",
      '```',
      '<!-- fragment -->',
      '```ts',
      'q.tryPop();',
      '```',
      '<!-- run: under shm-fd, with tinyd -->',
      '```typescript',
      "import fs from 'node:fs';",
      '```',
      '```sh',
      'echo not a snippet',
      '```',
      '````md',
      '```js',
      'inside another fence',
      '```',
      '````',
    ].join('\n'),
  );
  try {
    const got = extractSnippets(md);
    expect(got.map((s) => [s.line, s.language, s.fragment, s.needs, extensionOf(s)])).toEqual([
      [2, 'js', false, [], '.cjs'],
      [6, 'ts', true, [], '.mts'],
      [10, 'ts', false, ['shm-fd', 'tinyd'], '.mts'],
    ]);
    fs.writeFileSync(md, '<!-- run: with rmmapd -->\n```js\n1;\n```\n');
    expect(() => extractSnippets(md)).toThrow(/unknown snippet marker "run: with rmmapd"/);
  } finally {
    fs.rmSync(md, { force: true });
  }
});

test.each(runnable.map((s) => [label(s), s] as const))('%s runs', async (name, s) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-snippet-'));
  const file = path.join(snippetDir, name.replace(/[^\w.-]+/g, '_') + extensionOf(s));
  fs.writeFileSync(file, s.code);
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: work, NODE_OPTIONS: '' };
  let daemon: Proc | undefined;
  try {
    if (s.needs.includes('tinyd')) {
      daemon = start([tinyd], { env, cwd: work });
      await daemon.waitFor(/listening on/);
    }
    let args = s.language === 'ts' ? ['--import', tsxLoader, file] : [file];
    if (s.needs.includes('shm-fd')) args = [shmFd, 'run', '--quiet', '--size', '4M', '--', process.execPath, ...args];
    const r = await run(args, { cwd: work, env, timeoutMs: 60000 });
    const report = `${name} exited ${r.status}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
    // The whole output is the failure message; a snippet that leaks a
    // mapping or trips a deprecation prints a warning and fails too.
    const failed = r.status !== 0 || /\bWarning\b/.test(r.stderr);
    expect(failed ? report : 'ok').toBe('ok');
  } finally {
    await killAll();
    fs.rmSync(work, { recursive: true, force: true });
  }
});
