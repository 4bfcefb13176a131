#!/usr/bin/env node
import { tinyfileMain } from '../src/cli/tinyfile-main';

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
