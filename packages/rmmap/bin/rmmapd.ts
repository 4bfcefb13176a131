#!/usr/bin/env node
import { main } from '../src/cli/rmmapd';

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
