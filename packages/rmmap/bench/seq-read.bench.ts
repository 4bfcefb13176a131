// Sequential read of a 256 MiB section in 1 MiB reads through rmmap (rmmapd in
// its own process, read-ahead on), with read() and with readInto(), vs raw TCP
// streaming of the same bytes from a Node server process to this one. Knobs: RMMAP_BENCH_MB (256), RMMAP_BENCH_RUNS (3).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

// The built package, as users run it (tsx-transpiled sources add per-call overhead of their own).
import { rmmap } from '@shmkit/rmmap';
import { randomFile, scratch, startRmmapd, startScript, table } from './util';

const MB = Number(process.env['RMMAP_BENCH_MB'] ?? 256);
const RUNS = Number(process.env['RMMAP_BENCH_RUNS'] ?? 3);
const SIZE = MB * 1024 * 1024;
const READ = 1024 * 1024;

// The alternative: a TCP server that streams the file's bytes to each client.
const rawServer = `
const fs = require('node:fs'); const net = require('node:net');
const data = fs.readFileSync(process.argv[1]); // node -e: argv[1] is the first argument
const srv = net.createServer((s) => {
  let at = 0;
  const pump = () => { while (at < data.length) { const end = Math.min(data.length, at + ${READ}); const ok = s.write(data.subarray(at, end)); at = end; if (!ok) { s.once('drain', pump); return; } } s.end(); };
  pump();
});
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
`;

async function rawOnce(port: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = 0;
    s.on('data', (c: Buffer) => (got += c.length));
    s.on('end', () => (got === SIZE ? resolve() : reject(new Error(`raw stream delivered ${got} of ${SIZE}`))));
    s.on('error', reject);
  });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function rmmapOnce(port: number, into: boolean): Promise<number> {
  const m = await rmmap({ host: '127.0.0.1', port, path: 'big.bin' }, 0, SIZE, { writable: false, readahead: 8 * READ });
  const target = Buffer.alloc(READ);
  const t0 = process.hrtime.bigint();
  let got = 0;
  if (into) for (let at = 0; at < SIZE; at += READ) got += await m.readInto(at, target);
  else for (let at = 0; at < SIZE; at += READ) got += (await m.read(at, READ)).length;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await m.close();
  if (got !== SIZE) throw new Error(`rmmap read ${got} of ${SIZE}`);
  return ms;
}

async function main(): Promise<void> {
  const dir = scratch();
  const file = path.join(dir, 'big.bin');
  randomFile(file, SIZE);
  const daemon = await startRmmapd(dir);
  const raw = await startScript(rawServer, [file]);
  try {
    const ours: number[] = [];
    const oursInto: number[] = [];
    const theirs: number[] = [];
    await rmmapOnce(daemon.port, false); // warm-up: page cache of the file, JIT
    await rawOnce(Number(raw.line));
    // Interleaved, so load from elsewhere on the machine hits all alike.
    for (let r = 0; r < RUNS; r++) {
      ours.push(await rmmapOnce(daemon.port, false));
      oursInto.push(await rmmapOnce(daemon.port, true));
      theirs.push(await rawOnce(Number(raw.line)));
    }
    const best = (xs: number[]) => Math.min(...xs);
    const mbps = (ms: number) => (MB / (ms / 1000)).toFixed(0);
    table(
      ['scenario', 'rmmap MB/s', 'raw TCP MB/s', 'ratio (rmmap / raw TCP)'],
      [
        [`sequential read ${MB} MiB, 1 MiB m.read() (new Buffer each), best of ${RUNS}`, mbps(best(ours)), mbps(best(theirs)), (best(theirs) / best(ours)).toFixed(2)],
        [`sequential read ${MB} MiB, 1 MiB m.readInto() (reused Buffer), best of ${RUNS}`, mbps(best(oursInto)), mbps(best(theirs)), (best(theirs) / best(oursInto)).toFixed(2)],
      ],
    );
  } finally {
    daemon.child.kill('SIGTERM');
    raw.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
