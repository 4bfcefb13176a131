// Push 256 MiB to 1 and 3 receivers: rmmap's sendfile push against Node's
// createReadStream().pipe(socket), same file, same machine, same run.
// Receivers run in their own processes, so process.cpuUsage() here is the
// sender alone. Runs once with the files in /var/tmp (a disk filesystem)
// and once in /dev/shm (tmpfs). Knobs: PUSH_BENCH_MB (256), PUSH_BENCH_RUNS
// (6), PUSH_BENCH_DIR (measure this directory only).
//   tsx bench/push.bench.ts            (build first: it runs dist/, like users)
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { Worker } from 'node:worker_threads';

import type { pushFile as pushFileType, PushOptions } from '../src';
import { killedAtExit, removedAtExit } from '@shmkit/kit/bench';

const pkgDir = path.resolve(__dirname, '..');
const distPush = path.join(pkgDir, 'dist', 'src', 'index.js');
const shmPushBin = path.join(pkgDir, 'dist', 'bin', 'shm-push.js');

interface Sample {
  /** Mean over receivers of size / (connect → verdict). */
  mbps: number;
  /** Sender process CPU, user + system, all threads. */
  cpuMs: number;
  wallMs: number;
}

async function main(): Promise<void> {
  const role = process.argv[2];
  if (role === '--stream-receiver') return streamReceiver(process.argv[3] ?? os.tmpdir(), undefined);
  if (role === '--stream-receiver-sha256') return streamReceiver(process.argv[3] ?? os.tmpdir(), 'sha256');
  if (role === '--stream-receiver-crc32') return streamReceiver(process.argv[3] ?? os.tmpdir(), 'crc32');
  if (role === '--discard-receiver') return discardReceiver();
  if (!fs.existsSync(distPush)) throw new Error(`${distPush} is missing: build first (pnpm --filter @shmkit/push build)`);
  // The built code, as users run it (worker threads load dist/ too).
  const { pushFile } = require(distPush) as { pushFile: typeof pushFileType };
  const mb = Number(process.env['PUSH_BENCH_MB'] ?? 256);
  const runs = Number(process.env['PUSH_BENCH_RUNS'] ?? 6);
  for (const dir of benchDirs()) await benchDir(pushFile, dir, mb, runs);
}

/**
 * Where the files live. A push's cost is mostly page-cache work on both
 * sides, which differs by filesystem: disk filesystems (ext4, xfs) keep
 * large folios, tmpfs 4 KiB pages. So both are measured: /var/tmp (a disk
 * filesystem on every FHS system; nothing is fsynced, so the disk itself is
 * hardly touched) and /dev/shm. PUSH_BENCH_DIR=DIR measures one directory.
 */
function benchDirs(): string[] {
  const one = process.env['PUSH_BENCH_DIR'];
  if (one !== undefined) return [one];
  return ['/var/tmp', '/dev/shm', os.tmpdir()].filter((d, i, all) => fs.existsSync(d) && all.indexOf(d) === i).slice(0, 2);
}

const FS_NAMES: Record<number, string> = { 0xef53: 'ext4', 0x01021994: 'tmpfs', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x794c7630: 'overlayfs' };

async function benchDir(pushFile: typeof pushFileType, dir: string, mb: number, runs: number): Promise<void> {
  const base = removedAtExit(fs.mkdtempSync(path.join(dir, 'rmmap-push-bench-')));
  const fsType = fs.statfsSync(dir).type;
  const fsName = FS_NAMES[fsType] ?? `fs 0x${fsType.toString(16)}`;
  const children: ChildProcess[] = [];
  try {
    const file = path.join(base, 'payload.bin');
    writeRandom(file, mb * 1024 * 1024);
    const size = fs.statSync(file).size;
    const rows: string[] = [];
    const transportRows: string[] = [];
    for (const n of [1, 3]) {
      const ours = await Promise.all(Array.from({ length: n }, (_, i) => startReceiver(children, [shmPushBin, 'receive', '--port', '0', '--dir', mkdir(base, `ours-${n}-${i}`), '--overwrite', '--quiet'])));
      const theirs = await Promise.all(Array.from({ length: n }, (_, i) => startReceiver(children, [__filename, '--stream-receiver', mkdir(base, `stream-${n}-${i}`)], true)));
      const hashed = await Promise.all(
        Array.from({ length: n }, (_, i) => startReceiver(children, [__filename, '--stream-receiver-sha256', mkdir(base, `stream-sha-${n}-${i}`)], true)),
      );
      const crced = await Promise.all(
        Array.from({ length: n }, (_, i) => startReceiver(children, [__filename, '--stream-receiver-crc32', mkdir(base, `stream-crc-${n}-${i}`)], true)),
      );
      const push = (options: PushOptions) => async () => {
        const res = await pushFile(file, ours, options);
        if (!res.ok) throw new Error(`push failed: ${JSON.stringify(res.receivers)}`);
        return res.receivers.map((x) => x.ms);
      };
      const methods: Array<[string, () => Promise<number[]>]> = [
        ['sendfile push, xxh64 (the default)', push({})],
        ['sendfile push, crc32', push({ checksum: 'crc32' })],
        ['sendfile push, sha256', push({ checksum: 'sha256' })],
        ...(n > 1 ? ([[`sendfile push, xxh64, ${n} sender threads`, push({ senderThreads: n })]] as Array<[string, () => Promise<number[]>]>) : []),
        ['createReadStream().pipe(socket) + crc32 both ends', () => Promise.all(crced.map((d) => streamSend(file, d, 'crc32')))],
        ['createReadStream().pipe(socket) + sha256 both ends', () => Promise.all(hashed.map((d) => streamSend(file, d, 'sha256')))],
        ['createReadStream().pipe(socket)', () => Promise.all(theirs.map((d) => streamSend(file, d, undefined)))],
      ];
      const samples = methods.map((): Sample[] => []);
      // Interleaved so that drift (other load on the machine) hits all alike,
      // and rotated: a method's figures were seen to depend on which one ran
      // just before it (one run put the default push at 143 MB/s in first
      // place and 317 MB/s in another order), so each round starts one later.
      for (let r = 0; r < runs; r++) {
        for (let k = 0; k < methods.length; k++) {
          const i = (r + k) % methods.length;
          await settle(children);
          samples[i]?.push(await measure(size, methods[i]![1]));
        }
      }
      const baseline = median(samples[samples.length - 1] ?? []);
      for (const [i, [label]] of methods.entries()) {
        const s = median(samples[i] ?? []);
        rows.push(`| ${n} | ${label} | ${s.mbps.toFixed(0)} | **${(s.mbps / baseline.mbps).toFixed(2)}×** | ${s.cpuMs.toFixed(0)} | **${(baseline.cpuMs / s.cpuMs).toFixed(2)}×** |`);
      }

      // The transport alone, as a C program would measure it: receivers that
      // count and discard the bytes, senders without protocol or checksum.
      const sinks = await Promise.all(Array.from({ length: n }, () => startReceiver(children, [__filename, '--discard-receiver'], true)));
      const transport: Array<[string, () => Promise<number[]>]> = [
        ['non-blocking sendfile, one poll(2) loop in one thread (as pushFile)', () => sendfileStrategy('poll', file, size, sinks)],
        ['blocking sendfile (SO_SNDTIMEO 30 s), one thread per receiver', () => sendfileStrategy('blocking', file, size, sinks)],
        ['createReadStream().pipe(socket)', () => Promise.all(sinks.map((d) => rawStream(file, size, d)))],
      ];
      const transportSamples = transport.map((): Sample[] => []);
      for (let r = 0; r < runs; r++) {
        for (let k = 0; k < transport.length; k++) {
          const i = (r + k) % transport.length;
          await settle(children);
          transportSamples[i]?.push(await measure(size, transport[i]![1]));
        }
      }
      const pipe = median(transportSamples[transportSamples.length - 1] ?? []);
      for (const [i, [label]] of transport.entries()) {
        const t = median(transportSamples[i] ?? []);
        transportRows.push(`| ${n} | ${label} | ${t.mbps.toFixed(0)} | **${(t.mbps / pipe.mbps).toFixed(2)}×** | ${t.cpuMs.toFixed(0)} | **${(pipe.cpuMs / t.cpuMs).toFixed(2)}×** |`);
      }
    }
    const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
    process.stdout.write(
      [
        `push of ${mb} MiB, median of ${runs} runs — Node ${process.version}, ${cpu} (${os.cpus().length} cores), files in ${dir} (${fsName})`,
        '',
        '| receivers | method | MB/s per receiver | throughput vs stream | sender CPU ms | stream CPU ÷ this CPU |',
        '|---:|---|---:|---:|---:|---:|',
        ...rows,
        '',
        'sendfile push = rmmap pushFile: connect, header, READY, sendfile(2) from worker thread(s), checksum trailer; the receiver reads the socket into memory, hashes it there (xxh64, crc32) and writes a temp file, or splices into it and hashes the file (sha256), then verifies, renames, replies. MB/s per receiver = size ÷ (connect → verified reply); CPU = process.cpuUsage() of the sender (all threads), including the sender-side checksum; sender threads are kept between pushes, as in any process that pushes more than once, so only the first push of a run pays for starting one (≈ 80 ms of CPU, which the median leaves out).',
        'createReadStream().pipe(socket) = one read stream per receiver, no verification; the receiver (also a separate process) pipes into fs.createWriteStream and sends one byte once the file is written. "+ crc32/sha256 both ends": both sides also hash the stream and the receiver acks with its digest (the guarantee the push gives). Ratios are against the plain, unverified pipe.',
        'Methods take turns, each round starting one later; every sample starts once the receivers and the sender\'s threads are idle (no sample pays for the one before it freeing its file); each figure is the median of its own samples.',
        '',
        'Transport only (no protocol, no checksum, no file at the receiver: receivers count and discard the bytes, then ack):',
        '',
        '| receivers | method | MB/s per receiver | throughput vs pipe | sender CPU ms | pipe CPU ÷ this CPU |',
        '|---:|---|---:|---:|---:|---:|',
        ...transportRows,
        '',
        'The sendfile rows run in worker threads on sockets made through the libc layer (the blocking variant needs sockets libuv does not also drive); MB/s counts from connect to the ack, CPU includes the threads\' start-up.',
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
  const argv = viaTsx ? ['-r', 'tsx/cjs', ...args] : args;
  const child = killedAtExit(spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] }));
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

/** CPU time (ns) used so far by the threads of `pid` (all but `skip`), from /proc/PID/task/TID/schedstat. */
function cpuNs(pid: number, skip?: string): number {
  let ns = 0;
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0; // gone
  }
  for (const tid of tids) {
    if (tid === skip) continue;
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between readdir and read
    }
  }
  return ns;
}

/**
 * Waits until the receivers and this process are idle (under 1 ms of CPU in
 * 50 ms; at most 3 s), so that no sample pays for the tail of the one
 * before it: a receiver freeing the 256 MiB file it just replaced or
 * deleted costs ~35 ms of CPU after its reply, and on two cores that landed
 * in whichever method ran next.
 */
async function settle(children: ChildProcess[]): Promise<void> {
  const pids = children.map((c) => c.pid).filter((p): p is number => p !== undefined);
  // This process's main thread is the one reading /proc here: only its other threads count.
  const total = () => pids.reduce((s, p) => s + cpuNs(p), cpuNs(process.pid, String(process.pid)));
  const giveUp = Date.now() + 3000;
  let before = total();
  while (Date.now() < giveUp) {
    await new Promise((r) => setTimeout(r, 50));
    const now = total();
    if (now - before < 1e6) return;
    before = now;
  }
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

/** The median of each figure on its own. */
function median(xs: Sample[]): Sample {
  const mid = (f: (s: Sample) => number) => {
    const sorted = xs.map(f).sort((p, q) => p - q);
    return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  };
  return { mbps: mid((s) => s.mbps), cpuMs: mid((s) => s.cpuMs), wallMs: mid((s) => s.wallMs) };
}

/**
 * The baseline a user would write: pipe the file into the socket, wait for
 * the receiver's ack. With `verify`, both ends also hash the stream and the
 * receiver acks with its sha256, which the sender compares (the same
 * guarantee the push gives).
 */
function streamSend(file: string, dest: string, verify: 'sha256' | 'crc32' | undefined): Promise<number> {
  const [host, port] = dest.split(':') as [string, string];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const h = verify === undefined ? undefined : hasher(verify);
    const socket = net.connect({ host, port: Number(port) }, () => {
      const rs = fs.createReadStream(file);
      if (h !== undefined) rs.on('data', (d) => h.update(d as Buffer));
      rs.pipe(socket);
    });
    let ack = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      ack = Buffer.concat([ack, d]);
      if (ack.length < (h === undefined ? 1 : verify === 'crc32' ? 4 : 32)) return;
      socket.destroy();
      if (h !== undefined && !h.digest().equals(ack)) reject(new Error('checksum mismatch'));
      else resolve(performance.now() - t0);
    });
    socket.once('error', reject);
  });
}

// zlib.crc32 exists since Node 20.15; @types/node 20.11 does not know it.
const crc32 = (zlib as unknown as { crc32: (data: Uint8Array, value?: number) => number }).crc32;

/** What a user would write to hash a stream: crypto's sha256, or zlib.crc32 folded over the chunks. */
function hasher(kind: 'sha256' | 'crc32'): { update(d: Buffer): void; digest(): Buffer } {
  if (kind === 'sha256') return crypto.createHash('sha256');
  let value = 0;
  return {
    update: (d) => {
      value = crc32(d, value);
    },
    digest: () => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(value >>> 0);
      return out;
    },
  };
}

/** Baseline receiver: socket.pipe(createWriteStream); acks once the file is written (with its digest if `verify`). */
function streamReceiver(dir: string, verify: 'sha256' | 'crc32' | undefined): void {
  let n = 0;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const file = path.join(dir, `file-${n++}`);
    const out = fs.createWriteStream(file, { mode: 0o600 });
    const h = verify === undefined ? undefined : hasher(verify);
    if (h !== undefined) socket.on('data', (d: Buffer) => h.update(d));
    socket.pipe(out);
    out.once('finish', () => {
      socket.end(h === undefined ? 'K' : h.digest());
      // Timed already; a new 256 MiB tmpfs file per run would otherwise pile
      // up (rmmap's receivers replace theirs) and tax whatever runs next.
      fs.unlink(file, () => undefined);
    });
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

/**
 * The two ways to keep sendfile(2) off the event loop, measured against each
 * other: one thread driving every socket non-blocking from a poll(2) loop
 * (what pushFile does), or one thread per receiver blocking in sendfile.
 * Sockets come from the libc layer so that clearing O_NONBLOCK cannot
 * disturb libuv. Resolves with each receiver's connect → ack time.
 */
function sendfileStrategy(mode: 'poll' | 'blocking', file: string, size: number, dests: string[]): Promise<number[]> {
  const parsed = dests.map((d) => {
    const [host, port] = d.split(':') as [string, string];
    return { host, port: Number(port) };
  });
  const groups = mode === 'poll' ? [parsed] : parsed.map((d) => [d]);
  return Promise.all(
    groups.map(
      (group) =>
        new Promise<number[]>((resolve, reject) => {
          const w = new Worker(SENDFILE_THREAD, { eval: true, execArgv: [], workerData: { mode, file, size, dests: group, sysPath: require.resolve('@shmkit/shm-fd/sys') } });
          w.once('message', (ms: number[]) => resolve(ms));
          w.once('error', reject);
        }),
    ),
  ).then((all) => all.flat());
}

const SENDFILE_THREAD = `
const { parentPort, workerData: w } = require('node:worker_threads');
const fs = require('node:fs');
const sys = require(w.sysPath);
const C = sys.constants;
const L = sys.libc();
const EAGAIN = 11;
function connect(host, port) {
  const fd = sys.check(L.socket(2 /* AF_INET */, C.SOCK_STREAM | C.SOCK_CLOEXEC, 0), 'socket', 'bench socket');
  const s = sys.getScratch();
  // struct sockaddr_in: family (host order), port (network order), IPv4 address, zero padding.
  s.buf.fill(0, 1024, 1040);
  s.buf.writeUInt16LE(2, 1024);
  s.buf.writeUInt16BE(port, 1026);
  host.split('.').forEach((x, i) => s.buf.writeUInt8(Number(x), 1028 + i));
  sys.check(L.connect(fd, s.addr + 1024, 16), 'connect', 'bench connect');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64BE(BigInt(w.size));
  prefix.copy(s.buf, 2048);
  if (sys.check(L.write(fd, s.addr + 2048, 8), 'write', 'bench prefix') !== 8) throw new Error('short write');
  return fd;
}
function readAck(fd) {
  const s = sys.getScratch();
  for (;;) {
    const r = L.read(fd, s.addr + 3072, 1);
    if (r.value === 1) return;
    if (r.value === -1 && r.errno === EAGAIN) { sys.poll([{ fd, events: C.POLLIN }], 1000); continue; }
    throw new Error('no ack (read returned ' + r.value + ', errno ' + r.errno + ')');
  }
}
const file = fs.openSync(w.file, 'r');
const t0 = performance.now();
const fds = w.dests.map((d) => connect(d.host, d.port));
const ms = [];
if (w.mode === 'blocking') {
  const fd = fds[0];
  // What a production version needs: a receiver that stops reading must not
  // hold this thread forever (sendfile returns EAGAIN after 30 s without progress).
  sys.setSendTimeout(fd, 30000);
  for (let off = 0; off < w.size; ) {
    const n = sys.sendfile(fd, file, off, w.size - off);
    if (n === null) throw new Error('the receiver took no data for 30 s');
    off += n;
  }
  readAck(fd);
  ms.push(performance.now() - t0);
} else {
  for (const fd of fds) sys.fcntl(fd, 4 /* F_SETFL */, sys.fcntl(fd, C.F_GETFL) | C.O_NONBLOCK);
  const offs = fds.map(() => 0);
  while (offs.some((o) => o < w.size)) {
    const live = fds.map((fd, i) => ({ fd, i })).filter((x) => offs[x.i] < w.size);
    const rev = sys.poll(live.map((x) => ({ fd: x.fd, events: C.POLLOUT })), 1000);
    live.forEach((x, k) => {
      if (!rev[k]) return;
      const n = sys.sendfile(x.fd, file, offs[x.i], w.size - offs[x.i]);
      if (n !== null) offs[x.i] += n;
    });
  }
  for (const fd of fds) { readAck(fd); ms.push(performance.now() - t0); }
}
for (const fd of fds) sys.close(fd);
fs.closeSync(file);
parentPort.postMessage(ms);
`;

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
