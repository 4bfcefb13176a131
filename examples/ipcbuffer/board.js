// The shared "board" both processes open: a Buffer in POSIX shared memory
// and the named Mutex that guards it. Whichever process comes first creates
// both (zero-filled memory is an empty board); the other opens them.
//
// Layout (little-endian u32 words):
//   0  count: values written so far
//   4  done:  1 once the producer has written its last value
//   64 values[CAPACITY]
'use strict';
const { IPCBuffer, Mutex } = require('@shmkit/ipcbuffer');

const CAPACITY = 1000;
const COUNT = 0;
const DONE = 4;
const VALUES = 64;
const BYTES = VALUES + 4 * CAPACITY;

/** The board and its lock under NAME ("/NAME" and "/NAME.lock" in /dev/shm). */
function openBoard(name) {
  const buf = IPCBuffer(BYTES, `*${name}`);
  const lock = Mutex.open(`/${name}.lock`);
  return {
    buf,
    lock,
    close() {
      lock.close();
      buf.close();
    },
    /** Removes both names; processes that still have them open keep their memory. */
    remove() {
      IPCBuffer.unlink(`/${name}`);
      Mutex.unlink(`/${name}.lock`);
    },
  };
}

/** NAME from the command line, or the default. */
function boardName() {
  const name = process.argv[2] ?? 'shmkit-example-board';
  if (!/^[\w.-]{1,200}$/.test(name)) {
    process.stderr.write(`usage: node ${require('node:path').basename(process.argv[1])} [NAME]  (letters, digits, _ . -)\n`);
    process.exit(2);
  }
  return name;
}

/** The value the producer writes i-th: a checkable sequence. */
const valueAt = (i) => (i * 2654435761) >>> 0;

module.exports = { CAPACITY, COUNT, DONE, VALUES, openBoard, boardName, valueAt };
