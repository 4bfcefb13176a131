#!/usr/bin/env node
import { main } from '../src/cli/ipcbuffer';

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  // Only bugs get here: user errors are reported inside main().
  process.stderr.write(`ipcbuffer: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 70;
}
