// tinyd: accepts registrations on a Unix socket, gives each client a private
// channel (a memfd with request slots and doorbell words), and serves the
// slots of all clients round-robin on W worker threads (small chunks inline).
import fs from 'node:fs';
import type net from 'node:net';

import { listenActivated, ServiceNotifier } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { codecByName, type Codec } from '../codec/codec';
import { encodeWelcome, type Hello } from '../protocol/handshake';
import { channelLength, H_MAGIC, H_SLOT_SIZE, H_SLOTS, H_VERSION, MAGIC, MAX_SLOTS, VERSION } from '../protocol/layout';
import { ClientConn } from './client-conn';
import { ConnectionGate } from './connection-gate';
import { DaemonLog } from './daemon-log';
import { listenOnSocket } from './listen-socket';
import { Scheduler } from './scheduler';
import { clientStatus, ThroughputMeter, type DaemonStatus } from './status';
import { resolveOptions, type ResolvedTinydOptions, type TinydOptions } from './tinyd-options';

export { DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, type TinydOptions } from './tinyd-options';
export type { ClientStatus, DaemonStatus } from './status';

export class Tinyd {
  readonly socketPath: string;
  readonly nSms: number;
  readonly smsSize: number;
  readonly qos: boolean;
  readonly codec: Codec;
  readonly #slotsPerClient: number;
  readonly #log: DaemonLog;
  readonly #server: net.Server;
  readonly #gate: ConnectionGate;
  readonly #sched: Scheduler;
  /** Registrations waiting for a free segment. */
  readonly #waiting: Array<{ socket: net.Socket; slots: number; pid: number; priority: number; onAdmitted: (c: ClientConn) => void }> = [];
  readonly #startedAt = Date.now();
  readonly #throughput: ThroughputMeter;
  /** false when the socket came from socket activation: its file belongs to the service manager. */
  readonly ownsSocketFile: boolean;
  readonly #notifier: ServiceNotifier;
  #statusTimer: NodeJS.Timeout | undefined;
  #nextId = 1;
  #usedSegments = 0;
  #closing: Promise<void> | undefined;

  private constructor(opts: ResolvedTinydOptions, codec: Codec, log: DaemonLog, server: net.Server, socketPath: string, ownsSocketFile: boolean) {
    this.socketPath = socketPath;
    this.ownsSocketFile = ownsSocketFile;
    this.nSms = opts.nSms;
    this.smsSize = opts.smsSize;
    this.qos = opts.qos;
    this.codec = codec;
    this.#slotsPerClient = opts.slotsPerClient;
    this.#log = log;
    this.#server = server;
    this.#sched = new Scheduler({
      smsSize: this.smsSize,
      codec: this.codec,
      qos: this.qos,
      workers: opts.workers,
      inlineMax: opts.inlineMax,
      log,
      onReleased: (c) => {
        this.#usedSegments -= c.slots;
        this.#admit();
        this.#closeCheck?.();
      },
    });
    this.#throughput = new ThroughputMeter(() => this.#sched.totals.bytesIn);
    this.#gate = new ConnectionGate(
      { maxConnections: opts.maxConnections, handshakeTimeoutMs: opts.handshakeTimeoutMs, log },
      { status: () => this.status(), closing: () => this.#closing !== undefined, register: (socket, h, pid) => this.#queueRegistration(socket, h, pid) },
    );
    server.on('connection', (s) => this.#gate.accept(s));
    this.#notifier = new ServiceNotifier({ onError: (err) => log.limited('notify', `sd_notify failed: ${err.message}`, { code: (err as { code?: string }).code }, 'warn') });
  }

  /**
   * Validates options, takes the listening socket passed by socket
   * activation (LISTEN_FDS, name "tinyd", else the first) or binds the
   * socket (0600), and starts serving. Under a service manager
   * (NOTIFY_SOCKET) it then sends READY=1 and a STATUS= summary.
   */
  static async start(options: TinydOptions): Promise<Tinyd> {
    const opts = resolveOptions(options);
    // Before binding: a codec that was asked for by name and does not load stops the start.
    const codec = codecByName(opts.codec, (line) => opts.logger.warn(line));
    let server: net.Server;
    let socketPath = opts.socketPath;
    let activated: Awaited<ReturnType<typeof listenActivated>>;
    try {
      activated = await listenActivated({ name: 'tinyd', families: ['unix'] });
      if (activated === null) {
        server = await listenOnSocket(opts.socketPath, options.socketPath === undefined);
      } else {
        server = activated.server;
        // Node cannot tell the path of a socket it was handed; getsockname can. An unnamed one keeps --socket's.
        if (activated.socket.path !== null) socketPath = activated.socket.path;
      }
    } catch (err) {
      codec.close?.();
      throw err;
    }
    const d = new Tinyd(opts, codec, new DaemonLog(opts.logger), server, socketPath, activated === null);
    opts.logger.info(
      `listening on ${socketPath}${activated === null ? '' : ` (socket activation, fd ${activated.socket.fd})`} (pid ${process.pid}, ${opts.nSms} segments × ${opts.smsSize / 1024} KB, ${opts.workers} workers, codec ${d.codec.name}${opts.qos ? ', qos' : ''})`,
      { socket: socketPath, activated: activated !== null },
    );
    try {
      d.#notifier.ready(d.summary());
    } catch (err) {
      // The daemon serves all the same; a Type=notify unit will time out and say why.
      opts.logger.error(`sd_notify READY=1 failed: ${(err as Error).message}`, { code: (err as { code?: string }).code });
    }
    if (d.#notifier.enabled) d.#statusTimer = setInterval(() => d.#notifier.status(d.summary()), 1000).unref();
    return d;
  }

  /** One line for STATUS=: clients, requests (chunks) served and bytes. */
  summary(): string {
    const t = this.#sched.totals;
    return `${this.#sched.clients.size} clients, ${this.#waiting.length} waiting, ${t.chunks} chunks, ${t.bytesIn} bytes in, ${t.bytesOut} bytes out, ${t.failures} failures`;
  }

  get workers(): number {
    return this.#sched.pool?.size ?? 0;
  }

  status(): DaemonStatus {
    const now = Date.now();
    return {
      pid: process.pid,
      socket: this.socketPath,
      codec: this.codec.name,
      workers: this.workers,
      qos: this.qos,
      uptimeMs: now - this.#startedAt,
      segments: { total: this.nSms, used: this.#usedSegments, size: this.smsSize, waitingClients: this.#waiting.length },
      clients: [...this.#sched.clients.values()].map((c) => clientStatus(c, now)),
      totals: { ...this.#sched.totals },
      throughput: this.#throughput.rate(now),
    };
  }

  // ---- registration -------------------------------------------------------

  /** Queues a registration for a segment; returns what to do when its socket closes. */
  #queueRegistration(socket: net.Socket, h: Hello, peerPid: number): () => void {
    let client: ClientConn | undefined;
    const slots = Math.min(h.slots === 0 ? this.#slotsPerClient : h.slots, MAX_SLOTS, this.nSms);
    socket.pause();
    this.#waiting.push({ socket, slots, pid: peerPid, priority: Math.min(h.priority, 7), onAdmitted: (c) => (client = c) });
    this.#admit();
    return () => {
      const w = this.#waiting.findIndex((x) => x.socket === socket);
      if (w >= 0) this.#waiting.splice(w, 1);
      if (client !== undefined) this.#sched.clientGone(client);
    };
  }

  /** Admits waiting registrations while segments are free. */
  #admit(): void {
    while (this.#waiting.length > 0 && this.#usedSegments < this.nSms) {
      const w = this.#waiting.shift()!;
      if (w.socket.destroyed) continue;
      const slots = Math.min(w.slots, this.nSms - this.#usedSegments);
      let c: ClientConn;
      try {
        c = this.#register(w.socket, slots, w.pid, w.priority);
      } catch (err) {
        this.#log.limited(`pid ${w.pid} registration`, `registration of pid ${w.pid} failed: ${(err as Error).message}`, { pid: w.pid, code: (err as { code?: string }).code }, 'warn');
        w.socket.destroy();
        continue;
      }
      w.onAdmitted(c);
      w.socket.resume();
    }
    if (this.#waiting.length > 0) this.#log.limited('waiting', `${this.#waiting.length} client(s) waiting for a free segment`);
  }

  #register(socket: net.Socket, slots: number, pid: number, priority: number): ClientConn {
    const id = this.#nextId++;
    const fd = sys.memfdCreate(`tinyfile-client-${id}`);
    let mapping: sys.Mapping;
    try {
      sys.ftruncate(fd, channelLength(slots, this.smsSize));
      // The client gets this fd: sealed, it can never shrink the file under
      // our mapping (our next access would be a SIGBUS) or grow it.
      sys.sealSize(fd);
      mapping = sys.map(fd);
    } catch (err) {
      sys.close(fd);
      throw err;
    }
    const c = new ClientConn({ id, pid, priority, socket, fd, mapping, slots });
    const w = c.words;
    Atomics.store(w, H_VERSION, VERSION);
    Atomics.store(w, H_SLOTS, slots);
    Atomics.store(w, H_SLOT_SIZE, this.smsSize);
    // The magic goes last: a half-initialised header never looks valid.
    Atomics.store(w, H_MAGIC, MAGIC);
    const welcome = encodeWelcome({ clientId: id, slots, slotSize: this.smsSize, daemonPid: process.pid, codec: this.codec.name });
    try {
      sys.sendWithFds(sys.socketFd(socket), welcome, [fd], { nonblocking: true });
    } catch (err) {
      c.release();
      throw err;
    }
    this.#usedSegments += slots;
    this.#sched.add(c);
    this.#log.limited(`pid ${pid} registered`, `client ${id} registered (pid ${pid}, ${slots} segments, priority ${priority})`, { client: id, pid, segments: slots });
    this.#sched.serve(c);
    return c;
  }

  // ---- shutdown -----------------------------------------------------------

  #closeCheck: (() => void) | undefined;

  /**
   * Graceful stop: refuse new clients, let requests already submitted finish
   * (at most `drainMs`), disconnect everyone, remove the socket.
   */
  close(drainMs = 10_000): Promise<void> {
    return (this.#closing ??= this.#close(drainMs));
  }

  async #close(drainMs: number): Promise<void> {
    this.#log.line('shutting down: finishing in-flight requests');
    clearInterval(this.#statusTimer);
    this.#notifier.stopping(`draining: ${this.summary()}`);
    const serverClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const w of this.#waiting.splice(0)) w.socket.destroy();
    const idle = () => [...this.#sched.clients.values()].every((c) => c.inFlightCount === 0 && c.ready.length === 0 && !this.#sched.hasRequests(c));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, drainMs);
      const check = () => {
        this.#sched.pass();
        if (idle()) {
          clearTimeout(timer);
          clearInterval(poll);
          resolve();
        }
      };
      const poll = setInterval(check, 20);
      this.#closeCheck = check;
      check();
    });
    this.#closeCheck = undefined;
    for (const c of [...this.#sched.clients.values()]) {
      c.socket.destroy();
      this.#sched.clientGone(c);
    }
    // Handshakes and status answers still open.
    this.#gate.destroyAll();
    await this.#sched.close();
    this.codec.close?.();
    this.#throughput.stop();
    this.#server.close();
    await serverClosed;
    this.removeSocketFile();
    this.#notifier.close();
    this.#log.line('stopped');
  }

  /**
   * Removes the socket file this daemon bound (never an activated one, which
   * belongs to the service manager). Synchronous: also for `process.on('exit')`.
   */
  removeSocketFile(): void {
    if (this.ownsSocketFile) fs.rmSync(this.socketPath, { force: true });
  }

}
