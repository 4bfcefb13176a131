import fs from 'node:fs';

import { durationOption, packageVersion, parseCommandLine, runCommand, sizeOption, UsageError } from '@shmkit/kit/cli';
import { activatedSocket, DaemonLogger, type LogFormat, type LogLevel, parseLogFormat, parseLogLevel, ServiceNotifier } from '@shmkit/shm-fd';

import { ControlSocket } from '../server/control-socket';
import { DEFAULT_LIMITS, formatBytes, type ServerLimits } from '../server/limits';
import { RmmapServer } from '../server/server';
import { statusMain } from './rmmapd-status';

export const USAGE = `Usage: rmmapd --root DIR [--host 127.0.0.1] [--port 7878] [--token-file F] [--read-only] [--max-frame SIZE] [--max-connections N]
              [--max-mappings N] [--max-mappings-total N] [--max-unread SIZE] [--max-unread-total SIZE] [--handshake-timeout MS]
              [--journal FILE | --no-journal] [--journal-max SIZE] [--control PATH | --no-control]
              [--log-format text|json] [--log-level error|warn|info|debug] [--log-file PATH]
       rmmapd status [--json] [--port PORT | --control PATH] [--daemon-uid UID]
       rmmapd --help | --version

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
  -h, --help         this text
  -V, --version      print the version

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

export const OPTIONS = {
  root: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'token-file': { type: 'string' },
  'read-only': { type: 'boolean' },
  'max-frame': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-mappings': { type: 'string' },
  'max-mappings-total': { type: 'string' },
  'max-unread': { type: 'string' },
  'max-unread-total': { type: 'string' },
  'handshake-timeout': { type: 'string' },
  journal: { type: 'string' },
  'no-journal': { type: 'boolean' },
  'journal-max': { type: 'string' },
  control: { type: 'string' },
  'no-control': { type: 'boolean' },
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
  'log-file': { type: 'string' },
} as const;

/** Parses rmmapd's argv (without node and script). Throws UsageError, or InfoRequest for --help/--version. */
export function parseArgs(argv: string[]): RmmapdArgs {
  const { values: v, operands } = parseCommandLine(argv, { options: OPTIONS });
  if (operands.length > 0) throw new UsageError(`unexpected operand ${JSON.stringify(operands[0])}; rmmapd takes options only`);
  if (v.root === undefined) throw new UsageError('--root DIR is required');
  const args: RmmapdArgs = { root: v.root, host: v.host ?? '127.0.0.1', port: 7878, readOnly: v['read-only'] === true, limits: {} };
  if (v.port !== undefined) {
    if (!/^\d+$/.test(v.port) || Number(v.port) > 65535) throw new UsageError(`--port: ${JSON.stringify(v.port)} is not a port number (0-65535)`);
    args.port = Number(v.port);
  }
  if (v['token-file'] !== undefined) args.tokenFile = v['token-file'];
  if (v['max-frame'] !== undefined) args.maxFrame = sizeOption('--max-frame', v['max-frame'], { min: 1024, max: 256 * 1024 * 1024 });
  if (v['max-connections'] !== undefined) args.maxConnections = count('--max-connections', v['max-connections'], 1_000_000);
  if (v['max-mappings'] !== undefined) args.limits.maxMappingsPerConnection = count('--max-mappings', v['max-mappings'], 1_000_000);
  if (v['max-mappings-total'] !== undefined) args.limits.maxMappings = count('--max-mappings-total', v['max-mappings-total'], 1_000_000);
  if (v['max-unread'] !== undefined) args.limits.maxUnreadPerConnection = sizeOption('--max-unread', v['max-unread'], { min: 64 * 1024, max: 2 ** 40 });
  if (v['max-unread-total'] !== undefined) args.limits.maxUnread = sizeOption('--max-unread-total', v['max-unread-total'], { min: 64 * 1024, max: 2 ** 40 });
  if (v['handshake-timeout'] !== undefined) {
    args.limits.handshakeTimeoutMs = durationOption('--handshake-timeout', v['handshake-timeout'], { plainUnit: 'ms', minMs: 1, maxMs: 3_600_000 });
  }
  if (v.journal !== undefined && v['no-journal'] === true) throw new UsageError('--journal and --no-journal exclude each other');
  if (v.journal !== undefined) {
    if (v.journal.length === 0) throw new UsageError('--journal needs a file name');
    args.journal = v.journal;
  }
  if (v['no-journal'] === true) args.journal = false;
  if (v['journal-max'] !== undefined) args.journalMaxBytes = sizeOption('--journal-max', v['journal-max'], { min: 4096 });
  if (v.control !== undefined && v['no-control'] === true) throw new UsageError('--control and --no-control exclude each other');
  if (v.control !== undefined) {
    if (v.control.length === 0) throw new UsageError('--control needs a socket path');
    args.control = v.control;
  }
  if (v['no-control'] === true) args.control = false;
  if (v['log-format'] !== undefined) args.logFormat = asUsage(() => parseLogFormat(v['log-format'] as string));
  if (v['log-level'] !== undefined) args.logLevel = asUsage(() => parseLogLevel(v['log-level'] as string));
  if (v['log-file'] !== undefined) {
    if (v['log-file'].length === 0) throw new UsageError('--log-file needs a file name');
    args.logFile = v['log-file'];
  }
  return args;
}

/** A whole number in [1, max] given to `flag`. */
function count(flag: string, v: string, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a number between 1 and ${max}`);
  return Number(v);
}

/** A shm-fd parser's ERR_INVALID_ARG_VALUE as a usage error (exit 2 with the usage). */
function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Runs the daemon until SIGINT/SIGTERM (or `rmmapd status`); resolves with the exit status. */
export function main(argv: string[]): Promise<number> {
  if (argv[0] === 'status') return statusMain(argv.slice(1));
  return runCommand({ name: 'rmmapd', version: packageVersion('@shmkit/rmmap', __dirname), help: USAGE }, async () => {
    const args = parseArgs(argv);
    // SIGHUP never kills a daemon (its default action would): ignored until the logger can act on it.
    let onHup = (): void => undefined;
    const hup = () => onHup();
    process.on('SIGHUP', hup);
    try {
      return await serve(args, (f) => (onHup = f));
    } finally {
      process.off('SIGHUP', hup);
    }
  });
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
  setHup(() => logger.reopenOnHangup());
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
