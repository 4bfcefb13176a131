import fs from 'node:fs';

import { activatedSocket, DaemonLogger, type LogFormat, type LogLevel, parseLogFormat, parseLogLevel, ServiceNotifier } from '@shmkit/shm-fd';
import { parseSize, UsageError } from '@shmkit/shm-fd/unstable-child-process';

import { ControlSocket } from '../server/control-socket';
import { DEFAULT_LIMITS, formatBytes, type ServerLimits } from '../server/limits';
import { RmmapServer } from '../server/server';
import { statusMain } from './rmmapd-status';

export const USAGE = `usage: rmmapd --root DIR [--host 127.0.0.1] [--port 7878] [--token-file F] [--read-only] [--max-frame SIZE] [--max-connections N]
              [--max-mappings N] [--max-mappings-total N] [--max-unread SIZE] [--max-unread-total SIZE] [--handshake-timeout MS]
              [--journal FILE | --no-journal] [--journal-max SIZE] [--control PATH | --no-control]
              [--log-format text|json] [--log-level error|warn|info|debug] [--log-file PATH]
       rmmapd status [--json] [--port PORT | --control PATH] [--daemon-uid UID]

Serves sections of the files under DIR to rmmap clients over TCP.
  --root DIR         directory served; paths outside it (.., absolute, symlink escapes) are refused
  --host HOST        address to listen on (default 127.0.0.1)
  --port PORT        TCP port, 0 = any free port (default 7878)
  --token-file F     clients must present the contents of F (trailing newline ignored)
  --read-only        refuse writable mappings; files are opened read-only
  --max-frame SIZE   largest frame accepted (default 16M; e.g. 1M, 64M)
  --max-connections N  connections served at once; more get ERR_RMMAP_BUDGET and are closed (default ${DEFAULT_LIMITS.maxConnections})
  --max-mappings N   mappings one connection may hold (default ${DEFAULT_LIMITS.maxMappingsPerConnection})
  --max-mappings-total N  mappings all connections may hold together (default ${DEFAULT_LIMITS.maxMappings},
                     or half of vm.max_map_count if that is less)
  --max-unread SIZE  unread reply bytes of one connection at which rmmapd stops reading its requests
                     (default 64M); past it by more than one max frame + 1M: ERR_RMMAP_BUDGET, closed
  --max-unread-total SIZE  unread reply bytes of all connections together (default 512M)
  --handshake-timeout MS  close a connection that has not completed HELLO after MS ms (default ${DEFAULT_LIMITS.handshakeTimeoutMs})
  --journal FILE     write journal: lets a client's retried write be recognised after rmmapd
                     is killed and restarted, so it is not applied twice. Default: a file
                     named after DIR in $XDG_RUNTIME_DIR/rmmapd/ (else /tmp/rmmapd-$UID/).
                     Must lie outside DIR; one rmmapd per journal (locked).
  --no-journal       no journal: retries are deduplicated only while this process lives
  --journal-max SIZE compact the journal when it grows past SIZE (default 64M)
  --control PATH     local Unix socket answering \`rmmapd status\` (mode 0600; uid and root only).
                     Default: control-PORT.sock in $RUNTIME_DIRECTORY (systemd's RuntimeDirectory=),
                     else $XDG_RUNTIME_DIR/rmmapd/ (else /tmp/rmmapd-$UID/)
  --no-control       no control socket (\`rmmapd status\` cannot reach this rmmapd)
  --log-format F     text (default) or json (one JSON object per line: time, level, msg, fields)
  --log-level L      error, warn, info (default) or debug
  --log-file PATH    append the log to PATH (created 0600, must be ours) instead of stderr

Under systemd: takes its listening TCP socket from socket activation (LISTEN_FDS, name
"rmmapd", else the first), sends READY=1, STATUS=, STOPPING=1 and WATCHDOG=1 to
NOTIFY_SOCKET, and writes <N> journal priorities when stderr is the journal.
SIGTERM / SIGINT: close connections, compact the journal, exit 0. SIGHUP: re-open --log-file.

rmmapd status: connections, mappings, open files, journal size, bytes read and written and
the budgets of the rmmapd on PORT (default 7878), asked over its control socket.
`;

export interface RmmapdArgs {
  root: string;
  host: string;
  port: number;
  tokenFile?: string;
  readOnly: boolean;
  maxFrame?: number;
  maxConnections?: number;
  /** Budgets given on the command line (the rest keep their defaults). */
  limits: Partial<ServerLimits>;
  /** Explicit journal file, or false for --no-journal; undefined = the default location. */
  journal?: string | false;
  journalMaxBytes?: number;
  /** Explicit control socket, or false for --no-control; undefined = the default location. */
  control?: string | false;
  logFormat?: LogFormat;
  logLevel?: LogLevel;
  logFile?: string;
}

export function parseArgs(argv: string[]): RmmapdArgs | 'help' {
  let root: string | undefined;
  let host = '127.0.0.1';
  let port = 7878;
  let tokenFile: string | undefined;
  let readOnly = false;
  let maxFrame: number | undefined;
  let maxConnections: number | undefined;
  const limits: Partial<ServerLimits> = {};
  let journal: string | false | undefined;
  let journalMaxBytes: number | undefined;
  let control: string | false | undefined;
  let logFormat: LogFormat | undefined;
  let logLevel: LogLevel | undefined;
  let logFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0 && arg.startsWith('--')) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`option ${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-h':
      case '--help':
        return 'help';
      case '--root':
        root = value();
        break;
      case '--host':
        host = value();
        break;
      case '--port': {
        const v = value();
        const n = Number(v);
        if (!/^\d+$/.test(v) || n > 65535) throw new UsageError(`--port: ${JSON.stringify(v)} is not a port number (0-65535)`);
        port = n;
        break;
      }
      case '--token-file':
        tokenFile = value();
        break;
      case '--read-only':
        readOnly = true;
        break;
      case '--max-frame': {
        const v = value();
        const n = parseSize(v);
        if (n === null || n < 1024 || n > 256 * 1024 * 1024) throw new UsageError(`--max-frame: ${JSON.stringify(v)} is not a size between 1k and 256M`);
        maxFrame = n;
        break;
      }
      case '--max-connections': {
        const v = value();
        if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 1_000_000) throw new UsageError(`--max-connections: ${JSON.stringify(v)} is not a number between 1 and 1000000`);
        maxConnections = Number(v);
        break;
      }
      case '--max-mappings':
        limits.maxMappingsPerConnection = count(flag, value(), 1_000_000);
        break;
      case '--max-mappings-total':
        limits.maxMappings = count(flag, value(), 1_000_000);
        break;
      case '--max-unread':
        limits.maxUnreadPerConnection = size(flag, value(), 64 * 1024);
        break;
      case '--max-unread-total':
        limits.maxUnread = size(flag, value(), 64 * 1024);
        break;
      case '--handshake-timeout':
        limits.handshakeTimeoutMs = count(flag, value(), 3_600_000);
        break;
      case '--journal': {
        const v = value();
        if (v.length === 0) throw new UsageError('--journal needs a file name');
        if (journal === false) throw new UsageError('--journal and --no-journal exclude each other');
        journal = v;
        break;
      }
      case '--no-journal':
        if (typeof journal === 'string') throw new UsageError('--journal and --no-journal exclude each other');
        journal = false;
        break;
      case '--journal-max': {
        const v = value();
        const n = parseSize(v);
        if (n === null || n < 4096) throw new UsageError(`--journal-max: ${JSON.stringify(v)} is not a size of at least 4k`);
        journalMaxBytes = n;
        break;
      }
      case '--control': {
        const v = value();
        if (v.length === 0) throw new UsageError('--control needs a socket path');
        if (control === false) throw new UsageError('--control and --no-control exclude each other');
        control = v;
        break;
      }
      case '--no-control':
        if (typeof control === 'string') throw new UsageError('--control and --no-control exclude each other');
        control = false;
        break;
      case '--log-format':
        logFormat = asUsage(() => parseLogFormat(value()));
        break;
      case '--log-level':
        logLevel = asUsage(() => parseLogLevel(value()));
        break;
      case '--log-file': {
        const v = value();
        if (v.length === 0) throw new UsageError('--log-file needs a file name');
        logFile = v;
        break;
      }
      default:
        throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  if (root === undefined) throw new UsageError('--root DIR is required');
  const args: RmmapdArgs = { root, host, port, readOnly, limits };
  if (tokenFile !== undefined) args.tokenFile = tokenFile;
  if (maxFrame !== undefined) args.maxFrame = maxFrame;
  if (maxConnections !== undefined) args.maxConnections = maxConnections;
  if (journal !== undefined) args.journal = journal;
  if (journalMaxBytes !== undefined) args.journalMaxBytes = journalMaxBytes;
  if (control !== undefined) args.control = control;
  if (logFormat !== undefined) args.logFormat = logFormat;
  if (logLevel !== undefined) args.logLevel = logLevel;
  if (logFile !== undefined) args.logFile = logFile;
  return args;
}

/** A shm-fd parser's ERR_INVALID_ARG_VALUE as a usage error (exit 2 with the usage). */
function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A whole number in [1, max] given to `flag`. */
function count(flag: string, v: string, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a number between 1 and ${max}`);
  return Number(v);
}

/** A size (e.g. 64M) of at least `min` bytes given to `flag`. */
function size(flag: string, v: string, min: number): number {
  const n = parseSize(v);
  if (n === null || n < min || n > 2 ** 40) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a size between ${min / 1024}k and 1T`);
  return n;
}

/** Runs the daemon until SIGINT/SIGTERM; resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'status') return statusMain(argv.slice(1));
  let args: RmmapdArgs | 'help';
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`rmmapd: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  if (args === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  // SIGHUP never kills a daemon (its default action would): ignored until the logger can act on it.
  let onHup = (): void => undefined;
  const hup = () => onHup();
  process.on('SIGHUP', hup);
  try {
    return await serve(args, (f) => (onHup = f));
  } finally {
    process.off('SIGHUP', hup);
  }
}

async function serve(args: RmmapdArgs, setHup: (f: () => void) => void): Promise<number> {
  let logger: DaemonLogger;
  try {
    logger = new DaemonLogger({
      name: 'rmmapd',
      ...(args.logFormat !== undefined ? { format: args.logFormat } : {}),
      ...(args.logLevel !== undefined ? { level: args.logLevel } : {}),
      ...(args.logFile !== undefined ? { file: args.logFile } : {}),
    });
  } catch (e) {
    process.stderr.write(`rmmapd: cannot open --log-file ${args.logFile ?? ''}: ${(e as Error).message}\n`);
    return 1;
  }
  using _logger = logger;
  setHup(() => {
    try {
      logger.info(logger.reopen() ? `SIGHUP: re-opened the log file ${logger.file}` : 'SIGHUP: no --log-file to re-open; still serving');
    } catch (e) {
      logger.error(`SIGHUP: cannot re-open the log file ${logger.file}: ${(e as Error).message}; still writing to the old one`, { code: (e as { code?: string }).code });
    }
  });
  const log = (line: string) => logger.info(line);
  let token: Buffer | undefined;
  if (args.tokenFile !== undefined) {
    try {
      token = Buffer.from(fs.readFileSync(args.tokenFile, 'utf8').replace(/\r?\n$/, ''), 'utf8');
    } catch (e) {
      process.stderr.write(`rmmapd: cannot read --token-file ${args.tokenFile}: ${(e as Error).message}\n`);
      return 2;
    }
    if (token.length === 0 || token.length > 1024) {
      process.stderr.write(`rmmapd: --token-file ${args.tokenFile} must hold 1 to 1024 bytes\n`);
      return 2;
    }
    if ((fs.statSync(args.tokenFile).mode & 0o077) !== 0) {
      logger.warn(`--token-file ${args.tokenFile} is readable by other users; chmod 600 it`, { path: args.tokenFile });
    }
  }
  let activated;
  try {
    activated = activatedSocket({ name: 'rmmapd', families: ['inet', 'inet6'] });
  } catch (e) {
    process.stderr.write(`rmmapd: ${(e as { code?: string }).code}: ${(e as Error).message}\n`);
    return 1;
  }
  let server: RmmapServer;
  try {
    server = new RmmapServer({
      root: args.root,
      token,
      readOnly: args.readOnly,
      maxFrame: args.maxFrame,
      maxConnections: args.maxConnections,
      ...args.limits,
      journalPath: args.journal,
      journalMaxBytes: args.journalMaxBytes,
      logger,
    });
  } catch (e) {
    process.stderr.write(`rmmapd: ${(e as Error).message}\n`);
    return 2;
  }
  let addr;
  try {
    addr = await server.listen(activated === null ? args.port : { fd: activated.fd }, args.host);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    // The journal is opened once the port is bound: an unusable one is named with its code and what to do.
    if (typeof code === 'string' && code.startsWith('ERR_RMMAP_JOURNAL')) process.stderr.write(`rmmapd: ${code}: ${(e as Error).message}\n`);
    else process.stderr.write(`rmmapd: cannot listen on ${args.host}:${args.port}: ${(e as Error).message}\n`);
    await server.close();
    return 1;
  }
  let control: ControlSocket | undefined;
  if (args.control !== false) {
    try {
      control = await ControlSocket.listen({
        ...(args.control !== undefined ? { path: args.control } : {}),
        port: addr.port,
        status: () => server.status(),
        log: (line, level) => logger.log(level, line),
      });
    } catch (e) {
      process.stderr.write(`rmmapd: ${(e as { code?: string }).code}: ${(e as Error).message}\n`);
      await server.close();
      return 1;
    }
  }
  // The control socket file is ours: it goes whatever ends the process, if code still runs.
  const removeControl = () => control?.removeFile();
  process.once('exit', removeControl);
  process.stdout.write(
    `rmmapd: listening on ${addr.address}:${addr.port}${activated === null ? '' : ' (socket activation)'} root=${server.options.root}${args.readOnly ? ' read-only' : ''}${token ? ' token' : ''}` +
      ` journal=${server.options.journalPath === false ? 'off' : server.options.journalPath} control=${control?.path ?? 'off'}\n`,
  );
  const o = server.options;
  log(
    `budgets: ${o.maxConnections} connections, ${o.maxMappingsPerConnection} mappings per connection and ${o.maxMappings} in total, ` +
      `${formatBytes(o.maxUnreadPerConnection)} unread replies per connection and ${formatBytes(o.maxUnread)} in total, handshake within ${o.handshakeTimeoutMs} ms`,
  );
  const notifier = new ServiceNotifier({ onError: (e) => logger.limited('notify', 'warn', `sd_notify failed: ${e.message}`, { code: (e as { code?: string }).code }) });
  const summary = () => {
    const st = server.status();
    return `${st.connections} connections, ${st.mappings} mappings, ${st.openFiles} open files, ${st.bytesRead} bytes read, ${st.bytesWritten} bytes written`;
  };
  try {
    notifier.ready(summary());
  } catch (e) {
    logger.error(`sd_notify READY=1 failed: ${(e as Error).message}`, { code: (e as { code?: string }).code });
  }
  const statusTimer = notifier.enabled ? setInterval(() => notifier.status(summary()), 1000).unref() : undefined;
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      logger.info(`${sig}: closing`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  clearInterval(statusTimer);
  notifier.stopping(`draining: ${summary()}`);
  await control?.close();
  await server.close();
  notifier.close();
  process.off('exit', removeControl);
  return 0;
}
