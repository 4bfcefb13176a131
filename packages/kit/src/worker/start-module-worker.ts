// Starting a package's worker thread from its built `.js` or, when the
// package runs from its TypeScript sources (jest, tsx), from the `.ts`
// beside it.
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * Starts the module `name` of directory `dir` (the caller's `__dirname`) in
 * a worker thread. Built code runs `name.js` with no inherited execArgv: a
 * parent started with `--import tsx` would load the TypeScript loader into
 * every thread. From the sources the thread registers tsx's require hook
 * first (`--import tsx` in execArgv is not honoured for workers under jest).
 */
export function startModuleWorker(dir: string, name: string, workerData: unknown): Worker {
  const js = path.join(dir, `${name}.js`);
  if (fs.existsSync(js)) return new Worker(js, { workerData, execArgv: [] });
  const tsx = require.resolve('tsx/cjs/api');
  const code = `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(path.join(dir, `${name}.ts`))});`;
  return new Worker(code, { eval: true, workerData });
}
