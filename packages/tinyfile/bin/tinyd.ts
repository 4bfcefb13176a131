#!/usr/bin/env node
import { tinydMain } from '../src/cli/tinyd-main';

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
