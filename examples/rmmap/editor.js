#!/usr/bin/env node
// One of two editors of a file served by rmmapd. Each owns one 64-byte line
// of the file: it writes "NAME ROUND" there, then waits until the other
// editor's line shows the same round, learning of the other's writes from
// the mapping's 'change' events. Run two of them, on one machine or two:
//
//   node editor.js alice 0 HOST:PORT notes.txt [TOKEN_FILE]
//   node editor.js bob   1 HOST:PORT notes.txt [TOKEN_FILE]
'use strict';
const fs = require('node:fs');
const { rmmap } = require('@shmkit/rmmap');

const LINE = 64;
const ROUNDS = 5;

function usage(problem) {
  process.stderr.write(`editor.js: ${problem}\nusage: node editor.js NAME LINE(0|1) HOST:PORT PATH [TOKEN_FILE]\n`);
  process.exit(2);
}

/** "NAME ROUND" from a line, or null while it is empty. */
function parseLine(bytes) {
  const m = /^(\S+) (\d+)$/.exec(bytes.toString('utf8').replace(/\0+$/, '').trim());
  return m === null ? null : { name: m[1], round: Number(m[2]) };
}

async function main() {
  const [name, lineArg, where, file, tokenFile] = process.argv.slice(2);
  if (file === undefined) usage('missing arguments');
  const mine = Number(lineArg);
  if (mine !== 0 && mine !== 1) usage(`LINE must be 0 or 1, not ${lineArg}`);
  const [host, port] = where.split(':');
  if (!host || !/^\d+$/.test(port ?? '')) usage(`HOST:PORT expected, not ${where}`);
  const theirs = 1 - mine;

  // The token rmmapd was started with (--token-file), if any.
  const token = tokenFile === undefined ? undefined : fs.readFileSync(tokenFile, 'utf8').replace(/\n$/, '');
  const m = await rmmap({ host, port: Number(port), path: file, token }, 0, 2 * LINE);
  const seen = { round: 0 };
  // Another client's write to our section arrives as a 'change' event; read
  // the other line then (our own writes raise no event here).
  let wake = () => {};
  m.on('change', () => wake());
  const readTheirs = async () => {
    const line = parseLine(await m.read(theirs * LINE, LINE));
    if (line !== null && line.round > seen.round) {
      seen.round = line.round;
      console.log(`${name}: saw "${line.name} ${line.round}"`);
    }
  };

  for (let round = 1; round <= ROUNDS; round++) {
    const text = Buffer.alloc(LINE);
    text.write(`${name} ${round}\n`);
    const version = await m.write(mine * LINE, text);
    console.log(`${name}: wrote round ${round} (file version ${version})`);
    await readTheirs();
    while (seen.round < round) {
      // Wait for a change event; every second, also ask the server (a sync
      // is a round trip, after which the cache holds every acknowledged write).
      await new Promise((resolve) => {
        const t = setTimeout(resolve, 1000);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      await m.sync();
      await readTheirs();
    }
  }
  await m.close();
  console.log(`${name}: done after ${ROUNDS} rounds`);
}

main().catch((err) => {
  process.stderr.write(`editor.js: ${err.code ?? ''} ${err.message}\n`);
  process.exit(1);
});
