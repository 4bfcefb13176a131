#!/usr/bin/env node
'use strict';
// The command itself is compiled to dist/bin/ipcbuffer.js. This file exists before
// any build, so that package managers can link the command when they install
// a source checkout; run there unbuilt, it says so instead of a stack trace.
const fs = require('node:fs');
const path = require('node:path');

const target = path.join(__dirname, '..', 'dist', 'bin', 'ipcbuffer.js');
if (!fs.existsSync(target)) {
  process.stderr.write(`ipcbuffer: ${target} is missing: this is an unbuilt source checkout; run "npx -y pnpm@10 build" in the repository first\n`);
  process.exit(1);
}
require(target);
