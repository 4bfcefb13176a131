#!/usr/bin/env node
// An HTTP server whose request counters and recent-request log live in the
// shared-memory file that shm-fd passes in, so they survive restarts:
//
//   shm-fd watch -n 0 --size 4M -- node server.js --port 8080
//
// Each run counts its start, every request, requests per path, and keeps the
// last 16 requests. Stop it (GET /exit, Ctrl-C, or kill -9) and shm-fd starts
// it again on the same memory: the numbers continue. `--layout 2` is "the
// next version of the code": its log entries also record the response time,
// and the stored log is migrated from layout 1 on the first start.
'use strict';

const http = require('node:http');

const { ShmState, t } = require('@shmkit/shm-state');

const USAGE = `usage: node server.js [--port N] [--host ADDR] [--layout 1|2] [--file PATH]
  --port    TCP port (default 8080; 0 picks a free one)
  --host    address to listen on (default 127.0.0.1)
  --layout  log entry layout version of this code (default 1)
  --file    use this file (e.g. /dev/shm/counters) instead of the fd from shm-fd`;

function parseArgs(argv) {
  const o = { port: 8080, host: '127.0.0.1', layout: 1, file: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (a === '--port' && v !== undefined && /^\d{1,5}$/.test(v) && Number(v) < 65536) {
      o.port = Number(v);
      i++;
    } else if (a === '--host' && v !== undefined) {
      o.host = v;
      i++;
    } else if (a === '--layout' && (v === '1' || v === '2')) {
      o.layout = Number(v);
      i++;
    } else if (a === '--file' && v !== undefined) {
      o.file = v;
      i++;
    } else {
      process.stderr.write(`counter-server: bad argument ${JSON.stringify(a)}\n${USAGE}\n`);
      process.exit(2);
    }
  }
  return o;
}

const ENTRY_V1 = t.struct({ at: t.f64, status: t.u16, path: t.bytes(48) });
const ENTRY_V2 = t.struct({ at: t.f64, status: t.u16, ms: t.f32, method: t.bytes(8), path: t.bytes(48) });
const LOG = 16;
const layouts = {
  1: t.struct({ next: t.u32, entries: t.array(ENTRY_V1, LOG) }),
  2: t.struct({ next: t.u32, entries: t.array(ENTRY_V2, LOG) }),
};

/** Layout 1 → 2: keep every entry, with an unknown method and duration. */
function migrate(old, next) {
  next.next = old.data.next;
  old.data.entries.forEach((e, i) => {
    const n = next.entries[i];
    n.at = e.at;
    n.status = e.status;
    n.path = e.path;
    n.method = '?';
    n.ms = -1;
  });
}

function text(buf) {
  const end = buf.indexOf(0);
  return buf.toString('utf8', 0, end < 0 ? buf.length : end);
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  let state;
  let starts, requests, routes, routesLock, log, logLock;
  try {
    state = opts.file === undefined ? ShmState.fromEnv({ size: 4 << 20 }) : ShmState.openFile(opts.file, { size: 4 << 20 });
    starts = state.counter64('starts');
    requests = state.counter64('requests');
    routes = state.hashMap('routes', { capacity: 256, keySize: 48, valueSize: 8 });
    routesLock = state.mutex('routes-lock');
    log = state.struct('recent', { layout: layouts[opts.layout], version: opts.layout, migrate: opts.layout === 2 ? migrate : undefined });
    logLock = state.mutex('recent-lock');
  } catch (err) {
    // Bad or foreign state is reported, never used: say what and exit.
    process.stderr.write(`counter-server: ${err.message} (${err.code ?? 'error'})\n`);
    state?.close();
    process.exit(1);
  }
  const run = starts.increment();
  if (log.migratedFrom !== null) process.stdout.write(`migrated the request log from layout ${log.migratedFrom} to ${opts.layout}\n`);

  function record(req, status, t0) {
    requests.increment();
    // Keys and log fields hold 48 bytes.
    const path = Buffer.from((req.url ?? '/').split('?')[0]).subarray(0, 48);
    // Per-path counts: read-modify-write of a map value, so under a lock
    // (the map's own lock only covers single writes).
    routesLock.withLockSync((g) => {
      if (g.ownerDead) g.markConsistent(); // a count may be one short; nothing else to repair
      const old = routes.get(path);
      const v = Buffer.alloc(8);
      v.writeBigUInt64LE((old === undefined ? 0n : old.readBigUInt64LE(0)) + 1n);
      routes.set(path, v);
    });
    logLock.withLockSync((g) => {
      if (g.ownerDead) g.markConsistent();
      const view = log.view;
      const e = view.entries[view.next % LOG];
      e.at = Date.now();
      e.status = status;
      e.path = path;
      if (opts.layout === 2) {
        e.method = (req.method ?? '').slice(0, 8);
        e.ms = performance.now() - t0;
      }
      view.next = (view.next + 1) >>> 0;
    });
  }

  function stats() {
    const r = {};
    for (const [k, v] of routes.entries()) r[k.toString()] = Number(v.readBigUInt64LE(0));
    const view = log.view;
    const recent = [];
    for (let i = Math.max(0, view.next - LOG); i < view.next; i++) {
      const e = view.entries[i % LOG];
      const item = { at: e.at, status: e.status, path: text(e.path) };
      if (opts.layout === 2) Object.assign(item, { method: text(e.method), ms: e.ms });
      recent.push(item);
    }
    return { pid: process.pid, run, starts: starts.value, requests: requests.value, layout: opts.layout, routes: r, recent };
  }

  const server = http.createServer((req, res) => {
    const t0 = performance.now();
    const path = (req.url ?? '/').split('?')[0];
    let status = 200;
    let body;
    if (path === '/stats') {
      record(req, status, t0);
      body = JSON.stringify(stats());
      res.setHeader('content-type', 'application/json');
    } else if (path === '/exit') {
      record(req, status, t0);
      body = 'bye\n';
      res.once('finish', () => shutdown());
    } else {
      status = path.length > 48 ? 414 : 200;
      record(req, status, t0);
      body = status === 200 ? `hello from run ${run}, request ${requests.value}\n` : 'path too long\n';
    }
    res.statusCode = status;
    res.end(body);
  });

  let closing = false;
  function shutdown() {
    if (closing) return;
    closing = true;
    server.close(() => {
      state.close();
      process.exitCode = 0;
    });
    server.closeAllConnections();
  }
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  server.on('error', (err) => {
    process.stderr.write(`counter-server: cannot listen on ${opts.host}:${opts.port}: ${err.message} (${err.code})\n`);
    state.close();
    process.exitCode = 1;
  });
  server.listen(opts.port, opts.host, () => {
    const { port } = server.address();
    process.stdout.write(`run ${run} (pid ${process.pid}) listening on http://${opts.host}:${port}\n`);
  });
}

main();
