#!/usr/bin/env node
import { main } from '../src/cli';

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (err: unknown) => {
    // Only bugs get here: user errors are reported inside main().
    process.stderr.write(`rmmap: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
