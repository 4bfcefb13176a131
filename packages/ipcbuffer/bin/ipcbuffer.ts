#!/usr/bin/env node
import { packageVersion } from '@shmkit/shm-fd/unstable-child-process';
import { main } from '../src/cli/ipcbuffer';

if (process.argv[2] === '--version' || process.argv[2] === '-V') {
  process.stdout.write(`ipcbuffer ${packageVersion('@shmkit/ipcbuffer', __dirname)}\n`);
  process.exit(0);
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  // Only bugs get here: user errors are reported inside main().
  process.stderr.write(`ipcbuffer: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 70;
}
