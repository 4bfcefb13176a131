#!/usr/bin/env node
// Compresses every file under DIR into OUT with the blocking API: one file
// after the other, each call returning when tinyd has done its work. Fits
// scripts, CLIs and worker threads, where nothing else waits on the thread.
//
//   node compress-sync.js DIR OUT
'use strict';
const { TinyFile } = require('@shmkit/tinyfile');
const { filesUnder, outputFor, dirsFromArgs, summary } = require('./files');
const path = require('node:path');

function main() {
  const { dir, out } = dirsFromArgs('compress-sync.js');
  const start = performance.now();
  const tf = TinyFile.connectSync(); // tinyd on its default socket ($XDG_RUNTIME_DIR/tinyfile/tinyd.sock)
  let bytesIn = 0;
  let bytesOut = 0;
  const files = filesUnder(dir);
  try {
    for (const rel of files) {
      const r = tf.compressFileSync(path.join(dir, rel), outputFor(out, rel));
      bytesIn += r.bytesIn;
      bytesOut += r.bytesOut;
    }
  } finally {
    void tf.close(); // releases the channel now; the promise only reports it
  }
  console.log(summary('sync', files.length, bytesIn, bytesOut, performance.now() - start));
}

try {
  main();
} catch (err) {
  // Errors carry a code and say what to do (e.g. how to start tinyd).
  process.stderr.write(`compress-sync.js: ${err.message}\n`);
  process.exit(1);
}
