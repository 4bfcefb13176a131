#!/usr/bin/env node
import { packageVersion } from '@shmkit/shm-fd/unstable-child-process';
import { tinyfileMain } from '../src/cli/tinyfile-main';

if (process.argv[2] === '--version' || process.argv[2] === '-V') {
  process.stdout.write(`tinyfile ${packageVersion('@shmkit/tinyfile', __dirname)}\n`);
  process.exit(0);
}

tinyfileMain(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (err: unknown) => {
    // Only bugs get here: user errors are reported inside tinyfileMain().
    process.stderr.write(`tinyfile: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
