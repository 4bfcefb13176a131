#!/usr/bin/env node
// Writes CAPACITY values to the shared board, a few at a time, taking the
// named Mutex for each batch with the blocking lockSync(): the consumer
// never sees a count that runs ahead of the values behind it.
//
//   node producer.js [NAME]     (start consumer.js with the same NAME)
'use strict';
const { CAPACITY, COUNT, DONE, VALUES, openBoard, boardName, valueAt } = require('./board');

let board;
try {
  board = openBoard(boardName());
} catch (err) {
  process.stderr.write(`producer.js: ${err.message}\n`);
  process.exit(1);
}
const { buf, lock } = board;
const BATCH = 50;

let written = 0;
const step = () => {
  lock.lockSync();
  try {
    const count = buf.readUInt32LE(COUNT);
    const n = Math.min(BATCH, CAPACITY - count);
    for (let i = count; i < count + n; i++) buf.writeUInt32LE(valueAt(i), VALUES + 4 * i);
    buf.writeUInt32LE(count + n, COUNT); // published with the values, under the lock
    if (count + n === CAPACITY) buf.writeUInt32LE(1, DONE);
    written += n;
  } finally {
    lock.unlock();
  }
  if (buf.readUInt32LE(DONE) === 1) {
    console.log(`producer: wrote ${written} values`);
    board.close();
  } else {
    setTimeout(step, 5); // let the consumer in between batches
  }
};
step();
