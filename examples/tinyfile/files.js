// The regular files under a directory, as paths relative to it; and the
// place of each one's compressed copy in the output directory.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** Relative paths of the regular files under `dir`, sorted; symlinks are skipped. */
function filesUnder(dir) {
  const out = [];
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out.push(r);
    }
  };
  walk('');
  return out.sort();
}

/** OUT/REL.sz, creating its directory. */
function outputFor(outDir, rel) {
  const dst = path.join(outDir, `${rel}.sz`);
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  return dst;
}

/** Reads `compress-sync.js DIR OUT` style arguments, or exits 2 with the usage. */
function dirsFromArgs(prog) {
  const [dir, out] = process.argv.slice(2);
  if (dir === undefined || out === undefined || process.argv.length > 4) {
    process.stderr.write(`usage: node ${prog} DIR OUT\n  compresses every file under DIR to OUT/<path>.sz (snappy framing format) through tinyd\n`);
    process.exit(2);
  }
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    process.stderr.write(`${prog}: ${dir} is not a directory\n`);
    process.exit(2);
  }
  return { dir, out };
}

function summary(mode, files, bytesIn, bytesOut, ms) {
  const ratio = bytesIn === 0 ? 0 : bytesOut / bytesIn;
  return `${mode}: ${files} files, ${bytesIn} → ${bytesOut} bytes (${(ratio * 100).toFixed(1)} %) in ${ms.toFixed(0)} ms`;
}

module.exports = { filesUnder, outputFor, dirsFromArgs, summary };
