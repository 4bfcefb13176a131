// The receiving service: accepts pushes on a TCP port and stores each file
// in one directory. Each connection is handled by a worker thread that owns
// a dup of the socket (receive-loop.ts); this thread only accepts and reports.
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';

import * as sys from '@shmkit/shm-fd/sys';

import { type PushCode, PushStatus } from './codes';
import { MAX_SIZE, MAX_TOKEN_LEN, TEMP_PREFIX, TEMP_SUFFIX } from './constants';
import { pushChannels } from './diagnostics';
import { PushError, systemCode } from './errors';
import type { ReceiveJob } from './jobs';
import type { ReceiveEvent } from './receive-loop';
import { startWorker } from './start-worker';
import { DEFAULT_HEADER_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CONCURRENT, DEFAULT_MAX_SIZE, MAX_LINGERING, RESERVE_WINDOW } from './limits';
import { encodeReply } from './wire';

export interface ReceiverOptions {
  /** Files land directly in this directory, nowhere else. */
  dir: string;
  host?: string;
  /** 0 picks a free port; see `address` after listen(). */
  port?: number;
  /** Serve on this listening TCP socket instead (socket activation; `host` and `port` are then unused). */
  fd?: number;
  /** Replace existing files (atomically, by rename). Default: refuse with EXISTS. */
  overwrite?: boolean;
  /** fdatasync the file and fsync the directory before acknowledging. */
  fsync?: boolean;
  /** Larger announced sizes are refused with TOO_LARGE before any data moves. Default 64 GiB (limits.ts). */
  maxSize?: number;
  /** The whole header must arrive within this. Default 10 s. */
  headerTimeoutMs?: number;
  /** A sender silent for this long after its header is dropped (TIMEOUT). Default 10 s. */
  idleTimeoutMs?: number;
  /** Connections served at once, handshakes included; further ones are refused with BUSY. Default 16. */
  maxConcurrent?: number;
  /** A shared secret every sender must present (sent in clear: use on trusted networks or a tunnel). */
  token?: string | Buffer;
}

export interface Transfer {
  id: number;
  remote: string;
  name?: string;
  size?: number;
  received: number;
}

export interface StoredEvent extends Transfer {
  name: string;
  size: number;
  digest: string;
  path: string;
  ms: number;
}

export interface FailedEvent extends Transfer {
  code: PushCode;
  message: string;
}

/** A connection turned away at accept (more than maxConcurrent, or closing): no transfer, no thread. */
export interface RefusedEvent {
  remote: string;
  code: 'ERR_RMMAP_PUSH_BUSY';
  message: string;
  /** false when MAX_LINGERING sockets were already closing: closed without a reply. */
  replied: boolean;
}

/**
 * Events: 'transfer' (Transfer, a connection arrived), 'header' (Transfer with
 * name and size), 'stored' (StoredEvent), 'failed' (FailedEvent), 'refused'
 * (RefusedEvent, a connection turned away with BUSY).
 */
export class PushReceiver extends EventEmitter {
  readonly dir: string;
  readonly #options: ReceiverOptions;
  readonly #server: net.Server;
  readonly #active = new Map<number, { transfer: Transfer; worker: Worker; socket: net.Socket; progress: BigInt64Array; stop: Int32Array; done: Promise<void> }>();
  readonly #sockets = new Set<net.Socket>();
  /** Sockets answered (BUSY or a verdict) and waiting for the peer to close; at most MAX_LINGERING. */
  #lingering = 0;
  #nextId = 1;
  #closing: Promise<void> | undefined;
  /**
   * Waits for the next connection, so a sender is not kept waiting for a
   * thread: the one started with the receiver, then each thread whose
   * transfer ended (threads are reused; a second connection arriving while
   * a transfer runs starts a new one).
   */
  #spare: Worker | undefined;

  private constructor(dir: string, options: ReceiverOptions) {
    super();
    this.dir = dir;
    this.#options = options;
    this.#server = net.createServer({ pauseOnConnect: true }, (socket) => this.#accept(socket));
  }

  /** Validates the directory, removes partial files left by dead receivers, and listens. */
  static async listen(options: ReceiverOptions): Promise<PushReceiver> {
    let dir: string;
    try {
      dir = fs.realpathSync(options.dir);
    } catch (err) {
      throw new PushError(systemCode(err, 'ENOENT'), `the receive directory ${options.dir} does not exist; create it first`, { cause: err });
    }
    if (!fs.statSync(dir).isDirectory()) throw new PushError('ENOTDIR', `${options.dir} is not a directory`);
    const token = options.token;
    if (token !== undefined && (Buffer.byteLength(token) < 1 || Buffer.byteLength(token) > MAX_TOKEN_LEN)) {
      throw new PushError('ERR_RMMAP_PUSH_BAD_TOKEN', `the token must be 1 to ${MAX_TOKEN_LEN} bytes`);
    }
    checkLimits(options);
    fs.accessSync(dir, fs.constants.W_OK);
    removeStaleParts(dir);
    const r = new PushReceiver(dir, options);
    await new Promise<void>((resolve, reject) => {
      r.#server.once('error', reject);
      r.#server.listen(options.fd !== undefined ? { fd: options.fd } : { host: options.host ?? '127.0.0.1', port: options.port ?? 0 }, () => {
        r.#server.off('error', reject);
        resolve();
      });
    });
    r.#server.on('error', (err) => r.emit('error', err));
    r.#spare = r.#newSpare();
    return r;
  }

  get address(): { host: string; port: number } {
    const a = this.#server.address() as net.AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** Transfers in progress, with bytes received so far. */
  transfers(): Transfer[] {
    return [...this.#active.values()].map((a) => ({ ...a.transfer, received: Number(Atomics.load(a.progress, 0)) }));
  }

  #newSpare(): Worker {
    return this.#makeSpare(startWorker());
  }

  #makeSpare(w: Worker): Worker {
    // An idle spare must not keep the process alive on its own.
    w.unref();
    w.on('error', (err) => this.emit('error', err));
    return w;
  }

  #accept(socket: net.Socket): void {
    const id = this.#nextId++;
    const transfer: Transfer = { id, remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, received: 0 };
    socket.on('error', () => undefined); // reported through the worker's verdict
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    const max = this.#options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT;
    if (this.#closing !== undefined || this.#active.size >= max) {
      const message = this.#closing !== undefined ? 'the receiver is shutting down; retry later' : `the receiver is busy (${max} transfers at once, --max-connections); retry later`;
      const replied = this.#lingering < MAX_LINGERING;
      if (replied) socket.end(encodeReply(PushStatus.BUSY, message));
      this.#linger(socket);
      this.emit('refused', { remote: transfer.remote, code: 'ERR_RMMAP_PUSH_BUSY', message, replied } satisfies RefusedEvent);
      return;
    }
    let fd: number;
    try {
      fd = sys.socketFd(socket);
    } catch {
      // Closed already (the sender went away): nothing to receive.
      socket.destroy();
      return;
    }
    this.emit('transfer', { ...transfer });
    const progressBuf = new SharedArrayBuffer(16);
    const progress = new BigInt64Array(progressBuf);
    const stopBuf = new SharedArrayBuffer(4);
    const stop = new Int32Array(stopBuf);
    const t0 = performance.now();
    const token = this.#options.token;
    // No replacement spare is started here: it would cost a thread start-up
    // (~80 ms CPU) competing with this transfer; the thread is recycled instead.
    const worker = this.#spare ?? startWorker();
    this.#spare = undefined;
    worker.ref();
    worker.removeAllListeners('error');
    worker.postMessage({
      op: 'receive',
      fd: sys.dup(fd),
      dir: this.dir,
      overwrite: this.#options.overwrite ?? false,
      fsync: this.#options.fsync ?? false,
      maxSize: this.#options.maxSize ?? DEFAULT_MAX_SIZE,
      ...(token === undefined ? {} : { tokenDigest: crypto.createHash('sha256').update(token).digest('hex') }),
      headerTimeoutMs: this.#options.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS,
      idleTimeoutMs: this.#options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      reserveWindow: RESERVE_WINDOW,
      progress: progressBuf,
      stop: stopBuf,
    } satisfies ReceiveJob);
    let verdict = false;
    let finished: (() => void) | undefined;
    const onMessage = (e: ReceiveEvent) => {
      if (e.type === 'idle') {
        finished?.();
        return;
      }
      if (e.type === 'header') {
        transfer.name = e.name;
        transfer.size = e.size;
        this.emit('header', { ...transfer });
      } else if (e.type === 'stored') {
        verdict = true;
        const stored: StoredEvent = { ...transfer, name: e.name, size: e.size, received: e.size, digest: e.digest, path: e.path, ms: performance.now() - t0 };
        if (pushChannels.stored.hasSubscribers) pushChannels.stored.publish(stored);
        this.emit('stored', stored);
      } else {
        verdict = true;
        const failed: FailedEvent = { ...transfer, received: Number(Atomics.load(progress, 0)), code: e.code, message: e.message };
        if (pushChannels.failed.hasSubscribers) pushChannels.failed.publish(failed);
        this.emit('failed', failed);
      }
    };
    worker.on('message', onMessage);
    const done = new Promise<void>((resolve) => {
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        this.#active.delete(id);
        // The worker wrote its reply on its own dup. Drain whatever the sender
        // still sends so closing does not reset the connection under the reply.
        socket.end();
        this.#linger(socket);
        resolve();
      };
      const onError = (err: Error) => {
        if (!verdict) this.emit('failed', { ...transfer, code: 'ERR_RMMAP_PUSH_INTERNAL', message: `the receive worker crashed: ${err.message}` });
        verdict = true;
      };
      worker.once('error', onError);
      worker.once('exit', end);
      finished = () => {
        // The job is over and its fds are closed: the thread becomes the
        // spare, or ends when there already is one (or we are closing).
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', end);
        if (this.#spare === undefined && this.#closing === undefined) {
          this.#spare = this.#makeSpare(worker);
          end();
        } else {
          // close() waits for `done`, so it also waits for the thread to be gone.
          worker.once('exit', end);
          worker.postMessage(null);
        }
      };
    });
    this.#active.set(id, { transfer, worker, socket, progress, stop, done });
  }

  /**
   * Lets the peer read our last reply and close first (see linger()), unless
   * MAX_LINGERING sockets already wait so: then it closes at once, so that
   * connecting in a loop cannot pile up sockets.
   */
  #linger(socket: net.Socket): void {
    if (this.#lingering >= MAX_LINGERING) {
      socket.destroy();
      return;
    }
    this.#lingering++;
    socket.once('close', () => this.#lingering--);
    linger(socket);
  }

  /** Stops accepting; waits up to graceMs for running transfers, then cuts them. Idempotent. */
  close(graceMs = 5000): Promise<void> {
    return (this.#closing ??= this.#close(graceMs));
  }

  async #close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const spare = this.#spare;
    this.#spare = undefined;
    if (spare !== undefined) {
      const gone = new Promise((resolve) => spare.once('exit', resolve));
      // The idle spare is unref'd; while close() waits for it to exit it must
      // hold the loop open, or a program ending in `await receiver.close()`
      // exits (code 13) with the promise unsettled.
      spare.ref();
      spare.postMessage(null);
      await gone;
    }
    const all = Promise.all([...this.#active.values()].map((a) => a.done));
    const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), graceMs).unref());
    if ((await Promise.race([all, timer])) === 'late') {
      // Ask the transfers to give up: each thread notices within a second
      // (its waits are at most that long), removes its temp file, closes its
      // fds and exits. terminate() would skip that cleanup, so it is only
      // the last resort for a thread that does not answer.
      const late = [...this.#active.values()];
      for (const a of late) Atomics.store(a.stop, 0, 1);
      const gone = Promise.all(late.map((a) => a.done));
      const stuck = new Promise<'stuck'>((resolve) => setTimeout(() => resolve('stuck'), 5000).unref());
      if ((await Promise.race([gone, stuck])) === 'stuck') await Promise.all(late.map((a) => a.worker.terminate()));
    }
    // destroy() releases the fd on the next turn of the loop; wait for it.
    await Promise.all(
      [...this.#sockets].map((s) => {
        const gone = new Promise((resolve) => s.once('close', resolve));
        s.destroy();
        return gone;
      }),
    );
    await closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Refuses option values that would disable a limit by accident (NaN, negative, fractional). */
function checkLimits(options: ReceiverOptions): void {
  const check = (name: keyof ReceiverOptions, value: number | undefined, min: number, max: number) => {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= min && value <= max)) {
      throw new PushError('ERR_OUT_OF_RANGE', `${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
    }
  };
  check('maxSize', options.maxSize, 0, MAX_SIZE);
  // About 24 days: anything longer is a mistake, not a limit.
  check('headerTimeoutMs', options.headerTimeoutMs, 1, 2 ** 31 - 1);
  check('idleTimeoutMs', options.idleTimeoutMs, 1, 2 ** 31 - 1);
  check('maxConcurrent', options.maxConcurrent, 1, 65_536);
}

/**
 * Reads and drops whatever the sender still sends, so that closing does not
 * reset the connection under our last reply; gives up after 2 s.
 */
function linger(socket: net.Socket): void {
  socket.resume();
  setTimeout(() => socket.destroy(), 2000).unref();
}

/** Partial files are named with the receiver's pid; those of dead receivers are garbage. */
function removeStaleParts(dir: string): void {
  const re = new RegExp(`^${TEMP_PREFIX.replace(/[.]/g, '\\.')}(\\d+)-[0-9a-f]+${TEMP_SUFFIX.replace(/[.]/g, '\\.')}$`);
  for (const entry of fs.readdirSync(dir)) {
    const m = re.exec(entry);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && !sys.processAlive(pid)) fs.rmSync(path.join(dir, entry), { force: true });
  }
}
