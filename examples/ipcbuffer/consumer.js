#!/usr/bin/env node
// Reads the values the producer writes to the shared board, taking the
// named Mutex with the async withLock() (the event loop stays free while it
// waits), until the producer says it is done. Checks every value, then
// removes the board's names.
//
//   node consumer.js [NAME]     (start producer.js with the same NAME)
'use strict';
const { COUNT, DONE, VALUES, openBoard, boardName, valueAt } = require('./board');

async function main() {
  const board = openBoard(boardName());
  const { buf, lock } = board;
  let seen = 0;
  let wrong = 0;
  let done = false;
  while (!done) {
    await lock.withLock(() => {
      const count = buf.readUInt32LE(COUNT);
      for (; seen < count; seen++) if (buf.readUInt32LE(VALUES + 4 * seen) !== valueAt(seen)) wrong++;
      done = buf.readUInt32LE(DONE) === 1;
    });
    if (!done) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  console.log(`consumer: read ${seen} values, ${wrong === 0 ? 'all as written' : `${wrong} wrong`}`);
  board.close();
  board.remove();
  if (wrong !== 0) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`consumer.js: ${err.code ?? ''} ${err.message}\n`);
  process.exit(1);
});
