// Push 256 MiB to 1 and 3 receivers: rmmap's sendfile push against Node's
// createReadStream().pipe(socket), same file, same machine, same run.
// Receivers run in their own processes, so process.cpuUsage() here is the
// sender alone. Knobs: PUSH_BENCH_MB (256), PUSH_BENCH_RUNS (3),
// PUSH_BENCH_DIR (a tmpfs dir, default /dev/shm: the disk is not measured).
//   tsx bench/push.bench.ts            (build first: it runs dist/, like users)
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

const pkgDir = path.resolve(__dirname, '..');
const distPush = path.join(pkgDir, 'dist', 'src', 'push', 'index.js');
const rmmapBin = path.join(pkgDir, 'dist', 'bin', 'rmmap.js');

interface Sample {
  /** Mean over receivers of size / (connect → verdict). */
  mbps: number;
  /** Sender process CPU, user + system, all threads. */
  cpuMs: number;
  wallMs: number;
}

async function main(): Promise<void> {
  const role = process.argv[2];
  if (role === '--stream-receiver') return streamReceiver(process.argv[3] ?? os.tmpdir(), false);
  if (role === '--stream-receiver-sha256') return streamReceiver(process.argv[3] ?? os.tmpdir(), true);
  if (role === '--discard-receiver') return discardReceiver();
  if (!fs.existsSync(distPush)) throw new Error(`${distPush} is missing: build first (pnpm --filter @shmkit/rmmap build)`);
  const { pushFile } = require(distPush) as typeof import('../src/push');
  type PushOptions = import('../src/push').PushOptions;
  const mb = Number(process.env['PUSH_BENCH_MB'] ?? 256);
  const runs = Number(process.env['PUSH_BENCH_RUNS'] ?? 3);
  const base = fs.mkdtempSync(path.join(process.env['PUSH_BENCH_DIR'] ?? (fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir()), 'rmmap-push-bench-'));
  const children: ChildProcess[] = [];
  try {
    const file = path.join(base, 'payload.bin');
    writeRandom(file, mb * 1024 * 1024);
    const size = fs.statSync(file).size;
    const rows: string[] = [];
    const transportRows: string[] = [];
    for (const n of [1, 3]) {
      const ours = await Promise.all(Array.from({ length: n }, (_, i) => startReceiver(children, [rmmapBin, 'receive', '--port', '0', '--dir', mkdir(base, `ours-${n}-${i}`), '--overwrite', '--quiet'])));
      const theirs = await Promise.all(Array.from({ length: n }, (_, i) => startReceiver(children, [__filename, '--stream-receiver', mkdir(base, `stream-${n}-${i}`)], true)));
      const hashed = await Promise.all(
        Array.from({ length: n }, (_, i) => startReceiver(children, [__filename, '--stream-receiver-sha256', mkdir(base, `stream-sha-${n}-${i}`)], true)),
      );
      const push = (options: PushOptions) => async () => {
        const res = await pushFile(file, ours, options);
        if (!res.ok) throw new Error(`push failed: ${JSON.stringify(res.receivers)}`);
        return res.receivers.map((x) => x.ms);
      };
      const methods: Array<[string, () => Promise<number[]>]> = [
        ['sendfile push, sha256', push({})],
        ['sendfile push, crc32', push({ checksum: 'crc32' })],
        ...(n > 1 ? ([[`sendfile push, sha256, ${n} sender threads`, push({ senderThreads: n })]] as Array<[string, () => Promise<number[]>]>) : []),
        ['createReadStream().pipe(socket) + sha256 both ends', () => Promise.all(hashed.map((d) => streamSend(file, d, true)))],
        ['createReadStream().pipe(socket)', () => Promise.all(theirs.map((d) => streamSend(file, d, false)))],
      ];
      const samples = methods.map((): Sample[] => []);
      // Interleaved so that drift (other load on the machine) hits all alike.
      for (let r = 0; r < runs; r++) {
        for (const [i, [, op]] of methods.entries()) samples[i]?.push(await measure(size, op));
      }
      const baseline = median(samples[samples.length - 1] ?? []);
      for (const [i, [label]] of methods.entries()) {
        const s = median(samples[i] ?? []);
        rows.push(`| ${n} | ${label} | ${s.mbps.toFixed(0)} | **${(s.mbps / baseline.mbps).toFixed(2)}×** | ${s.cpuMs.toFixed(0)} | **${(baseline.cpuMs / s.cpuMs).toFixed(2)}×** |`);
      }

      // The transport alone, as in the C measurement: receivers that
      // count and discard the bytes, senders without protocol or checksum.
      const sinks = await Promise.all(Array.from({ length: n }, () => startReceiver(children, [__filename, '--discard-receiver'], true)));
      const raw: Array<() => Promise<number[]>> = [() => rawSendfile(file, size, sinks), () => Promise.all(sinks.map((d) => rawStream(file, size, d)))];
      const rawSamples = raw.map((): Sample[] => []);
      for (let r = 0; r < runs; r++) {
        for (const [i, op] of raw.entries()) rawSamples[i]?.push(await measure(size, op));
      }
      const [sf, st] = rawSamples.map((x) => median(x)) as [Sample, Sample];
      transportRows.push(
        `| ${n} | ${sf.mbps.toFixed(0)} | ${st.mbps.toFixed(0)} | **${(sf.mbps / st.mbps).toFixed(2)}×** | ${sf.cpuMs.toFixed(0)} | ${st.cpuMs.toFixed(0)} | **${(st.cpuMs / sf.cpuMs).toFixed(2)}×** |`,
      );
    }
    const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
    process.stdout.write(
      [
        `push of ${mb} MiB, median of ${runs} runs — Node ${process.version}, ${cpu} (${os.cpus().length} cores), receivers writing to ${path.dirname(base)}`,
        '',
        '| receivers | method | MB/s per receiver | throughput vs stream | sender CPU ms | stream CPU ÷ this CPU |',
        '|---:|---|---:|---:|---:|---:|',
        ...rows,
        '',
        'sendfile push = rmmap pushFile: connect, header, READY, sendfile(2) from worker thread(s), checksum trailer, the receiver splices into a temp file, verifies, renames, replies. MB/s per receiver = size ÷ (connect → verified reply); CPU = process.cpuUsage() of the sender (all threads), including the sender-side checksum and thread start-up.',
        'createReadStream().pipe(socket) = one read stream per receiver, no verification; the receiver (also a separate process) pipes into fs.createWriteStream and sends one byte once the file is written. "+ sha256 both ends": both sides also hash the stream and the receiver acks with its digest (the guarantee the push gives). Ratios are against the plain pipe.',
        '',
        'Transport only (no protocol, no checksum, no file at the receiver: receivers count and discard the bytes, then ack):',
        '',
        '| receivers | sendfile(2) MB/s per receiver | createReadStream().pipe(socket) MB/s per receiver | ratio | sendfile sender CPU ms | pipe sender CPU ms | pipe CPU ÷ sendfile CPU |',
        '|---:|---:|---:|---:|---:|---:|---:|',
        ...transportRows,
        '',
      ].join('\n'),
    );
  } finally {
    for (const c of children) c.kill('SIGKILL');
    fs.rmSync(base, { recursive: true, force: true });
  }
}

function mkdir(base: string, name: string): string {
  const d = path.join(base, name);
  fs.mkdirSync(d);
  return d;
}

function writeRandom(file: string, bytes: number): void {
  const fd = fs.openSync(file, 'w', 0o600);
  const chunk = crypto.randomBytes(8 * 1024 * 1024);
  for (let at = 0; at < bytes; at += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - at));
  fs.closeSync(fd);
}

/** Spawns a receiver process and resolves with its HOST:PORT from the readiness line. */
function startReceiver(children: ChildProcess[], args: string[], viaTsx = false): Promise<string> {
  const argv = viaTsx ? ['--import', 'tsx', ...args] : args;
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /(\d+\.\d+\.\d+\.\d+:\d+)/.exec(out);
      if (m?.[1] !== undefined) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`receiver exited (${code}) before listening: ${out}`)));
  });
}

async function measure(size: number, op: () => Promise<number[]>): Promise<Sample> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const perReceiverMs = await op();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const mean = perReceiverMs.reduce((s, ms) => s + size / 1e6 / (ms / 1000), 0) / perReceiverMs.length;
  return { mbps: mean, cpuMs: (c.user + c.system) / 1000, wallMs };
}

function median(xs: Sample[]): Sample {
  const sorted = [...xs].sort((p, q) => p.wallMs - q.wallMs);
  return sorted[Math.floor(sorted.length / 2)] as Sample;
}

/**
 * The baseline a user would write: pipe the file into the socket, wait for
 * the receiver's ack. With `verify`, both ends also hash the stream and the
 * receiver acks with its sha256, which the sender compares (the same
 * guarantee the push gives).
 */
function streamSend(file: string, dest: string, verify: boolean): Promise<number> {
  const [host, port] = dest.split(':') as [string, string];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const h = verify ? crypto.createHash('sha256') : undefined;
    const socket = net.connect({ host, port: Number(port) }, () => {
      const rs = fs.createReadStream(file);
      if (h !== undefined) rs.on('data', (d) => h.update(d));
      rs.pipe(socket);
    });
    let ack = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      ack = Buffer.concat([ack, d]);
      if (ack.length < (h === undefined ? 1 : 32)) return;
      socket.destroy();
      if (h !== undefined && !h.digest().equals(ack)) reject(new Error('checksum mismatch'));
      else resolve(performance.now() - t0);
    });
    socket.once('error', reject);
  });
}

/** Baseline receiver: socket.pipe(createWriteStream); acks once the file is written (with its sha256 if `verify`). */
function streamReceiver(dir: string, verify: boolean): void {
  let n = 0;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const out = fs.createWriteStream(path.join(dir, `file-${n++}`), { mode: 0o600 });
    const h = verify ? crypto.createHash('sha256') : undefined;
    if (h !== undefined) socket.on('data', (d: Buffer) => h.update(d));
    socket.pipe(out);
    out.once('finish', () => socket.end(h === undefined ? 'K' : h.digest()));
  });
  server.listen(0, '127.0.0.1', () => {
    const a = server.address() as net.AddressInfo;
    process.stdout.write(`listening on ${a.address}:${a.port}\n`);
  });
}

/** Connects and sends the 8-byte size prefix the discarding receiver expects. */
function openSink(dest: string, size: number): Promise<net.Socket> {
  const [host, port] = dest.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: Number(port) }, () => {
      const prefix = Buffer.alloc(8);
      prefix.writeBigUInt64BE(BigInt(size));
      socket.write(prefix, () => resolve(socket));
    });
    socket.once('error', reject);
  });
}

function acked(socket: net.Socket, t0: number): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once('data', () => {
      socket.destroy();
      resolve(performance.now() - t0);
    });
    socket.once('error', reject);
  });
}

/** Non-blocking sendfile(2) to every sink from one poll(2) loop on this thread (the bench does nothing else meanwhile). */
async function rawSendfile(file: string, size: number, dests: string[]): Promise<number[]> {
  const t0 = performance.now();
  const fd = fs.openSync(file, 'r');
  try {
    const sockets = await Promise.all(dests.map((d) => openSink(d, size)));
    const acks = sockets.map((s) => acked(s, t0));
    const fds = sockets.map((s) => (s as unknown as { _handle: { fd: number } })._handle.fd);
    const offsets = fds.map(() => 0);
    while (offsets.some((o) => o < size)) {
      const live = fds.map((f, i) => ({ f, i })).filter((x) => (offsets[x.i] ?? size) < size);
      const rev = sys.poll(live.map((x) => ({ fd: x.f, events: sys.constants.POLLOUT })), 1000);
      live.forEach((x, k) => {
        if ((rev[k] ?? 0) === 0) return;
        const at = offsets[x.i] ?? 0;
        const n = sys.sendfile(x.f, fd, at, size - at);
        if (n !== null) offsets[x.i] = at + n;
      });
    }
    return await Promise.all(acks);
  } finally {
    fs.closeSync(fd);
  }
}

function rawStream(file: string, size: number, dest: string): Promise<number> {
  const t0 = performance.now();
  return openSink(dest, size).then((socket) => {
    const done = acked(socket, t0);
    fs.createReadStream(file).pipe(socket);
    return done;
  });
}

/** Counts the bytes announced by an 8-byte prefix, drops them, acks with one byte. */
function discardReceiver(): void {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    let expected = -1;
    let got = 0;
    let head = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      if (expected < 0) {
        head = Buffer.concat([head, d]);
        if (head.length < 8) return;
        expected = Number(head.readBigUInt64BE(0));
        got = head.length - 8;
      } else {
        got += d.length;
      }
      if (got >= expected) socket.end('K');
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const a = server.address() as net.AddressInfo;
    process.stdout.write(`listening on ${a.address}:${a.port}\n`);
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
