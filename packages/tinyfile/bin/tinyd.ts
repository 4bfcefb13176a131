#!/usr/bin/env node
import { packageVersion } from '@shmkit/shm-fd/unstable-child-process';
import { tinydMain } from '../src/cli/tinyd-main';

if (process.argv[2] === '--version' || process.argv[2] === '-V') {
  process.stdout.write(`tinyd ${packageVersion('@shmkit/tinyfile', __dirname)}\n`);
  process.exit(0);
}

tinydMain(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
    // Worker threads and timers are closed by then; exit explicitly in case a client socket lingers.
    if (status !== undefined) setImmediate(() => process.exit(status));
  },
  (err: unknown) => {
    process.stderr.write(`tinyd: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(70);
  },
);
