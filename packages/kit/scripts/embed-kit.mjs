#!/usr/bin/env node
// Run by each package that uses @shmkit/kit, in its directory, after tsc:
// copies the kit's compiled modules into its dist/kit/ and rewrites every
// `@shmkit/kit/<part>` specifier in its dist to a relative path. The kit is
// private and never published; this way a package's tarball carries the
// kit code it uses and installs without it. Fails when any specifier is
// left over.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const kitDist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'src');
const dist = path.resolve('dist');
const into = path.join(dist, 'kit');
const SPECIFIER = /(["'])@shmkit\/kit\/([a-z-]+)\1/g;

function fail(message) {
  process.stderr.write(`embed-kit: ${message}\n`);
  process.exit(1);
}

function* files(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (e.isFile()) yield p;
  }
}

if (!fs.existsSync(kitDist)) fail(`${kitDist} is missing; build @shmkit/kit first (npx pnpm --filter @shmkit/kit build)`);
if (!fs.existsSync(dist)) fail(`${dist} is missing; run tsc first`);

// Only the parts this package imports, so its tarball carries no unused kit code.
const outside = [...files(dist)].filter((f) => /\.(js|d\.ts)$/.test(f) && !f.startsWith(into + path.sep));
const used = new Set();
for (const file of outside) for (const m of fs.readFileSync(file, 'utf8').matchAll(SPECIFIER)) used.add(m[2]);
for (const part of used) if (!fs.existsSync(path.join(kitDist, part, 'index.js'))) fail(`@shmkit/kit/${part} is imported but the kit has no such part`);
fs.rmSync(into, { recursive: true, force: true });
for (const part of used) {
  // Compiled code and declarations only: the kit's sources are not shipped, so neither are maps to them.
  fs.cpSync(path.join(kitDist, part), path.join(into, part), { recursive: true, filter: (src) => !src.endsWith('.map') });
}
// A part that reaches into another part needs that one too.
if (used.size > 0) {
  for (const file of files(into)) {
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/require\("\.\.\/([a-z-]+)\//g)) {
      if (!used.has(m[1])) fail(`kit part ${path.relative(into, file)} needs kit part ${m[1]}; embed-kit must copy it too`);
    }
  }
}
for (const file of outside) {
  const text = fs.readFileSync(file, 'utf8');
  if (!text.includes('@shmkit/kit')) continue;
  const out = text.replace(SPECIFIER, (_whole, quote, part) => {
    let rel = path.relative(path.dirname(file), path.join(into, part, 'index.js')).split(path.sep).join('/');
    if (!rel.startsWith('.')) rel = `./${rel}`;
    return `${quote}${rel}${quote}`;
  });
  if (out.includes('@shmkit/kit')) fail(`${path.relative(dist, file)} still names @shmkit/kit after rewriting; import it only as '@shmkit/kit/<part>'`);
  fs.writeFileSync(file, out);
}
