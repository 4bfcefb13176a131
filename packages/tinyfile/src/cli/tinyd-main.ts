import { durationOption, isRuntimeError, packageVersion, parseCommandLine, runCommand, sizeOption, UsageError } from '@shmkit/kit/cli';
import { DaemonLogger, parseLogFormat, parseLogLevel } from '@shmkit/shm-fd';

import { DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, Tinyd } from '../daemon/tinyd';
import { defaultSocketPath } from '../protocol/socket-path';

export const TINYD_USAGE = `Usage: tinyd [--socket PATH] [--n-sms N] [--sms-size SIZE] [--workers N] [--segments N] [--qos]
             [--codec auto|libsnappy|js|snappyjs|native] [--handshake-timeout-ms T] [--max-connections N]
             [--log-format text|json] [--log-level error|warn|info|debug] [--log-file PATH]
       tinyd --help | --version

Runs the tinyfile compression daemon in the foreground (a service manager daemonizes it).
  --socket PATH    Unix socket to listen on (mode 0600); default ${defaultSocketPath()}
                   (its directory is created 0700 and must be ours); the directory of
                   a PATH given here must be ours or root's, and sticky if others can write it
  --n-sms N        shared segments in total: memory is bounded by N × sms-size (default 32)
  --sms-size SIZE  size of one segment: a plain number counts KiB, or give a suffix
                   (256k, 4M); a multiple of 4 KiB, at least 128 KiB (default 1024)
  --workers N      compression worker threads (default: number of cores; 0 = main thread only)
  --segments N     segments given to a client that does not ask for a number (default 4)
  --qos            serve higher-priority clients first (TinyFile.connect({ priority }))
  --codec NAME     auto (default): libsnappy (the C library, libsnappy1v5; path from
                   TINYFILE_LIBSNAPPY) when it loads, else js with a one-line notice;
                   libsnappy (refuse to start without it); js (tinyfile's compressor,
                   snappyjs's output); snappyjs; native (the optional "snappy" package)
  --handshake-timeout-ms T  close a connection that has not sent its whole hello
                   within T: milliseconds, or with a unit (500ms, 2s)
                   (default ${DEFAULT_HANDSHAKE_TIMEOUT_MS}, at most 60000)
  --max-connections N  connections open at once (clients, handshakes, registrations
                   waiting for a segment); more are refused (default ${DEFAULT_MAX_CONNECTIONS})
  --log-format F   text (default) or json (one JSON object per line: time, level, msg, fields)
  --log-level L    error, warn, info (default) or debug
  --log-file PATH  append the log to PATH (created 0600, must be ours) instead of stderr
  -h, --help       this text
  -V, --version    print the version
Under systemd: takes its listening socket from socket activation (LISTEN_FDS, name
"tinyd", else the first), sends READY=1, STATUS=, STOPPING=1 and WATCHDOG=1 to
NOTIFY_SOCKET, and writes <N> journal priorities when stderr is the journal.
SIGTERM / SIGINT: finish in-flight requests, remove the socket, exit 0.
SIGHUP: re-open --log-file (after log rotation); keeps serving.`;

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} expects a non-negative integer, got "${v}"`);
  return Number(v);
}

export const TINYD_OPTIONS = {
  socket: { type: 'string' },
  'n-sms': { type: 'string' },
  'sms-size': { type: 'string' },
  workers: { type: 'string' },
  segments: { type: 'string' },
  qos: { type: 'boolean' },
  codec: { type: 'string' },
  'handshake-timeout-ms': { type: 'string' },
  'max-connections': { type: 'string' },
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
  'log-file': { type: 'string' },
} as const;

export function tinydMain(argv: string[]): Promise<number> {
  return runCommand({ name: 'tinyd', version: packageVersion('@shmkit/tinyfile', __dirname), help: TINYD_USAGE }, () => serve(argv));
}

async function serve(argv: string[]): Promise<number> {
  const { values, operands } = parseCommandLine(argv, { options: TINYD_OPTIONS });
  if (operands.length > 0) throw new UsageError(`unexpected operand ${JSON.stringify(operands[0])}; tinyd takes options only`);
  let daemon: Tinyd;
  // Handlers go in before the socket exists: a SIGTERM right after the
  // "listening" line must stop tinyd cleanly, not kill it by default action.
  let received: string | undefined;
  let onSignal = (sig: string) => {
    received ??= sig;
  };
  const onTerm = () => onSignal('SIGTERM');
  const onInt = () => onSignal('SIGINT');
  process.once('SIGTERM', onTerm);
  process.once('SIGINT', onInt);
  // SIGHUP never kills a daemon: before the logger exists it is ignored.
  let onHup = () => undefined as void;
  const hup = () => onHup();
  process.on('SIGHUP', hup);
  let logger: DaemonLogger | undefined;
  try {
    logger = new DaemonLogger({
      name: 'tinyd',
      ...(values['log-format'] !== undefined ? { format: parseLogFormat(values['log-format']) } : {}),
      ...(values['log-level'] !== undefined ? { level: parseLogLevel(values['log-level']) } : {}),
      ...(values['log-file'] !== undefined ? { file: values['log-file'] } : {}),
    });
    const smsSize = values['sms-size'] === undefined ? undefined : sizeOption('--sms-size', values['sms-size'], { plainUnit: 1024 });
    const handshakeTimeoutMs =
      values['handshake-timeout-ms'] === undefined ? undefined : durationOption('--handshake-timeout-ms', values['handshake-timeout-ms'], { plainUnit: 'ms' });
    const maxConnections = int('max-connections', values['max-connections']);
    const opts = {
      ...(values.socket !== undefined ? { socketPath: values.socket } : {}),
      ...(handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs } : {}),
      ...(maxConnections !== undefined ? { maxConnections } : {}),
      qos: values.qos === true,
      ...(int('n-sms', values['n-sms']) !== undefined ? { nSms: int('n-sms', values['n-sms'])! } : {}),
      ...(smsSize !== undefined ? { smsSize } : {}),
      ...(int('workers', values.workers) !== undefined ? { workers: int('workers', values.workers)! } : {}),
      ...(int('segments', values.segments) !== undefined ? { slotsPerClient: int('segments', values.segments)! } : {}),
      ...(values.codec !== undefined ? { codec: values.codec } : {}),
      logger,
    };
    daemon = await Tinyd.start(opts);
  } catch (err) {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGHUP', hup);
    logger?.close();
    if (err instanceof UsageError) throw err;
    // An option value Tinyd.start refuses is a usage error too.
    if (isRuntimeError(err) && err.code === 'ERR_INVALID_ARG_VALUE') throw new UsageError(err.message);
    if (isRuntimeError(err)) {
      process.stderr.write(`tinyd: ${err.message}${err.code.startsWith('ERR_') ? ` (${err.code})` : ''}\n`);
      return 1;
    }
    throw err;
  }
  const log = logger;
  onHup = () => log.reopenOnHangup();
  // Whatever ends the process while it can still run code (an uncaught
  // error included), the socket file it bound does not outlive it.
  const removeSocket = () => daemon.removeSocketFile();
  process.once('exit', removeSocket);
  return new Promise<number>((resolve) => {
    const stop = (sig: string) => {
      log.info(`${sig} received`);
      daemon.close().then(
        () => {
          // Removed by close(); from here on the path may be another daemon's.
          process.off('exit', removeSocket);
          process.off('SIGHUP', hup);
          log.close();
          resolve(0);
        },
        (err: unknown) => {
          log.error(`shutdown failed: ${(err as Error).message}`);
          resolve(1);
        },
      );
    };
    onSignal = stop;
    if (received !== undefined) stop(received);
  });
}
