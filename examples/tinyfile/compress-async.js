#!/usr/bin/env node
// Compresses every file under DIR into OUT with the async API: up to four
// files in flight at once on one connection, the event loop free meanwhile
// (tinyd spreads the chunks over its workers). Fits servers.
//
//   node compress-async.js DIR OUT
'use strict';
const { TinyFile } = require('@shmkit/tinyfile');
const { filesUnder, outputFor, dirsFromArgs, summary } = require('./files');
const path = require('node:path');

const IN_FLIGHT = 4;

async function main() {
  const { dir, out } = dirsFromArgs('compress-async.js');
  const start = performance.now();
  const tf = await TinyFile.connect();
  let bytesIn = 0;
  let bytesOut = 0;
  const queue = filesUnder(dir);
  const total = queue.length;
  try {
    const lane = async () => {
      for (let rel = queue.shift(); rel !== undefined; rel = queue.shift()) {
        const r = await tf.compressFile(path.join(dir, rel), outputFor(out, rel));
        bytesIn += r.bytesIn;
        bytesOut += r.bytesOut;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  } finally {
    await tf.close();
  }
  console.log(summary('async', total, bytesIn, bytesOut, performance.now() - start));
}

main().catch((err) => {
  process.stderr.write(`compress-async.js: ${err.message}\n`);
  process.exit(1);
});
