// The log of shmkit's daemons (tinyd, rmmapd, shm-push receive): levels,
// text or JSON lines, journal priorities, an optional file re-opened on
// SIGHUP, and a per-key rate limit for lines a client can cause.
//
// Why not pino: it is the ecosystem's logger, but a daemon here needs only
// one line per event written synchronously enough to survive exit, plus two
// things pino leaves to transports (journal `<N>` prefixes on stderr and
// re-opening a file by path we checked with the owned-path rules). pino
// brings its own dependency tree (sonic-boom, thread-stream, ...) into every
// daemon's start-up for that; the format below is about a hundred lines.
import fs from 'node:fs';

import { ShmArgumentError } from './errors';
import { LogLimiter, type LogLimiterOptions } from './log-limiter';
import { openOwnedFile } from './sys';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Extra facts of a line: client id, path, bytes, error code, ... (JSON fields; `key=value` in text). */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** syslog(3) priorities, which journald reads from a `<N>` line prefix. */
const PRIORITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6, debug: 7 };
const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface DaemonLoggerOptions {
  /** The daemon's name, first word of each text line and `name` in JSON. */
  name: string;
  format?: LogFormat;
  /** Lines below this level are dropped; default info. */
  level?: LogLevel;
  /** Write here (created 0600, appended, must be ours) instead of stderr. */
  file?: string;
  env?: Record<string, string | undefined>;
  /** Where stderr lines go; default process.stderr. */
  stderr?: { write(text: string): unknown };
  /** The fd compared with JOURNAL_STREAM; default 2. */
  stderrFd?: number;
  limiter?: LogLimiterOptions;
}

/** Parses a --log-level value; ERR_INVALID_ARG_VALUE names the choices. */
export function parseLogLevel(value: string, flag = '--log-level'): LogLevel {
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value as LogLevel;
  throw new ShmArgumentError('ERR_INVALID_ARG_VALUE', `${flag} must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(value)}`);
}

/** Parses a --log-format value. */
export function parseLogFormat(value: string, flag = '--log-format'): LogFormat {
  if ((LOG_FORMATS as readonly string[]).includes(value)) return value as LogFormat;
  throw new ShmArgumentError('ERR_INVALID_ARG_VALUE', `${flag} must be one of ${LOG_FORMATS.join(', ')}, got ${JSON.stringify(value)}`);
}

/**
 * Whether fd `fd` is the stream systemd connected to the journal: its
 * JOURNAL_STREAM ("DEV:INO") names that fd's device and inode. A redirected
 * stderr (a file, a pipe to another program) no longer matches.
 */
export function isJournalStream(env: Record<string, string | undefined> = process.env, fd = 2): boolean {
  const m = /^([0-9]{1,20}):([0-9]{1,20})$/.exec(env['JOURNAL_STREAM'] ?? '');
  if (m === null) return false;
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1] as string) && st.ino === BigInt(m[2] as string);
  } catch {
    return false;
  }
}

export class DaemonLogger {
  readonly name: string;
  readonly format: LogFormat;
  readonly level: LogLevel;
  /** Text lines carry `<N>` priorities and no timestamp (the journal adds its own). */
  readonly journal: boolean;
  readonly file: string | undefined;
  readonly #stderr: { write(text: string): unknown };
  readonly #limiter: LogLimiter;
  #fd: number | undefined;

  constructor(options: DaemonLoggerOptions) {
    this.name = options.name;
    this.format = options.format ?? 'text';
    this.level = options.level ?? 'info';
    this.file = options.file;
    this.#stderr = options.stderr ?? process.stderr;
    this.#limiter = new LogLimiter(options.limiter);
    this.journal = this.file === undefined && isJournalStream(options.env ?? process.env, options.stderrFd ?? 2);
    if (this.file !== undefined) this.#fd = openLogFile(this.file);
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] <= RANK[this.level];
  }

  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    this.#write(this.#render(level, msg, fields));
  }

  /**
   * A line a client can cause: at most one per `key` per second (LogLimiter),
   * with the number held back since the last one (`suppressed`).
   */
  limited(key: string, level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const d = this.#limiter.allow(key);
    if (!d.log) return;
    this.log(level, d.dropped > 0 && this.format === 'text' ? `${msg} (${d.dropped} similar suppressed)` : msg, d.dropped > 0 ? { ...fields, suppressed: d.dropped } : fields);
  }

  /**
   * Opens the log file again by its path (after logrotate moved it away);
   * the old fd is closed once the new one is open. Returns false when
   * logging to stderr. Throws, keeping the old file, if the path is unusable.
   */
  reopen(): boolean {
    if (this.file === undefined) return false;
    const fd = openLogFile(this.file);
    const old = this.#fd;
    this.#fd = fd;
    if (old !== undefined) fs.closeSync(old);
    return true;
  }

  /**
   * What a daemon does on SIGHUP: re-open the log file, and log that it
   * did, that there is none, or why it could not (then it keeps writing to
   * the old one). Never throws.
   */
  reopenOnHangup(): void {
    try {
      this.info(this.reopen() ? `SIGHUP: re-opened the log file ${this.file}` : 'SIGHUP: no --log-file to re-open; still serving');
    } catch (err) {
      this.error(`SIGHUP: cannot re-open the log file ${this.file}: ${(err as Error).message}; still writing to the old one`, { code: (err as { code?: string }).code });
    }
  }

  close(): void {
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #render(level: LogLevel, msg: string, fields: LogFields | undefined): string {
    if (this.format === 'json') {
      const o: Record<string, unknown> = { time: new Date().toISOString(), level, name: this.name, pid: process.pid, msg };
      for (const [k, v] of Object.entries(fields ?? {})) if (v !== undefined && !(k in o)) o[k] = v;
      return `${JSON.stringify(o)}\n`;
    }
    // One event is one line: a newline in a message (a file name, say) must not forge another.
    const text = `${this.name}: ${msg.replace(/[\r\n]+/g, ' ')}${textFields(fields)}`;
    if (this.journal) return `<${PRIORITY[level]}>${text}\n`;
    return `${new Date().toISOString()} ${level.padEnd(5)} ${text}\n`;
  }

  #write(line: string): void {
    if (this.#fd === undefined) {
      this.#stderr.write(line);
      return;
    }
    try {
      fs.writeSync(this.#fd, line);
    } catch {
      // A full disk must not stop the daemon; the line is lost, stderr still works.
      this.#stderr.write(line);
    }
  }
}

function textFields(fields: LogFields | undefined): string {
  if (fields === undefined) return '';
  let s = '';
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || k === 'suppressed') continue;
    const text = String(v);
    s += ` ${k}=${/^[^\s"=]+$/.test(text) ? text : JSON.stringify(text)}`;
  }
  return s;
}

/** The log file: ours (never through a symlink, not writable by others), 0600 when created, appended to. */
function openLogFile(file: string): number {
  return openOwnedFile(file, { write: true, create: true, append: true });
}
