import { durationOption, isRuntimeError, packageVersion, parseCommandLine, runCommand, sizeOption, UsageError } from '@shmkit/kit/cli';

import { DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, Tinyd } from '../daemon/tinyd';
import { defaultSocketPath } from '../protocol/socket-path';

export const TINYD_USAGE = `Usage: tinyd [--socket PATH] [--n-sms N] [--sms-size SIZE] [--workers N] [--segments N] [--qos]
             [--codec auto|libsnappy|js|snappyjs|native] [--handshake-timeout-ms T] [--max-connections N]
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
  -h, --help       this text
  -V, --version    print the version
SIGTERM / SIGINT: finish in-flight requests, remove the socket, exit 0.`;

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
  try {
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
    };
    daemon = await Tinyd.start(opts);
  } catch (err) {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    if (err instanceof UsageError) throw err;
    // An option value Tinyd.start refuses is a usage error too.
    if (isRuntimeError(err) && err.code === 'ERR_INVALID_ARG_VALUE') throw new UsageError(err.message);
    if (isRuntimeError(err)) {
      process.stderr.write(`tinyd: ${err.message}${err.code.startsWith('ERR_') ? ` (${err.code})` : ''}\n`);
      return 1;
    }
    throw err;
  }
  return new Promise<number>((resolve) => {
    const stop = (sig: string) => {
      process.stderr.write(`tinyd: ${sig} received\n`);
      daemon.close().then(
        () => resolve(0),
        (err: unknown) => {
          process.stderr.write(`tinyd: shutdown failed: ${(err as Error).message}\n`);
          resolve(1);
        },
      );
    };
    onSignal = stop;
    if (received !== undefined) stop(received);
  });
}
