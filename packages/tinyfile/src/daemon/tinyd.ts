// tinyd: accepts registrations on a Unix socket, gives each client a private
// channel (a memfd with request slots and doorbell words), and serves the
// slots of all clients round-robin on W worker threads (small chunks inline).
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';

import { LogLimiter } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { codecByName, type Codec } from '../codec/codec';
import { TinyFileError } from '../errors';
import { decodeHello, encodeRefusal, encodeWelcome, HELLO_BYTES, KIND_STATUS, REFUSED_BUSY, REFUSED_PROTOCOL } from '../protocol/handshake';
import {
  channelLength,
  H_MAGIC,
  H_SLOT_SIZE,
  H_SLOTS,
  H_VERSION,
  MAGIC,
  MAX_SLOT_SIZE,
  MAX_SLOTS,
  MIN_SLOT_SIZE,
  OP,
  S_DISPATCHED_AT,
  S_GROUP,
  S_SEEN_AT,
  S_STATE,
  S_STATUS,
  SLOT_WORDS,
  SLOTS_AT,
  STATE_BUSY,
  STATE_DONE,
  STATE_FAILED,
  slotMessage,
  STATUS,
  VERSION,
} from '../protocol/layout';
import { defaultSocketPath, prepareSocketDir } from '../protocol/socket-path';
import { ClientConn } from './client-conn';
import { loadRequest, scratchFor, serveSlot, type SlotRequest } from './serve';
import { WorkerPool } from './worker-pool';
import type { WorkerDone } from './worker-messages';

// Longest wait for a next request after serving small ones inline (see
// #spinForWork), and the longest run of back-to-back spins before the event
// loop gets a turn. None on one CPU: the client could not run meanwhile.
const SPIN_MAX_US = os.availableParallelism() > 1 ? 200 : 0;
const SPIN_SESSION_US = 2000;
/**
 * Requests one client's pump may take back to back before it gives the
 * event loop a turn: its queue can look endless (a client can write its own
 * queue's positions), and sockets, signals and other clients' doorbells are
 * only served between turns.
 */
const PUMP_BURST = 64;

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
  codec?: string;
  /** Segments a client gets when it does not ask for a number. */
  slotsPerClient?: number;
  /** Chunks whose work is at most this many bytes run inline on the main thread. */
  inlineMax?: number;
  log?: (line: string) => void;
}

export interface ClientStatus {
  id: number;
  pid: number;
  priority: number;
  segments: number;
  inFlight: number;
  queued: number;
  chunks: number;
  failures: number;
  bytesIn: number;
  bytesOut: number;
  connectedMs: number;
}

export interface DaemonStatus {
  pid: number;
  socket: string;
  codec: string;
  workers: number;
  qos: boolean;
  uptimeMs: number;
  segments: { total: number; used: number; size: number; waitingClients: number };
  clients: ClientStatus[];
  totals: { clients: number; chunks: number; failures: number; bytesIn: number; bytesOut: number };
  /** Input bytes per second over the last few seconds. */
  throughput: number;
}

export class Tinyd {
  readonly socketPath: string;
  readonly nSms: number;
  readonly smsSize: number;
  readonly qos: boolean;
  readonly codec: Codec;
  readonly #slotsPerClient: number;
  readonly #inlineMax: number;
  readonly #log: (line: string) => void;
  /** Lines a client can cause go through this: one per key per second. */
  readonly #limiter = new LogLimiter();
  readonly #handshakeTimeoutMs: number;
  readonly #maxConnections: number;
  readonly #connections = new Set<net.Socket>();
  readonly #server: net.Server;
  readonly #pool: WorkerPool | undefined;
  readonly #scratch: { work: Buffer; chunk: Buffer };
  readonly #clients = new Map<number, ClientConn>();
  /** Clients with finished slots not yet on their response queue (see #flush). */
  readonly #unflushed = new Set<ClientConn>();
  /** Registrations waiting for a free segment. */
  readonly #waiting: Array<{ socket: net.Socket; slots: number; pid: number; priority: number; onAdmitted: (c: ClientConn) => void }> = [];
  readonly #startedAt = Date.now();
  readonly #samples: Array<[number, number]> = [];
  readonly #sampler: NodeJS.Timeout;
  #nextId = 1;
  #usedSegments = 0;
  #dispatchSeq = 0;
  #cursor = 0;
  #passQueued = false;
  #spinning = false;
  #servedInline = false;
  #spinUs = SPIN_MAX_US;
  #spinSkips = 0;
  #closing: Promise<void> | undefined;
  #totals = { clients: 0, chunks: 0, failures: 0, bytesIn: 0, bytesOut: 0 };

  private constructor(opts: Required<Omit<TinydOptions, 'log'>> & { log: (line: string) => void }, server: net.Server) {
    this.#handshakeTimeoutMs = opts.handshakeTimeoutMs;
    this.#maxConnections = opts.maxConnections;
    this.socketPath = opts.socketPath;
    this.nSms = opts.nSms;
    this.smsSize = opts.smsSize;
    this.qos = opts.qos;
    this.codec = codecByName(opts.codec);
    this.#slotsPerClient = opts.slotsPerClient;
    this.#inlineMax = opts.inlineMax;
    this.#log = opts.log;
    this.#server = server;
    this.#scratch = scratchFor(this.smsSize);
    this.#pool =
      opts.workers > 0
        ? new WorkerPool(opts.workers, this.codec.name, this.smsSize, (d) => this.#onWorkerDone(d), (err) => this.#logLimited('worker', `worker failed: ${err.message}`))
        : undefined;
    this.#sampler = setInterval(() => {
      this.#samples.push([Date.now(), this.#totals.bytesIn]);
      if (this.#samples.length > 6) this.#samples.shift();
    }, 1000).unref();
    server.on('connection', (s) => this.#onConnection(s));
  }

  /** Validates options, binds the socket (0600) and starts serving. */
  static async start(options: TinydOptions): Promise<Tinyd> {
    const opts = {
      socketPath: options.socketPath ?? defaultSocketPath(),
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      nSms: options.nSms ?? 32,
      smsSize: options.smsSize ?? 1024 * 1024,
      workers: options.workers ?? os.availableParallelism(),
      qos: options.qos ?? false,
      codec: options.codec ?? 'js',
      slotsPerClient: options.slotsPerClient ?? 4,
      inlineMax: options.inlineMax ?? 64 * 1024,
      log: options.log ?? ((line: string) => process.stderr.write(`tinyd: ${line}\n`)),
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
    codecByName(opts.codec);
    prepareSocketDir(opts.socketPath, options.socketPath === undefined);
    await removeStaleSocket(opts.socketPath);
    const server = net.createServer({ allowHalfOpen: false });
    // The socket file is created by bind(2) with the umask applied: make it 0600 from the start.
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.socketPath, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(old);
    }
    const d = new Tinyd(opts, server);
    opts.log(
      `listening on ${opts.socketPath} (pid ${process.pid}, ${opts.nSms} segments × ${opts.smsSize / 1024} KB, ${opts.workers} workers, codec ${d.codec.name}${opts.qos ? ', qos' : ''})`,
    );
    return d;
  }

  get workers(): number {
    return this.#pool?.size ?? 0;
  }

  status(): DaemonStatus {
    const now = Date.now();
    const first = this.#samples[0];
    const throughput = first === undefined || now - first[0] < 200 ? 0 : ((this.#totals.bytesIn - first[1]) * 1000) / (now - first[0]);
    return {
      pid: process.pid,
      socket: this.socketPath,
      codec: this.codec.name,
      workers: this.workers,
      qos: this.qos,
      uptimeMs: now - this.#startedAt,
      segments: { total: this.nSms, used: this.#usedSegments, size: this.smsSize, waitingClients: this.#waiting.length },
      clients: [...this.#clients.values()].map((c) => ({
        id: c.id,
        pid: c.pid,
        priority: c.priority,
        segments: c.slots,
        inFlight: c.inFlightCount,
        queued: c.ready.length,
        chunks: c.chunks,
        failures: c.failures,
        bytesIn: c.bytesIn,
        bytesOut: c.bytesOut,
        connectedMs: now - c.connectedAt,
      })),
      totals: { ...this.#totals },
      throughput,
    };
  }

  // ---- registration -------------------------------------------------------

  /**
   * Writes a line a client can cause at most once per second per `key`
   * (see LogLimiter), with the count of lines held back since the last one.
   */
  #logLimited(key: string, line: string): void {
    const d = this.#limiter.allow(key);
    if (d.log) this.#log(d.dropped > 0 ? `${line} (${d.dropped} similar suppressed)` : line);
  }

  #onConnection(socket: net.Socket): void {
    socket.on('error', () => {
      // 'close' follows; a client vanishing is routine.
    });
    if (this.#connections.size >= this.#maxConnections) {
      this.#logLimited('connection-limit', `refused a connection: ${this.#connections.size} connections are open (--max-connections ${this.#maxConnections})`);
      refuse(socket, REFUSED_BUSY, `tinyd has ${this.#connections.size} connections open, its limit (--max-connections ${this.#maxConnections}); retry later`);
      return;
    }
    this.#connections.add(socket);
    // Who connected, as the kernel recorded it: log lines are limited per peer process.
    let peerPid = 0;
    try {
      peerPid = sys.peerCredentials(sys.socketFd(socket)).pid;
    } catch {
      // the peer is already gone; 'close' follows
    }
    let hello: Buffer | undefined = Buffer.alloc(0);
    let client: ClientConn | undefined;
    // Until its HELLO is in, a connection holds a timer and at most HELLO_BYTES of state.
    const handshakeTimer = setTimeout(() => {
      this.#logLimited(`pid ${peerPid} handshake`, `closed a connection from pid ${peerPid}: no complete hello within ${this.#handshakeTimeoutMs} ms`);
      socket.destroy();
    }, this.#handshakeTimeoutMs);
    socket.on('data', (d: Buffer) => {
      // After the hello the socket only tells us when the client is gone; what else it sends is dropped.
      if (hello === undefined) return;
      hello = Buffer.concat([hello, d.subarray(0, HELLO_BYTES - hello.length)]);
      if (hello.length < HELLO_BYTES) return;
      const bytes = hello;
      hello = undefined;
      let h;
      try {
        h = decodeHello(bytes);
      } catch (err) {
        this.#logLimited(`pid ${peerPid} refused`, `refused a connection from pid ${peerPid}: ${(err as Error).message}`);
        refuse(socket, REFUSED_PROTOCOL, (err as Error).message);
        return;
      }
      if (h.kind === KIND_STATUS) {
        // The timer stays: a peer that does not read its status is closed all the same.
        socket.end(JSON.stringify(this.status()), () => socket.destroy());
        return;
      }
      if (this.#closing !== undefined) {
        refuse(socket, REFUSED_BUSY, 'tinyd is shutting down');
        return;
      }
      clearTimeout(handshakeTimer);
      const slots = Math.min(h.slots === 0 ? this.#slotsPerClient : h.slots, MAX_SLOTS, this.nSms);
      socket.pause();
      this.#waiting.push({ socket, slots, pid: peerPid, priority: Math.min(h.priority, 7), onAdmitted: (c) => (client = c) });
      this.#admit();
    });
    socket.on('close', () => {
      clearTimeout(handshakeTimer);
      this.#connections.delete(socket);
      const w = this.#waiting.findIndex((x) => x.socket === socket);
      if (w >= 0) this.#waiting.splice(w, 1);
      if (client !== undefined) this.#onClientGone(client);
    });
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
        this.#logLimited(`pid ${w.pid} registration`, `registration of pid ${w.pid} failed: ${(err as Error).message}`);
        w.socket.destroy();
        continue;
      }
      w.onAdmitted(c);
      w.socket.resume();
    }
    if (this.#waiting.length > 0) this.#logLimited('waiting', `${this.#waiting.length} client(s) waiting for a free segment`);
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
    this.#clients.set(id, c);
    this.#totals.clients++;
    this.#logLimited(`pid ${pid} registered`, `client ${id} registered (pid ${pid}, ${slots} segments, priority ${priority})`);
    void this.#pump(c);
    return c;
  }

  /** Waits on the client's request queue (a doorbell wait: no thread, no polling) and queues what arrives. */
  async #pump(c: ClientConn): Promise<void> {
    let burst = 0;
    while (!c.dead) {
      try {
        // An empty queue means the pop below sleeps until a doorbell: the event loop turns.
        if (c.requests.peekLength() === -1) burst = 0;
        else if (++burst > PUMP_BURST) {
          burst = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (c.dead) return;
        }
        const m = await c.requests.pop();
        if (m === null) continue;
        this.#enqueue(c, m);
        this.#take(c);
      } catch (err) {
        this.#queueBroken(c, err);
        return;
      }
      // Serve now rather than in a later microtask, then look for the next
      // request before going back to sleep (see #spinForWork).
      this.#pass();
      if (this.#spinForWork()) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Queues every request already waiting on a client's queue. Bounded
   * whatever the queue's words say: each message must name a slot that is
   * not already queued or running, or the client is dropped, so at most
   * `slots` + 1 messages are taken.
   */
  #take(c: ClientConn): void {
    for (let n = c.requests.tryPop(); n !== null && !c.dead; n = c.requests.tryPop()) this.#enqueue(c, n);
  }

  #queueBroken(c: ClientConn, err: unknown): void {
    this.#drop(c, `request queue unusable (${(err as Error).message})`);
  }

  /** The client broke its side of the channel: that client is done, nobody else is affected. */
  #drop(c: ClientConn, why: string): void {
    if (c.dead) return;
    this.#logLimited(`pid ${c.pid} dropped`, `client ${c.id} (pid ${c.pid}): ${why}; disconnecting it`);
    c.socket.destroy();
    this.#onClientGone(c);
  }

  /**
   * After serving small requests inline, keep checking every client's request
   * queue for a short while (shared-memory loads only) before sleeping. A
   * client doing one request after another sends the next one within tens of
   * microseconds; catching it here skips the doorbell wake-up (write(2), epoll,
   * a stream 'data' event), which measured ~80 µs of the ~150 µs round trip.
   * Adaptive like the client's spin: misses halve the budget, hits double
   * it, a full probe every 32 skipped spins. Never spins while a worker runs
   * (its completion message needs the event loop). A session that keeps
   * finding work is cut off after SPIN_SESSION_US; the caller then yields to
   * the event loop once (returns true) so sockets, timers and workers run.
   */
  #spinForWork(): boolean {
    if (this.#spinning || SPIN_MAX_US === 0 || !this.#servedInline || (this.#pool !== undefined && this.#pool.idle < this.#pool.size)) return false;
    this.#servedInline = false;
    let budget = this.#spinUs;
    if (budget < 1) {
      if (++this.#spinSkips % 32 !== 0) return false;
      budget = SPIN_MAX_US;
    }
    this.#spinning = true;
    const start = performance.now();
    let until = start + budget / 1000;
    let hit = false;
    try {
      for (let i = 1; ; i++) {
        let found = false;
        for (const c of this.#clients.values()) {
          if (c.dead) continue;
          try {
            if (c.requests.peekLength() === -1) continue;
            this.#take(c);
            found = true;
          } catch (err) {
            this.#queueBroken(c, err);
          }
        }
        if (found) {
          hit = true;
          this.#pass();
          const now = performance.now();
          if (now - start > SPIN_SESSION_US / 1000) return true;
          // Work went to a worker: its completion needs the event loop.
          if (this.#pool !== undefined && this.#pool.idle < this.#pool.size) return false;
          until = now + budget / 1000;
          continue;
        }
        if ((i & 15) === 0 && performance.now() >= until) return false;
      }
    } finally {
      this.#spinning = false;
      // A hit (a probe's included) restores at least the budget that caught it.
      this.#spinUs = hit ? Math.min(SPIN_MAX_US, budget * 2 + 1) : budget / 2;
    }
  }

  #enqueue(c: ClientConn, m: Buffer): void {
    const slot = m.length === 4 ? m.readUInt32LE(0) : -1;
    // A slot number comes from the peer: it must name one of its slots that is not already ours.
    // An honest client never sends another, so the client is dropped (ERR_TINYFILE_BAD_REQUEST in the log).
    if (slot < 0 || slot >= c.slots || c.inFlight[slot] || c.queued[slot]) {
      c.failures++;
      this.#totals.failures++;
      this.#drop(c, `ERR_TINYFILE_BAD_REQUEST: its request queue named slot ${slot}, not a free slot of this client (it has ${c.slots})`);
      return;
    }
    c.queued[slot] = true;
    c.seenAt[slot] = this.#dispatchSeq;
    c.group[slot] = Atomics.load(c.words, SLOTS_AT / 4 + slot * SLOT_WORDS + S_GROUP);
    c.ready.push(slot);
  }

  #onClientGone(c: ClientConn): void {
    if (c.dead) return;
    c.dead = true;
    c.ready.length = 0;
    for (let s = 0; s < c.slots; s++) c.queued[s] = false;
    this.#logLimited(`pid ${c.pid} disconnected`, `client ${c.id} disconnected (pid ${c.pid}${c.inFlightCount > 0 ? `, ${c.inFlightCount} chunks still running` : ''})`);
    this.#maybeRelease(c);
  }

  /** A dead client's channel is released once no executor still writes into it. */
  #maybeRelease(c: ClientConn): void {
    if (!c.dead || c.inFlightCount > 0 || c.released) return;
    this.#pool?.broadcast({ type: 'release', clientId: c.id });
    c.release();
    this.#clients.delete(c.id);
    this.#usedSegments -= c.slots;
    this.#admit();
    this.#closeCheck?.();
  }

  // ---- scheduling ---------------------------------------------------------

  #schedulePass(): void {
    if (this.#passQueued) return;
    this.#passQueued = true;
    queueMicrotask(() => {
      this.#passQueued = false;
      this.#pass();
    });
  }

  /** Hands out queued requests, one chunk per client per round. */
  #pass(): void {
    const clients = [...this.#clients.values()].filter((c) => !c.dead && c.ready.length > 0);
    if (clients.length === 0) return;
    for (let progressed = true; progressed; ) {
      progressed = false;
      const order = this.#order(clients);
      for (const c of order) {
        const slot = c.ready[0];
        if (slot === undefined || c.dead) continue;
        if (this.#dispatch(c, slot)) {
          c.ready.shift();
          progressed = true;
        } else if (this.qos) {
          break; // strict priority: lower priorities wait for a worker too
        }
      }
      this.#cursor++;
      // A client with nothing more to serve this pass gets its answers now;
      // one still queued gets them all at once at the end.
      for (const c of order) if (c.ready.length === 0 && this.#unflushed.has(c)) this.#flush(c);
    }
    this.#flushAll();
  }

  /** Round-robin order starting at a rotating cursor; with --qos, by priority first. */
  #order(clients: ClientConn[]): ClientConn[] {
    const n = clients.length;
    const start = this.#cursor % n;
    const rotated = clients.slice(start).concat(clients.slice(0, start));
    if (this.qos) rotated.sort((a, b) => b.priority - a.priority);
    return rotated;
  }

  #dispatch(c: ClientConn, slot: number): boolean {
    const h = SLOTS_AT / 4 + slot * SLOT_WORDS;
    // Loaded once here; the executor gets these values (serve.ts checks their ranges).
    const req: SlotRequest = c.request[slot] ??= loadRequest(c.words, slot);
    const { op, inLen } = req;
    const work = op === OP.DECOMPRESS_RAW ? req.outLimit : op === OP.DECOMPRESS_FRAMED ? 4 * inLen : inLen;
    // Small work runs inline (a worker hand-off costs more than it); larger
    // work waits for a worker, so the main thread stays free to dispatch.
    const inline = this.#pool === undefined || work <= this.#inlineMax;
    if (!inline && this.#pool!.room === 0) return false;
    c.request[slot] = undefined;
    Atomics.store(c.words, h + S_SEEN_AT, c.seenAt[slot]!);
    Atomics.store(c.words, h + S_DISPATCHED_AT, this.#dispatchSeq++);
    Atomics.store(c.words, h + S_STATE, STATE_BUSY);
    c.queued[slot] = false;
    c.inFlight[slot] = true;
    c.inFlightCount++;
    const inBytes = Math.max(0, inLen);
    if (inline) {
      this.#servedInline = true;
      const r = serveSlot(c.mapping.buffer, c.words, slot, this.smsSize, this.codec, this.#scratch, req);
      this.#finish(c, slot, r.ok, inBytes, r.outLen);
    } else {
      this.#pool!.run({ type: 'task', clientId: c.id, fd: c.fd, length: c.mapping.length, slot, req });
      c.pendingIn[slot] = inBytes;
    }
    return true;
  }

  #onWorkerDone(d: WorkerDone): void {
    const c = this.#clients.get(d.clientId);
    if (c !== undefined) {
      if (d.error !== undefined) {
        this.#logLimited(`client ${c.id} worker`, `client ${c.id}: a worker could not serve slot ${d.slot}: ${d.error}`);
        // Its mapping is still ours: the slot is in flight until #finish.
        if (!c.dead) Atomics.store(c.words, SLOTS_AT / 4 + d.slot * SLOT_WORDS + S_STATUS, STATUS.ERR_TINYFILE_INTERNAL);
      }
      this.#finish(c, d.slot, d.ok && d.error === undefined, c.pendingIn[d.slot] ?? 0, d.outLen);
      this.#flush(c);
    }
    this.#schedulePass();
  }

  #finish(c: ClientConn, slot: number, ok: boolean, inBytes: number, outLen: number): void {
    c.inFlight[slot] = false;
    c.inFlightCount--;
    if (c.dead) {
      this.#maybeRelease(c);
      return;
    }
    const h = SLOTS_AT / 4 + slot * SLOT_WORDS;
    if (ok) {
      c.bytesIn += inBytes;
      c.bytesOut += outLen;
      this.#totals.bytesIn += inBytes;
      this.#totals.bytesOut += outLen;
    } else {
      c.failures++;
      this.#totals.failures++;
    }
    c.chunks++;
    this.#totals.chunks++;
    // Result words first (already stored), then the state; the slot number
    // goes on the response queue in #flush.
    Atomics.store(c.words, h + S_STATE, ok ? STATE_DONE : STATE_FAILED);
    c.answered.push(slot);
    this.#unflushed.add(c);
  }

  /**
   * Publishes a client's finished slots and wakes it once. Answers are
   * batched per pass: a wake-up is a write(2) to the client's doorbell that
   * on a busy machine often hands the CPU to the client at once, so ringing
   * once per chunk made a 4-chunk call pay four context switches.
   */
  #flush(c: ClientConn): void {
    if (this.#groupUnfinished(c)) return;
    this.#unflushed.delete(c);
    const slots = c.answered.splice(0);
    if (c.dead || slots.length === 0) return;
    let pushed = true;
    try {
      for (const slot of slots) pushed &&= c.responses.tryPush(slotMessage(slot));
    } catch {
      pushed = false;
    }
    if (pushed) c.answers.notify();
    else {
      // At most `slots` answers are ever outstanding, so a full or broken queue means the client wrote over it.
      this.#drop(c, 'response queue unusable');
    }
  }

  /** Whether an answered chunk of `c` still has a sibling in its group queued or running (layout.ts S_GROUP). */
  #groupUnfinished(c: ClientConn): boolean {
    if (c.dead) return false;
    for (const s of c.answered) {
      const g = c.group[s]!;
      if (g === 0) continue;
      for (let t = 0; t < c.slots; t++) if (t !== s && c.group[t] === g && (c.queued[t] || c.inFlight[t])) return true;
    }
    return false;
  }

  #flushAll(): void {
    for (const c of [...this.#unflushed]) this.#flush(c);
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
    this.#log('shutting down: finishing in-flight requests');
    const serverClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const w of this.#waiting.splice(0)) w.socket.destroy();
    const idle = () => [...this.#clients.values()].every((c) => c.inFlightCount === 0 && c.ready.length === 0 && !this.#hasRequests(c));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, drainMs);
      const check = () => {
        this.#pass();
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
    for (const c of [...this.#clients.values()]) {
      c.socket.destroy();
      this.#onClientGone(c);
    }
    // Handshakes and status answers still open.
    for (const s of this.#connections) s.destroy();
    await this.#pool?.close();
    clearInterval(this.#sampler);
    this.#server.close();
    await serverClosed;
    fs.rmSync(this.socketPath, { force: true });
    this.#log('stopped');
  }

  #hasRequests(c: ClientConn): boolean {
    if (c.dead) return false;
    try {
      return c.requests.peekLength() !== -1;
    } catch {
      return false;
    }
  }
}

/**
 * Answers a refusal and closes once it is written. A peer that never reads
 * it is closed by the handshake timer, so a refused connection keeps no state.
 */
function refuse(socket: net.Socket, code: number, message: string): void {
  socket.end(encodeRefusal(code, message), () => socket.destroy());
}

/** Removes a socket file left by a dead daemon; refuses if a live one answers. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socketPath);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new TinyFileError('EEXIST', `${socketPath} exists and is not a socket; remove it or choose another --socket`);
  const live = await new Promise<boolean>((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (live) throw new TinyFileError('ERR_TINYFILE_RUNNING', `another tinyd is already listening on ${socketPath}`);
  fs.rmSync(socketPath, { force: true });
}
