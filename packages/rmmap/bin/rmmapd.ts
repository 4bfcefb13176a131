#!/usr/bin/env node
import { packageVersion } from '@shmkit/shm-fd/unstable-child-process';
import { main } from '../src/cli/rmmapd';

if (process.argv[2] === '--version' || process.argv[2] === '-V') {
  process.stdout.write(`rmmapd ${packageVersion('@shmkit/rmmap', __dirname)}\n`);
  process.exit(0);
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
    // Exit even if a peer keeps a half-closed socket around.
    if (status !== 0) return;
    process.exit(status);
  },
  (err: unknown) => {
    // Only bugs get here: user errors are reported inside main().
    process.stderr.write(`rmmapd: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
