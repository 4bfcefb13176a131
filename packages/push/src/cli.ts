// The `shm-push` command: `shm-push send` and `shm-push receive`.
import fs from 'node:fs';
import path from 'node:path';

import { formatDuration, formatSize, packageVersion, parseCommandLine, parseDuration, parseSize, runCommand, stdio, UsageError, type Io, type OptionSpecs } from '@shmkit/kit/cli';
import { activatedSocket, DaemonLogger, type LogLevel, parseLogFormat, parseLogLevel, ServiceNotifier } from '@shmkit/shm-fd';

import { CHECKSUM_NAMES, isChecksumName, MAX_SIZE } from './constants';
import { parseDestination } from './destination';
import { PushError, systemCode } from './errors';
import { DEFAULT_HEADER_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CONCURRENT, DEFAULT_MAX_SIZE } from './limits';
import { nameProblem } from './names';
import { ReceiveLog } from './receive-log';
import { PushReceiver, type RefusedEvent } from './receiver';
import { pushFile, type ReceiverProgress } from './send';

export const USAGE = `Usage:
  shm-push send [--name NAME] [--checksum xxh64|crc32|sha256] [--token-file F]
             [--quiet]
             FILE HOST:PORT [HOST:PORT...]
      Push FILE to every receiver at once (sendfile, one read of the file).
      Exit 0 when every receiver verified and stored it, 1 when any failed
      (each failure is named), 2 for usage errors. --checksum: xxh64 (the
      default; xxhsum -H1 prints the same digest) and crc32 catch
      corruption; sha256 also resists deliberate tampering.
  shm-push receive --port PORT --dir DIR [--host 127.0.0.1] [--overwrite] [--fsync]
                [--max-size SIZE] [--handshake-timeout T] [--idle-timeout T]
                [--max-connections N] [--token-file F] [--once] [--quiet]
                [--log-format text|json] [--log-level error|warn|info|debug] [--log-file PATH]
      Accept pushes and store them in DIR (files 0600, never outside DIR,
      renamed into place only after the checksum matched). --port 0 picks a
      free port. --once exits after one transfer (status 0 stored, 1 failed).
      --max-size: larger files are refused before any data moves (default
      64G). Disk is reserved only for data that arrived, one 16 MiB window
      ahead. --handshake-timeout / --idle-timeout: drop a sender that sends
      no complete header / nothing for T (default 10s each; 500ms, 2m).
      --max-connections: transfers at once, more get BUSY (default 16).
      --token-file: a shared secret (first line of F) every sender must give;
      it travels in clear, so use it on trusted networks or through a tunnel.
      --log-format text|json, --log-level (default info; warn with --quiet),
      --log-file PATH (appended, 0600, re-opened on SIGHUP) for the log on stderr.
      Under systemd: takes its listening socket from socket activation
      (LISTEN_FDS, name "shm-push", else the first; --port is then unused),
      sends READY=1, STATUS=, STOPPING=1 and WATCHDOG=1 to NOTIFY_SOCKET,
      and writes <N> journal priorities when stderr is the journal.
  shm-push --help | --version
      -h, --help: this text; -V, --version: the version. -q is --quiet,
      -p is --port, -d is --dir. Durations T: seconds, or with a unit
      (500ms, 10s, 2m, 1h). Sizes: bytes, or with a suffix k, M, G, T
      (also KiB, MiB…; multiples of 1024).
`;

export const SEND_OPTIONS = {
  name: { type: 'string' },
  checksum: { type: 'string' },
  'token-file': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

export const RECEIVE_OPTIONS = {
  port: { type: 'string', short: 'p' },
  dir: { type: 'string', short: 'd' },
  host: { type: 'string' },
  overwrite: { type: 'boolean' },
  fsync: { type: 'boolean' },
  'max-size': { type: 'string' },
  'handshake-timeout': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'max-connections': { type: 'string' },
  'token-file': { type: 'string' },
  once: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
  'log-file': { type: 'string' },
} as const;

/** Runs the CLI; resolves to the exit status. */
export function main(argv: string[], io: Io = stdio): Promise<number> {
  return runCommand({ name: 'shm-push', version: packageVersion('@shmkit/push', __dirname), help: USAGE }, () => dispatch(argv, io), io);
}

async function dispatch(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = parseCommandLine(argv, { options: {}, operands: 'stop' }).operands;
  if (command === 'help') {
    io.out(USAGE);
    return 0;
  }
  if (command === 'send') return await send(rest, io);
  if (command === 'receive') return await receive(rest, io);
  throw new UsageError(command === undefined ? 'missing command (send or receive)' : `unknown command ${JSON.stringify(command)} (expected send or receive)`);
}

function options<O extends OptionSpecs>(args: string[], spec: O) {
  const { values, operands } = parseCommandLine(args, { options: spec });
  return { values: values as Record<string, string | true | string[] | undefined>, positionals: operands };
}

async function send(args: string[], io: Io): Promise<number> {
  const { values, positionals } = options(args, SEND_OPTIONS);
  const [file, ...dests] = positionals;
  if (file === undefined) throw new UsageError('send: missing FILE');
  if (dests.length === 0) throw new UsageError('send: missing HOST:PORT (at least one receiver)');
  const parsed = dests.map((d) => {
    try {
      return parseDestination(d);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  });
  const name = values['name'];
  if (typeof name === 'string') {
    const problem = nameProblem(name);
    if (problem !== null) throw new UsageError(`send: cannot push under the name ${JSON.stringify(name)}: ${problem}`);
  }
  const sum = values['checksum'];
  if (sum !== undefined && (typeof sum !== 'string' || !isChecksumName(sum))) throw new UsageError(`send: --checksum must be ${CHECKSUM_NAMES.join(', ')}, got ${JSON.stringify(sum)}`);
  const quiet = values['quiet'] === true;
  const t0 = performance.now();
  const result = await pushFile(file, parsed, {
    ...(typeof name === 'string' ? { name } : {}),
    ...(sum === undefined ? {} : { checksum: sum }),
    ...tokenOption(values['token-file']),
    progressIntervalMs: 1000,
    onProgress: quiet ? undefined : (ps) => io.err(progressLine(ps, performance.now() - t0)),
  });
  for (const r of result.receivers) {
    if (r.ok) {
      const rate = result.size / 1e6 / Math.max(r.ms / 1000, 1e-6);
      io.out(`stored ${result.name} (${formatSize(result.size)}, ${result.digest}) on ${r.destination} in ${(r.ms / 1000).toFixed(2)} s (${rate.toFixed(0)} MB/s)\n`);
    } else {
      io.err(`shm-push: FAILED ${r.destination}: ${r.code ?? 'EIO'}: ${r.message ?? ''}\n`);
    }
  }
  const failed = result.receivers.filter((r) => !r.ok);
  if (failed.length > 0) {
    io.err(`shm-push: ${failed.length} of ${result.receivers.length} receivers failed: ${failed.map((r) => r.destination).join(', ')}\n`);
    return 1;
  }
  return 0;
}

function progressLine(ps: readonly ReceiverProgress[], ms: number): string {
  const parts = ps.map((p) => {
    const pct = p.size === 0 ? 100 : Math.floor((p.sent / p.size) * 100);
    return `${p.destination} ${p.phase} ${pct}% (${(p.sent / 1e6 / Math.max(ms / 1000, 1e-3)).toFixed(0)} MB/s)`;
  });
  return `shm-push: ${parts.join(' | ')}\n`;
}

async function receive(args: string[], io: Io): Promise<number> {
  const { values, positionals } = options(args, RECEIVE_OPTIONS);
  if (positionals.length > 0) throw new UsageError(`receive: unexpected argument ${JSON.stringify(positionals[0])}`);
  const portText = values['port'];
  if (typeof portText !== 'string') throw new UsageError('receive: --port is required');
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) throw new UsageError(`receive: --port must be 0..65535, got ${JSON.stringify(portText)}`);
  const dir = values['dir'];
  if (typeof dir !== 'string' || dir === '') throw new UsageError('receive: --dir is required');
  let maxSize = DEFAULT_MAX_SIZE;
  const maxText = values['max-size'];
  if (typeof maxText === 'string') {
    const r = parseSize(maxText);
    const n = r.ok ? r.bytes : Infinity;
    if (n > MAX_SIZE) throw new UsageError(`receive: --max-size must be a size like 512M or 4G (at most 2^53-1 bytes), got ${JSON.stringify(maxText)}`);
    maxSize = n;
  }
  const headerTimeoutMs = durationOption(values['handshake-timeout'], '--handshake-timeout', DEFAULT_HEADER_TIMEOUT_MS);
  const idleTimeoutMs = durationOption(values['idle-timeout'], '--idle-timeout', DEFAULT_IDLE_TIMEOUT_MS);
  let maxConcurrent = DEFAULT_MAX_CONCURRENT;
  const connText = values['max-connections'];
  if (typeof connText === 'string') {
    maxConcurrent = Number(connText);
    if (!/^\d{1,5}$/.test(connText) || maxConcurrent < 1 || maxConcurrent > 65_536) {
      throw new UsageError(`receive: --max-connections must be 1..65536, got ${JSON.stringify(connText)}`);
    }
  }
  const quiet = values['quiet'] === true;
  const once = values['once'] === true;
  const level: LogLevel = typeof values['log-level'] === 'string' ? asUsage(() => parseLogLevel(values['log-level'] as string)) : quiet ? 'warn' : 'info';
  const format = typeof values['log-format'] === 'string' ? asUsage(() => parseLogFormat(values['log-format'] as string)) : 'text';
  const activated = activatedSocket({ name: 'shm-push', families: ['inet', 'inet6'] });
  const logger = new DaemonLogger({
    name: 'shm-push',
    format,
    level,
    ...(typeof values['log-file'] === 'string' ? { file: values['log-file'] } : {}),
    stderr: { write: (text: string) => io.err(text) },
  });
  // SIGHUP never kills the receiver: it re-opens --log-file.
  const onHup = () => logger.reopenOnHangup();
  process.on('SIGHUP', onHup);
  try {
    return await serveReceive(io, logger, { dir, port, activated, once, maxSize, headerTimeoutMs, idleTimeoutMs, maxConcurrent, values });
  } finally {
    process.off('SIGHUP', onHup);
    logger.close();
  }
}

interface ReceiveSetup {
  dir: string;
  port: number;
  activated: { fd: number } | null;
  once: boolean;
  maxSize: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  maxConcurrent: number;
  values: Record<string, unknown>;
}

async function serveReceive(io: Io, logger: DaemonLogger, setup: ReceiveSetup): Promise<number> {
  const { dir, port, once, maxSize, headerTimeoutMs, idleTimeoutMs, maxConcurrent, values } = setup;
  // Lines a sender can cause go through the limiter; `stored` lines on
  // stdout do not: each one stands for a file that is now in DIR.
  // Arrivals and refusals are the normal course (--quiet hides them); a failed push is worth a look.
  const log = (remote: string, kind: string, s: string) => arrivals.line(remote, kind, s);
  const arrivals = new ReceiveLog((line, fields) => logger.info(line, fields));
  const limited = new ReceiveLog((line, fields) => logger.warn(line, fields));
  const receiver = await PushReceiver.listen({
    dir,
    port,
    ...(setup.activated !== null ? { fd: setup.activated.fd } : {}),
    host: typeof values['host'] === 'string' ? values['host'] : '127.0.0.1',
    overwrite: values['overwrite'] === true,
    fsync: values['fsync'] === true,
    maxSize,
    headerTimeoutMs,
    idleTimeoutMs,
    maxConcurrent,
    ...tokenOption(values['token-file']),
  });
  const { host, port: bound } = receiver.address;
  // As `shm-push send` takes it: IPv6 addresses in brackets.
  io.out(`listening on ${host.includes(':') ? `[${host}]` : host}:${bound}${setup.activated !== null ? ' (socket activation)' : ''}, storing into ${path.resolve(receiver.dir)}\n`);
  logger.info(
    `limits: files up to ${formatSize(maxSize)}, header within ${formatDuration(headerTimeoutMs)}, ` +
      `idle senders dropped after ${formatDuration(idleTimeoutMs)}, ${maxConcurrent} connections at once`,
  );
  let status = 0;
  const counts = { stored: 0, failed: 0, bytes: 0 };
  const notifier = new ServiceNotifier({ onError: (e) => logger.limited('notify', 'warn', `sd_notify failed: ${e.message}`, { code: (e as { code?: string }).code }) });
  const summary = () => `${receiver.transfers().length} transfers, ${counts.stored} stored, ${counts.failed} failed, ${counts.bytes} bytes stored`;
  try {
    notifier.ready(summary());
  } catch (e) {
    logger.error(`sd_notify READY=1 failed: ${(e as Error).message}`, { code: (e as { code?: string }).code });
  }
  return await new Promise<number>((resolve) => {
    const stop = (code: number) => {
      clearInterval(ticker);
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.off(sig, onSignal);
      notifier.stopping(`draining: ${summary()}`);
      void receiver.close().then(() => {
        notifier.close();
        resolve(code);
      });
    };
    const onSignal = () => stop(status);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, onSignal);
    // A progress line per transfer that moved since the last tick: a stalled
    // sender adds no lines, and there are at most --max-connections per tick.
    const lastReceived = new Map<number, number>();
    const ticker = setInterval(() => {
      const live = receiver.transfers();
      for (const id of lastReceived.keys()) if (!live.some((t) => t.id === id)) lastReceived.delete(id);
      for (const t of live) {
        if (t.size === undefined || t.size === 0 || lastReceived.get(t.id) === t.received) continue;
        lastReceived.set(t.id, t.received);
        logger.info(`${t.name ?? '?'} from ${t.remote}: ${Math.floor((t.received / t.size) * 100)}% (${formatSize(t.received)} of ${formatSize(t.size)})`, {
          client: t.remote,
          path: t.name,
          bytes: t.received,
        });
      }
      notifier.status(summary());
    }, 1000);
    ticker.unref();
    receiver.on('header', (t: { name: string; size: number; remote: string }) => log(t.remote, 'receiving', `receiving ${t.name} (${formatSize(t.size)}) from ${t.remote}`));
    receiver.on('refused', (e: RefusedEvent) => {
      log(e.remote, e.code, `refused a connection from ${e.remote}: ${e.code}: ${e.message}${e.replied ? '' : ' (closed without a reply: too many connections closing at once)'}`);
    });
    receiver.on('stored', (e: { name: string; size: number; digest: string; remote: string; ms: number }) => {
      io.out(`stored ${e.name} (${formatSize(e.size)}, ${e.digest}) from ${e.remote} in ${(e.ms / 1000).toFixed(2)} s\n`);
      counts.stored += 1;
      counts.bytes += e.size;
      if (once) stop(0);
    });
    receiver.on('failed', (e: { name?: string; code: string; message: string; remote: string }) => {
      // Not silenced by --quiet: the one line that says why a push failed.
      limited.line(e.remote, e.code, `FAILED ${e.name ?? '(no name yet)'} from ${e.remote}: ${e.code}: ${e.message}`);
      counts.failed += 1;
      status = 1;
      if (once) stop(1);
    });
    receiver.on('error', (err: Error) => {
      logger.error(err.message, { code: (err as { code?: string }).code });
      stop(1);
    });
  });
}

/** A shm-fd parser's ERR_INVALID_ARG_VALUE as a usage error (exit 2 with the usage). */
function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError(`receive: ${(err as Error).message}`);
  }
}

function durationOption(text: unknown, flag: string, fallback: number): number {
  if (typeof text !== 'string') return fallback;
  const r = parseDuration(text, 's');
  const ms = r.ok ? r.ms : 0;
  if (ms < 1 || ms > 2 ** 31 - 1) throw new UsageError(`receive: ${flag} must be a duration like 10s, 500ms or 2m (a plain number counts seconds), got ${JSON.stringify(text)}`);
  return ms;
}

/** Reads the token from the first line of a file (a trailing newline is not part of it). */
function tokenOption(file: unknown): { token?: Buffer } {
  if (typeof file !== 'string') return {};
  let text: Buffer;
  try {
    text = fs.readFileSync(file);
  } catch (err) {
    throw new PushError(systemCode(err, 'EIO'), `cannot read --token-file ${file}: ${(err as Error).message}`);
  }
  const end = text.indexOf(0x0a);
  let token = end === -1 ? text : text.subarray(0, end);
  if (token.at(-1) === 0x0d) token = token.subarray(0, -1);
  if (token.length === 0) throw new PushError('ERR_RMMAP_PUSH_BAD_TOKEN', `--token-file ${file} is empty`);
  return { token };
}
