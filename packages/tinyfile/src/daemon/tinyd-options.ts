// tinyd's options: their defaults and the ranges a daemon accepts.
import os from 'node:os';

import { DaemonLogger } from '@shmkit/shm-fd';

import { checkCodecName } from '../codec/codec';
import { TinyFileError } from '../errors';
import { MAX_SLOT_SIZE, MAX_SLOTS, MIN_SLOT_SIZE } from '../protocol/layout';
import { defaultSocketPath } from '../protocol/socket-path';

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_CONNECTIONS = 256;

export interface TinydOptions {
  /**
   * Unix socket to listen on. Default: `defaultSocketPath()`, whose
   * directory is created 0700 and must be ours; the directory of a path
   * given here must be ours or root's, and sticky if others can write it.
   */
  socketPath?: string;
  /** A connection that has not sent its whole HELLO within this is closed. Default 5000 ms. */
  handshakeTimeoutMs?: number;
  /** Open connections (clients, handshakes, registrations waiting for a segment); more are refused. Default 256. */
  maxConnections?: number;
  /** Number of shared segments: the memory bound is nSms × smsSize whatever clients send. */
  nSms?: number;
  /** Bytes per segment (a request slot). */
  smsSize?: number;
  /** Compression worker threads; 0 serves everything on the main thread. */
  workers?: number;
  /** Serve higher-priority clients first (round-robin within a priority). */
  qos?: boolean;
  /** `auto` (default): libsnappy when it loads, else js, with a one-line notice; or a codec name (codec.ts). */
  codec?: string;
  /** Segments a client gets when it does not ask for a number. */
  slotsPerClient?: number;
  /** Chunks whose work is at most this many bytes run inline on the main thread. */
  inlineMax?: number;
  /** Where lines go, one formatted line per call; default stderr. Ignored when `logger` is given. */
  log?: (line: string) => void;
  /** The daemon's logger (level, format, file); default: text to `log` or stderr, at level info. */
  logger?: DaemonLogger;
}

export type ResolvedTinydOptions = Required<Omit<TinydOptions, 'log'>>;

/** Fills in the defaults and checks every value; throws ERR_INVALID_ARG_VALUE naming the flag. */
export function resolveOptions(options: TinydOptions): ResolvedTinydOptions {
  const opts = {
    socketPath: options.socketPath ?? defaultSocketPath(),
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    nSms: options.nSms ?? 32,
    smsSize: options.smsSize ?? 1024 * 1024,
    workers: options.workers ?? os.availableParallelism(),
    qos: options.qos ?? false,
    codec: options.codec ?? 'auto',
    slotsPerClient: options.slotsPerClient ?? 4,
    inlineMax: options.inlineMax ?? 64 * 1024,
    logger: options.logger ?? defaultLogger(options.log),
  };
  if (!Number.isInteger(opts.nSms) || opts.nSms < 1 || opts.nSms > 65535) throw new TinyFileError('ERR_INVALID_ARG_VALUE', `--n-sms must be an integer in [1, 65535], got ${opts.nSms}`);
  if (!Number.isInteger(opts.smsSize) || opts.smsSize < MIN_SLOT_SIZE || opts.smsSize > MAX_SLOT_SIZE || opts.smsSize % 4096 !== 0) {
    throw new TinyFileError('ERR_INVALID_ARG_VALUE', `--sms-size must be a multiple of 4 KB in [${MIN_SLOT_SIZE / 1024}, ${MAX_SLOT_SIZE / 1024}] KB, got ${opts.smsSize / 1024} KB`);
  }
  if (!Number.isInteger(opts.workers) || opts.workers < 0 || opts.workers > 256) throw new TinyFileError('ERR_INVALID_ARG_VALUE', `--workers must be an integer in [0, 256], got ${opts.workers}`);
  if (!Number.isInteger(opts.slotsPerClient) || opts.slotsPerClient < 1 || opts.slotsPerClient > MAX_SLOTS) {
    throw new TinyFileError('ERR_INVALID_ARG_VALUE', `segments per client must be in [1, ${MAX_SLOTS}]`);
  }
  if (!Number.isInteger(opts.handshakeTimeoutMs) || opts.handshakeTimeoutMs < 10 || opts.handshakeTimeoutMs > 60_000) {
    throw new TinyFileError('ERR_INVALID_ARG_VALUE', `--handshake-timeout-ms must be an integer in [10, 60000], got ${opts.handshakeTimeoutMs}`);
  }
  if (!Number.isInteger(opts.maxConnections) || opts.maxConnections < 1 || opts.maxConnections > 65536) {
    throw new TinyFileError('ERR_INVALID_ARG_VALUE', `--max-connections must be an integer in [1, 65536], got ${opts.maxConnections}`);
  }
  checkCodecName(opts.codec);
  return opts;
}

function defaultLogger(log: ((line: string) => void) | undefined): DaemonLogger {
  if (log === undefined) return new DaemonLogger({ name: 'tinyd' });
  return new DaemonLogger({ name: 'tinyd', stderr: { write: (text: string) => log(text.replace(/\n$/, '')) } });
}
