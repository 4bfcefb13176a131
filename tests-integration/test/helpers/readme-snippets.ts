// Extracts the fenced JavaScript and TypeScript blocks of a Markdown file,
// with the marker comment written on the line before each fence (see
// CONTRIBUTING.md, "README snippets"):
//
//   <!-- fragment -->            not a whole program: never run
//   <!-- run: under shm-fd -->   run as `shm-fd run --size 4M -- node SNIPPET`
//   <!-- run: with tinyd -->     a tinyd listens on the default socket
//
// A block without a marker is a program that runs as written.
import fs from 'node:fs';

export type SnippetLanguage = 'ts' | 'js';
export type SnippetNeed = 'shm-fd' | 'tinyd';

export interface Snippet {
  /** Markdown file the block is in. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly language: SnippetLanguage;
  readonly code: string;
  readonly fragment: boolean;
  readonly needs: readonly SnippetNeed[];
}

const LANGUAGES: Record<string, SnippetLanguage> = {
  ts: 'ts',
  typescript: 'ts',
  js: 'js',
  javascript: 'js',
};

const NEEDS: Record<string, SnippetNeed> = {
  'under shm-fd': 'shm-fd',
  'with tinyd': 'tinyd',
};

const MARKER = /^<!--\s*(fragment|run:\s*([^>]*?))\s*-->$/;

export function extractSnippets(file: string): Snippet[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i] as string);
    if (open === null) continue;
    const fence = open[2] as string;
    let end = i + 1;
    while (end < lines.length && !(lines[end] as string).trim().startsWith(fence)) end++;
    const language = LANGUAGES[(open[3] as string).toLowerCase()];
    if (language !== undefined) {
      const { fragment, needs } = markerBefore(lines, i, file);
      out.push({ file, line: i + 1, language, code: lines.slice(i + 1, end).join('\n') + '\n', fragment, needs });
    }
    i = end;
  }
  return out;
}

function markerBefore(lines: string[], fenceIndex: number, file: string): { fragment: boolean; needs: SnippetNeed[] } {
  const previous = (lines[fenceIndex - 1] ?? '').trim();
  const m = MARKER.exec(previous);
  if (m === null) return { fragment: false, needs: [] };
  if (m[1] === 'fragment') return { fragment: true, needs: [] };
  const needs: SnippetNeed[] = [];
  for (const part of (m[2] as string).split(',').map((s) => s.trim())) {
    const need = NEEDS[part];
    if (need === undefined) {
      throw new Error(`${file}:${fenceIndex}: unknown snippet marker "run: ${part}" (known: ${Object.keys(NEEDS).join(', ')})`);
    }
    needs.push(need);
  }
  return { fragment: false, needs };
}

/**
 * The file extension a snippet runs as: TypeScript always as an ES module
 * (top-level await works), JavaScript as an ES module when it imports, as
 * CommonJS when it requires.
 */
export function extensionOf(s: Snippet): '.mts' | '.mjs' | '.cjs' {
  if (s.language === 'ts') return '.mts';
  return /^\s*(import\s|export\s)/m.test(s.code) ? '.mjs' : '.cjs';
}
