import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import type { Job } from './worker';

/**
 * Starts a push worker thread. Built code runs worker.js; from sources (jest,
 * tsx) the worker registers tsx first so it can load worker.ts. Without a
 * job the worker is a spare that waits for its job as the first message.
 */
export function startWorker(job?: Job): Worker {
  const js = path.join(__dirname, 'worker.js');
  // No inherited execArgv: a parent started with `--import tsx` would make
  // every thread load the TypeScript loader too (~3× the start-up CPU).
  if (fs.existsSync(js)) return new Worker(js, { workerData: job, execArgv: [] });
  const ts = path.join(__dirname, 'worker.ts');
  const tsx = require.resolve('tsx/cjs/api');
  const code = `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(ts)});`;
  return new Worker(code, { eval: true, workerData: job });
}
