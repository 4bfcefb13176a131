// Serving: takes slot numbers off each client's request queue, hands them
// out round-robin (by priority first with qos) to inline serving or a
// worker, and publishes the answers, one wake-up per client per pass.
import os from 'node:os';

import type { Codec } from '../codec/codec';
import { OP, STATE_BUSY, STATE_DONE, STATE_FAILED, slotMessage, STATUS } from '../protocol/layout';
import type { SlotHeader } from '../protocol/slot-header';
import type { ClientConn } from './client-conn';
import type { DaemonLog } from './daemon-log';
import { loadRequest, scratchFor, serveSlot, type ServeScratch, type SlotRequest } from './serve';
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

export interface SchedulerOptions {
  smsSize: number;
  codec: Codec;
  qos: boolean;
  /** Compression worker threads; 0 serves everything on the main thread. */
  workers: number;
  /** Chunks whose work is at most this many bytes run inline on the main thread. */
  inlineMax: number;
  log: DaemonLog;
  /** A gone client's channel was released: its segments are free again. */
  onReleased: (c: ClientConn) => void;
}

export class Scheduler {
  /** Registered clients, by id, until their channel is released. */
  readonly clients = new Map<number, ClientConn>();
  readonly totals = { clients: 0, chunks: 0, failures: 0, bytesIn: 0, bytesOut: 0 };
  readonly pool: WorkerPool | undefined;
  readonly #smsSize: number;
  readonly #codec: Codec;
  readonly #qos: boolean;
  readonly #inlineMax: number;
  readonly #log: DaemonLog;
  readonly #onReleased: (c: ClientConn) => void;
  readonly #scratch: ServeScratch;
  /** Clients with finished slots not yet on their response queue (see #flush). */
  readonly #unflushed = new Set<ClientConn>();
  #dispatchSeq = 0;
  #cursor = 0;
  #passQueued = false;
  #spinning = false;
  #servedInline = false;
  #spinUs = SPIN_MAX_US;
  #spinSkips = 0;

  constructor(opts: SchedulerOptions) {
    this.#smsSize = opts.smsSize;
    this.#codec = opts.codec;
    this.#qos = opts.qos;
    this.#inlineMax = opts.inlineMax;
    this.#log = opts.log;
    this.#onReleased = opts.onReleased;
    this.#scratch = scratchFor(opts.smsSize);
    this.pool =
      opts.workers > 0
        ? new WorkerPool(opts.workers, opts.codec.name, opts.smsSize, (d) => this.#onWorkerDone(d), (err) => this.#log.limited('worker', `worker failed: ${err.message}`, undefined, 'error'))
        : undefined;
  }

  /** Counts a newly registered client; serve() then starts on its request queue. */
  add(c: ClientConn): void {
    this.clients.set(c.id, c);
    this.totals.clients++;
  }

  serve(c: ClientConn): void {
    void this.#pump(c);
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
      this.pass();
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
    this.#log.limited(`pid ${c.pid} dropped`, `client ${c.id} (pid ${c.pid}): ${why}; disconnecting it`, { client: c.id, pid: c.pid }, 'warn');
    c.socket.destroy();
    this.clientGone(c);
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
    if (this.#spinning || SPIN_MAX_US === 0 || !this.#servedInline || (this.pool !== undefined && this.pool.idle < this.pool.size)) return false;
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
        for (const c of this.clients.values()) {
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
          this.pass();
          const now = performance.now();
          if (now - start > SPIN_SESSION_US / 1000) return true;
          // Work went to a worker: its completion needs the event loop.
          if (this.pool !== undefined && this.pool.idle < this.pool.size) return false;
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
      this.totals.failures++;
      this.#drop(c, `ERR_TINYFILE_BAD_REQUEST: its request queue named slot ${slot}, not a free slot of this client (it has ${c.slots})`);
      return;
    }
    c.queued[slot] = true;
    c.seenAt[slot] = this.#dispatchSeq;
    c.group[slot] = (c.headers[slot] as SlotHeader).group;
    c.ready.push(slot);
  }

  /** The client's socket closed or it broke its channel: stop serving it, release its channel once idle. */
  clientGone(c: ClientConn): void {
    if (c.dead) return;
    c.dead = true;
    c.ready.length = 0;
    for (let s = 0; s < c.slots; s++) c.queued[s] = false;
    this.#log.limited(`pid ${c.pid} disconnected`, `client ${c.id} disconnected (pid ${c.pid}${c.inFlightCount > 0 ? `, ${c.inFlightCount} chunks still running` : ''})`, {
      client: c.id,
      pid: c.pid,
      bytes: c.bytesIn,
    });
    this.#maybeRelease(c);
  }

  /** A dead client's channel is released once no executor still writes into it. */
  #maybeRelease(c: ClientConn): void {
    if (!c.dead || c.inFlightCount > 0 || c.released) return;
    this.pool?.broadcast({ type: 'release', clientId: c.id });
    c.release();
    this.clients.delete(c.id);
    this.#onReleased(c);
  }

  #schedulePass(): void {
    if (this.#passQueued) return;
    this.#passQueued = true;
    queueMicrotask(() => {
      this.#passQueued = false;
      this.pass();
    });
  }

  /** Hands out queued requests, one chunk per client per round. */
  pass(): void {
    const clients = [...this.clients.values()].filter((c) => !c.dead && c.ready.length > 0);
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
        } else if (this.#qos) {
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
    if (this.#qos) rotated.sort((a, b) => b.priority - a.priority);
    return rotated;
  }

  #dispatch(c: ClientConn, slot: number): boolean {
    const h = c.headers[slot] as SlotHeader;
    // Loaded once here; the executor gets these values (serve.ts checks their ranges).
    const req: SlotRequest = c.request[slot] ??= loadRequest(h);
    const { op, inLen } = req;
    const work = op === OP.DECOMPRESS_RAW ? req.outLimit : op === OP.DECOMPRESS_FRAMED ? 4 * inLen : inLen;
    // Small work runs inline (a worker hand-off costs more than it); larger
    // work waits for a worker, so the main thread stays free to dispatch.
    const inline = this.pool === undefined || work <= this.#inlineMax;
    if (!inline && this.pool!.room === 0) return false;
    c.request[slot] = undefined;
    h.seenAt = c.seenAt[slot]!;
    h.dispatchedAt = this.#dispatchSeq++;
    h.state = STATE_BUSY;
    c.queued[slot] = false;
    c.inFlight[slot] = true;
    c.inFlightCount++;
    const inBytes = Math.max(0, inLen);
    if (inline) {
      this.#servedInline = true;
      const r = serveSlot(c.mapping.buffer, h, slot, this.#smsSize, this.#codec, this.#scratch, req);
      this.#finish(c, slot, r.ok, inBytes, r.outLen);
    } else {
      this.pool!.run({ type: 'task', clientId: c.id, fd: c.fd, length: c.mapping.length, slot, req });
      c.pendingIn[slot] = inBytes;
    }
    return true;
  }

  #onWorkerDone(d: WorkerDone): void {
    const c = this.clients.get(d.clientId);
    if (c !== undefined) {
      if (d.error !== undefined) {
        this.#log.limited(`client ${c.id} worker`, `client ${c.id}: a worker could not serve slot ${d.slot}: ${d.error}`, { client: c.id }, 'warn');
        // Its mapping is still ours: the slot is in flight until #finish.
        if (!c.dead) (c.headers[d.slot] as SlotHeader).status = STATUS.ERR_TINYFILE_INTERNAL;
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
    if (ok) {
      c.bytesIn += inBytes;
      c.bytesOut += outLen;
      this.totals.bytesIn += inBytes;
      this.totals.bytesOut += outLen;
    } else {
      c.failures++;
      this.totals.failures++;
    }
    c.chunks++;
    this.totals.chunks++;
    // Result words first (already stored), then the state; the slot number
    // goes on the response queue in #flush.
    (c.headers[slot] as SlotHeader).state = ok ? STATE_DONE : STATE_FAILED;
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

  /** Stops the workers and releases the main thread's scratch; call once no request is in flight. */
  async close(): Promise<void> {
    await this.pool?.close();
    this.#scratch.close();
  }

  /** Whether a live client has requests waiting on its queue. */
  hasRequests(c: ClientConn): boolean {
    if (c.dead) return false;
    try {
      return c.requests.peekLength() !== -1;
    } catch {
      return false;
    }
  }
}
