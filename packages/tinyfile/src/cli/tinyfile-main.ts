import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { packageVersion, parseCommandLine, runCommand, sizeOption, UsageError } from '@shmkit/kit/cli';

import { compressBlock, decompressBlock } from '../codec/in-process';
import { queryStatus } from '../client/status';
import { TinyFile, type ConnectOptions, type FileResult } from '../client/tinyfile';
import { parseDaemonUid } from '../client/trusted-daemon';
import { defaultSocketPath } from '../protocol/socket-path';
import { human, progressBar } from './format';

export const TINYFILE_USAGE = `Usage:
  (every form also takes --daemon-uid UID)
  tinyfile [--socket PATH] compress FILE… [-o OUT] [--sync|--async] [--force]
  tinyfile [--socket PATH] decompress FILE… [-o OUT] [--sync|--async] [--force]
  tinyfile [--socket PATH] status [--json]
  tinyfile [--socket PATH] bench [--size SIZE] [--rounds N]
  tinyfile --help | --version

Options:
  --socket PATH      the daemon's socket
  --daemon-uid UID   trust a daemon running as UID
  -o, --output OUT   output file (one input only)
  --sync, --async    the client API used
  -f, --force        overwrite existing outputs
  --json             status as JSON
  --size SIZE        bench: bytes, or with a suffix k, M, G (multiples of 1024); default 1M
  --rounds N         bench: rounds (default 20)
  -h, --help         this text
  -V, --version      print the version

compress writes FILE.sz in the snappy framing format (readable by other snappy
tools); decompress reads it back (FILE.sz → FILE). "-" means stdin / stdout.
--sync uses the blocking client API, --async (default) the asynchronous one.
Outputs are created 0600 and never overwritten without --force.
Default socket: ${defaultSocketPath()}
A daemon running as another user is refused unless --daemon-uid (or
TINYFILE_DAEMON_UID) names its uid.`;

const PROGRESS_MIN = 8 * 1024 * 1024;

export const TINYFILE_OPTIONS = {
  socket: { type: 'string' },
  'daemon-uid': { type: 'string' },
  output: { type: 'string', short: 'o' },
  sync: { type: 'boolean' },
  async: { type: 'boolean' },
  force: { type: 'boolean', short: 'f' },
  json: { type: 'boolean' },
  size: { type: 'string' },
  rounds: { type: 'string' },
} as const;

export function tinyfileMain(argv: string[]): Promise<number> {
  return runCommand({ name: 'tinyfile', version: packageVersion('@shmkit/tinyfile', __dirname), help: TINYFILE_USAGE }, () => run(argv));
}

async function run(argv: string[]): Promise<number> {
  const { values, operands } = parseCommandLine(argv, { options: TINYFILE_OPTIONS });
  const [command, ...files] = operands;
  const daemonUid = values['daemon-uid'] !== undefined ? parseDaemonUid(values['daemon-uid'], '--daemon-uid') : parseDaemonUid(process.env['TINYFILE_DAEMON_UID'], 'TINYFILE_DAEMON_UID');
  const socket: Target = { socket: values.socket ?? defaultSocketPath(), ...(daemonUid !== undefined ? { daemonUid } : {}) };
  if (values.sync === true && values.async === true) throw new UsageError('--sync and --async exclude each other');
  switch (command) {
    case 'compress':
    case 'decompress':
      return transform(command, files, socket, values);
    case 'status':
      if (files.length > 0) throw new UsageError(`status takes no arguments, got ${files.join(' ')}`);
      return status(socket, values.json === true);
    case 'bench':
      return bench(socket, values.size, values.rounds);
    case undefined:
      throw new UsageError('missing command (compress, decompress, status or bench)');
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** Which daemon to talk to, and whom to trust there. */
type Target = Pick<ConnectOptions, 'daemonUid'> & { socket: string };

interface TransformFlags {
  output?: string | undefined;
  sync?: boolean | undefined;
  force?: boolean | undefined;
}

function outputFor(command: 'compress' | 'decompress', file: string, flags: TransformFlags, many: boolean): string {
  if (flags.output !== undefined) {
    if (many) throw new UsageError('-o takes one input file');
    return flags.output;
  }
  if (file === '-') return '-';
  if (command === 'compress') return `${file}.sz`;
  if (!file.endsWith('.sz')) throw new UsageError(`cannot name the output for ${file} (it does not end in .sz); give -o OUT`);
  return file.slice(0, -3);
}

async function transform(command: 'compress' | 'decompress', files: string[], socket: Target, flags: TransformFlags): Promise<number> {
  if (files.length === 0) throw new UsageError(`${command} needs at least one FILE`);
  const jobs = files.map((f) => ({ src: f, dst: outputFor(command, f, flags, files.length > 1) }));
  for (const j of jobs) {
    if (j.dst !== '-' && flags.force !== true && fs.existsSync(j.dst)) {
      process.stderr.write(`tinyfile: ${j.dst} exists; use --force to overwrite it\n`);
      return 1;
    }
  }
  const sync = flags.sync === true;
  const tf = sync ? TinyFile.connectSync(socket) : await TinyFile.connect(socket);
  try {
    for (const j of jobs) {
      const t0 = process.hrtime.bigint();
      let r: FileResult;
      if (j.src === '-' || j.dst === '-') {
        r = await viaStreams(tf, command, j.src, j.dst);
      } else {
        const tty = process.stderr.isTTY && fs.statSync(j.src).size >= PROGRESS_MIN;
        const onProgress = tty ? (done: number, total: number) => process.stderr.write(progressBar(j.src, done, total)) : undefined;
        const opts = onProgress === undefined ? {} : { onProgress };
        if (command === 'compress') r = sync ? tf.compressFileSync(j.src, j.dst, opts) : await tf.compressFile(j.src, j.dst, opts);
        else r = sync ? tf.decompressFileSync(j.src, j.dst, opts) : await tf.decompressFile(j.src, j.dst, opts);
        if (tty) process.stderr.write('\n');
      }
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const plain = command === 'compress' ? r.bytesIn : r.bytesOut;
      const ratio = r.bytesIn === 0 ? 0 : r.bytesOut / r.bytesIn;
      process.stderr.write(
        `${j.src} → ${j.dst}: ${human(r.bytesIn)} in, ${human(r.bytesOut)} out, ratio ${ratio.toFixed(3)}, ${(plain / 1e6 / Math.max(secs, 1e-6)).toFixed(1)} MB/s${sync ? ' (sync)' : ''}\n`,
      );
    }
  } finally {
    await tf.close();
  }
  return 0;
}

async function viaStreams(tf: TinyFile, command: 'compress' | 'decompress', src: string, dst: string): Promise<FileResult> {
  let bytesIn = 0;
  let bytesOut = 0;
  const input = src === '-' ? process.stdin : fs.createReadStream(src);
  const output = dst === '-' ? process.stdout : fs.createWriteStream(dst, { mode: 0o600 });
  input.on('data', (d: Buffer) => (bytesIn += d.length));
  const t = command === 'compress' ? tf.createCompressStream() : tf.createDecompressStream();
  t.on('data', (d: Buffer) => (bytesOut += d.length));
  await pipeline(input, t, output);
  return { bytesIn, bytesOut };
}

async function status(target: Target, json: boolean): Promise<number> {
  const s = await queryStatus(target.socket, 5000, target.daemonUid);
  if (json) {
    process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    return 0;
  }
  const lines = [
    `tinyd pid ${s.pid} on ${s.socket}, up ${(s.uptimeMs / 1000).toFixed(0)} s, codec ${s.codec}, ${s.workers} workers${s.qos ? ', qos' : ''}`,
    `segments: ${s.segments.used}/${s.segments.total} in use, ${human(s.segments.size)} each, ${s.segments.waitingClients} client(s) waiting`,
    `totals: ${s.totals.clients} clients served, ${s.totals.chunks} chunks, ${s.totals.failures} failed, ${human(s.totals.bytesIn)} in, ${human(s.totals.bytesOut)} out, ${(s.throughput / 1e6).toFixed(1)} MB/s now`,
    `clients: ${s.clients.length}`,
  ];
  if (s.clients.length > 0) {
    lines.push('  id     pid  prio  segs  in-flight  queued  chunks  failed  bytes-in  bytes-out');
    for (const c of s.clients) {
      lines.push(
        `  ${String(c.id).padStart(2)} ${String(c.pid).padStart(7)} ${String(c.priority).padStart(5)} ${String(c.segments).padStart(5)} ${String(c.inFlight).padStart(10)} ${String(c.queued).padStart(7)} ${String(c.chunks).padStart(7)} ${String(c.failures).padStart(7)} ${human(c.bytesIn).padStart(9)} ${human(c.bytesOut).padStart(10)}`,
      );
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** A quick check of this machine: tinyd against snappyjs in this process, on the same text. */
async function bench(socket: Target, sizeArg: string | undefined, roundsArg: string | undefined): Promise<number> {
  const size = sizeArg === undefined ? 1024 * 1024 : sizeOption('--size', sizeArg, { min: 1, max: 1024 ** 3 });
  const rounds = roundsArg === undefined ? 20 : Number(roundsArg);
  if (!Number.isInteger(rounds) || rounds < 1) throw new UsageError(`--rounds expects a positive integer, got "${roundsArg}"`);
  const data = sampleText(size);
  const tf = await TinyFile.connect(socket);
  try {
    const time = async (fn: () => unknown) => {
      await fn();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < rounds; i++) await fn();
      return Number(process.hrtime.bigint() - t0) / 1e9 / rounds;
    };
    const block = compressBlock(data);
    const local = await time(() => compressBlock(data));
    const remote = await time(() => tf.compress(data));
    const localD = await time(() => decompressBlock(block));
    const remoteD = await time(() => tf.decompress(block));
    const mbs = (s: number) => (size / 1e6 / s).toFixed(1);
    process.stdout.write(
      `${human(size)} × ${rounds}: compress tinyd ${mbs(remote)} MB/s vs in-process ${mbs(local)} MB/s (×${(local / remote).toFixed(2)}); ` +
        `decompress tinyd ${mbs(remoteD)} MB/s vs in-process ${mbs(localD)} MB/s (×${(localD / remoteD).toFixed(2)})\n`,
    );
  } finally {
    await tf.close();
  }
  return 0;
}

/** Deterministic, compressible text (words and numbers), like logs. */
export function sampleText(n: number): Buffer {
  const words = ['shared', 'memory', 'snappy', 'daemon', 'segment', 'doorbell', 'request', 'client', 'worker', 'queue'];
  const out = Buffer.allocUnsafe(n);
  let at = 0;
  let x = 12345;
  while (at < n) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const w = `${words[x % words.length]} ${x % 1000}${x % 7 === 0 ? '\n' : ' '}`;
    at += out.write(w, at);
  }
  return out;
}
