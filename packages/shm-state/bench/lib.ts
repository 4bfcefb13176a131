// Benchmarks measure the built package (dist/, compiled by tsc), as users run
// it: tsx's on-the-fly transform wraps every closure in a naming helper,
// which would bill its cost to shm-state. Run `pnpm build` first.
import fs from 'node:fs';
import path from 'node:path';

import type * as Lib from '../src';

const built = path.join(__dirname, '..', 'dist', 'src', 'index.js');
if (!fs.existsSync(built)) {
  process.stderr.write('shm-state bench: build the package first (pnpm build)\n');
  process.exit(2);
}

const lib = require(built) as typeof Lib;
export const { SpscQueue, MpmcQueue, Mutex, HashMap } = lib;
