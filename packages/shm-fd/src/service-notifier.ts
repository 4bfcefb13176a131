// What a Type=notify daemon tells its service manager over the sd_notify
// protocol: READY=1 once, STATUS= while it changes, STOPPING=1, WATCHDOG=1.
import { sdNotify } from './sd-notify';

type Env = Record<string, string | undefined>;

export interface ServiceNotifierOptions {
  env?: Env;
  pid?: number;
  /** Least time between two STATUS= messages; default 1000 ms (each one wakes the manager). */
  statusIntervalMs?: number;
  /** A message sent from a timer (STATUS=, WATCHDOG=1) failed; default: ignored, the daemon goes on serving. */
  onError?: (err: Error) => void;
}

/**
 * Sends a daemon's state to $NOTIFY_SOCKET; every method is a no-op when
 * NOTIFY_SOCKET is unset (not started by a service manager). Its timers are
 * unref'd: they never keep the process alive. close() stops them.
 */
export class ServiceNotifier {
  readonly #socket: string | undefined;
  readonly #interval: number;
  readonly #onError: (err: Error) => void;
  #ready = false;
  #closed = false;
  #lastStatus: string | undefined;
  #lastStatusAt = -Infinity;
  #pendingStatus: string | undefined;
  #statusTimer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  /** Half of WATCHDOG_USEC in ms, when the manager asked us for keep-alives. */
  readonly watchdogIntervalMs: number | undefined;

  constructor(options: ServiceNotifierOptions = {}) {
    const env = options.env ?? process.env;
    const socket = env['NOTIFY_SOCKET'];
    this.#socket = socket === undefined || socket === '' ? undefined : socket;
    this.#interval = options.statusIntervalMs ?? 1000;
    this.#onError = options.onError ?? (() => undefined);
    this.watchdogIntervalMs = this.#socket === undefined ? undefined : watchdogInterval(env, options.pid ?? process.pid);
    if (this.watchdogIntervalMs !== undefined) {
      this.#watchdog = setInterval(() => this.#send('WATCHDOG=1', true), this.watchdogIntervalMs).unref();
    }
  }

  /** Whether a service manager listens (NOTIFY_SOCKET is set). */
  get enabled(): boolean {
    return this.#socket !== undefined;
  }

  /** READY=1 (with a first STATUS= when given), once; later calls do nothing. Throws if it cannot be sent. */
  ready(status?: string): void {
    if (this.#ready || this.#closed || this.#socket === undefined) return;
    this.#ready = true;
    const line = status === undefined ? undefined : oneLine(status);
    sdNotify(line === undefined ? 'READY=1' : `READY=1\nSTATUS=${line}`, [], this.#socket);
    if (line !== undefined) {
      this.#lastStatus = line;
      this.#lastStatusAt = Date.now();
    }
  }

  /**
   * STATUS=text, when it differs from the last one sent, at most once per
   * interval: a change inside the interval is sent when it ends (the latest
   * text wins), so the manager never shows a stale summary for long.
   */
  status(text: string): void {
    if (this.#closed || this.#socket === undefined) return;
    const line = oneLine(text);
    if (line === this.#lastStatus && this.#pendingStatus === undefined) return;
    const wait = this.#lastStatusAt + this.#interval - Date.now();
    if (wait <= 0 && this.#statusTimer === undefined) {
      this.#sendStatus(line);
      return;
    }
    this.#pendingStatus = line;
    this.#statusTimer ??= setTimeout(() => {
      this.#statusTimer = undefined;
      const pending = this.#pendingStatus;
      this.#pendingStatus = undefined;
      if (pending !== undefined && pending !== this.#lastStatus) this.#sendStatus(pending);
    }, Math.max(0, wait)).unref();
  }

  /** STOPPING=1 (with a STATUS= when given): the daemon starts draining. Stops the watchdog. */
  stopping(status?: string): void {
    if (this.#closed || this.#socket === undefined) return;
    this.#stopTimers();
    const line = status === undefined ? undefined : oneLine(status);
    this.#send(line === undefined ? 'STOPPING=1' : `STOPPING=1\nSTATUS=${line}`);
  }

  /** Stops the timers; sends nothing more. */
  close(): void {
    this.#closed = true;
    this.#stopTimers();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #stopTimers(): void {
    clearInterval(this.#watchdog);
    clearTimeout(this.#statusTimer);
    this.#watchdog = undefined;
    this.#statusTimer = undefined;
    this.#pendingStatus = undefined;
  }

  #sendStatus(line: string): void {
    this.#lastStatus = line;
    this.#lastStatusAt = Date.now();
    this.#send(`STATUS=${line}`, true);
  }

  /**
   * `fromTimer`: a keep-alive or summary is dropped (onError gets EAGAIN)
   * rather than block the daemon's event loop when the manager's queue is
   * full; READY=1 and STOPPING=1 wait, as libsystemd's sd_notify does.
   */
  #send(state: string, fromTimer = false): void {
    try {
      sdNotify(state, [], this.#socket, { nonblocking: fromTimer });
    } catch (err) {
      this.#onError(err as Error);
    }
  }
}

/** STATUS= is one line: a newline would start another assignment. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

/**
 * sd_watchdog_enabled(3): WATCHDOG_USEC set to a positive number, and
 * WATCHDOG_PID, when set, naming this process. Keep-alives go out at half
 * the timeout, as systemd recommends.
 */
export function watchdogInterval(env: Env, pid: number): number | undefined {
  const usec = env['WATCHDOG_USEC'];
  if (usec === undefined || !/^[1-9][0-9]{0,15}$/.test(usec)) return undefined;
  const forPid = env['WATCHDOG_PID'];
  if (forPid !== undefined && forPid !== String(pid)) return undefined;
  // setInterval takes at most 2^31-1 ms and at least 1.
  return Math.min(2 ** 31 - 1, Math.max(1, Math.floor(Number(usec) / 2000)));
}
