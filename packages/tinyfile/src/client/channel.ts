// The client's end of a registration: the Unix socket (wake-ups and death
// detection) and the mapped channel with its request slots.
import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';
import os from 'node:os';
import { debuglog } from 'node:util';

import * as sys from '@shmkit/shm-fd/sys';
import { Notifier, SpscQueue } from '@shmkit/shm-state';

import { DaemonError, TinyFileError } from '../errors';
import { checkDaemonCredentials } from './trusted-daemon';
import { decodeWelcome, encodeHello, KIND_REGISTER, type Welcome } from '../protocol/handshake';
import {
  ANSWER_NOTIFIER_AT,
  channelLength,
  H_MAGIC,
  H_SLOT_SIZE,
  H_SLOTS,
  H_VERSION,
  MAGIC,
  MAX_SLOT_SIZE,
  MAX_SLOTS,
  MIN_SLOT_SIZE,
  REQUEST_QUEUE_AT,
  RESPONSE_QUEUE_AT,
  slotDataAt,
  slotMessage,
  STATE_DONE,
  STATE_REQUEST,
  VERSION,
} from '../protocol/layout';
import { SlotHeader } from '../protocol/slot-header';

const debug = debuglog('tinyfile');
const connectedChannel = diagnostics.channel('tinyfile:client:connected');
const disconnectedChannel = diagnostics.channel('tinyfile:client:disconnected');
// How long a lone small request checks the answer queue before sleeping.
// On more than one CPU tinyd usually answers a 4 KiB request within this
// (its wake-up plus ~30 µs of snappy), and an answer caught while spinning
// saves two wake-ups: tinyd does not ring us (we are not announced as
// asleep) and our event loop does not go through the doorbell. Adaptive:
// the budget halves after each spin that misses (a loaded machine, or a
// slow request) and doubles after each hit, with a full probe every 32
// misses, so a client that cannot win stops burning CPU the daemon needs.
const SPIN_MAX_US = os.availableParallelism() > 1 ? 250 : 0;
// The answer pump sleeps on the doorbell at once: small requests already
// spin above (only where it pays), and a spin in every wait for a large
// request's pieces would take the CPU tinyd's workers need to answer them.
const NO_SPIN = { spinUs: 0 } as const;
const SIZE_SEALS = sys.constants.F_SEAL_SHRINK | sys.constants.F_SEAL_GROW;

export interface ConnectParams {
  socketPath: string;
  slots: number;
  priority: number;
  timeoutMs: number;
  /** A uid other than ours whose daemon we trust (see trusted-daemon.ts). */
  daemonUid?: number | undefined;
  /** Counted into: every time answers were taken off the queue (one wake-up of the client). */
  counters?: { wakeUps: number };
}

/** Called synchronously when a slot completes; must copy what it needs before returning. */
export type Completion = (slot: number, failed: boolean) => void;

function notRunning(socketPath: string, err: unknown): DaemonError {
  const code = (err as { code?: string }).code ?? 'ECONNREFUSED';
  return new DaemonError('ERR_TINYFILE_NOT_RUNNING', `no tinyd is listening at ${socketPath} (${code}); start it with \`tinyd --socket ${socketPath}\``, {
    cause: err,
  });
}

/** Opens the socket and sends HELLO; returns the raw fd (owned by the caller). */
function openAndHello(p: ConnectParams): number {
  const fd = sys.unixSocket('stream');
  try {
    sys.connectUnix(fd, p.socketPath);
  } catch (err) {
    sys.close(fd);
    throw notRunning(p.socketPath, err);
  }
  try {
    checkDaemonCredentials(fd, p.socketPath, p.daemonUid);
  } catch (err) {
    sys.close(fd);
    throw err;
  }
  try {
    sys.sendWithFds(fd, encodeHello({ kind: KIND_REGISTER, priority: p.priority, slots: p.slots, pid: process.pid }), []);
  } catch (err) {
    // A daemon that refused us at once (too many connections) may have closed already: its reason is still queued here.
    const refusal = queuedRefusal(fd);
    sys.close(fd);
    throw refusal ?? notRunning(p.socketPath, err);
  }
  return fd;
}

/** The error a refusal already waiting on the socket carries, if there is one. */
function queuedRefusal(fd: number): Error | undefined {
  try {
    const r = sys.recvWithFds(fd, { maxBytes: 2048, nonblocking: true });
    for (const f of r?.fds ?? []) sys.close(f);
    if (r === null || r.data.length === 0) return undefined;
    decodeWelcome(r.data);
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

function readable(fd: number, timeoutMs: number): boolean {
  return (sys.poll([{ fd, events: sys.constants.POLLIN }], timeoutMs)[0]! & (sys.constants.POLLIN | sys.constants.POLLHUP | sys.constants.POLLERR)) !== 0;
}

function busy(p: ConnectParams): TinyFileError {
  return new TinyFileError('ERR_TINYFILE_BUSY', `tinyd at ${p.socketPath} had no free segment for ${p.timeoutMs} ms; retry later or start it with more --n-sms`);
}

export class Channel {
  readonly socketPath: string;
  readonly welcome: Welcome;
  readonly slots: number;
  readonly slotSize: number;
  readonly words: Int32Array;
  /** Each slot's header words, typed (one accessor per slot, made once). */
  readonly headers: readonly SlotHeader[];
  readonly #requests: SpscQueue;
  readonly #responses: SpscQueue;
  readonly #answers: Notifier;
  readonly #mapping: sys.Mapping;
  readonly #socket: net.Socket;
  readonly #fd: number;
  /** Completion callback per slot while a request is out. */
  readonly #owner: Array<Completion | undefined>;
  readonly #free: number[] = [];
  readonly #waiters: Array<{ resolve: (slot: number) => void; reject: (err: Error) => void }> = [];
  #dead: DaemonError | undefined;
  #outstanding = 0;
  #pumping = false;
  #spinUs = SPIN_MAX_US;
  #spinMisses = 0;
  readonly #onDead: (err: DaemonError) => void;
  readonly #counters: { wakeUps: number };

  private constructor(socketPath: string, fd: number, welcome: Welcome, memfd: number, onDead: (err: DaemonError) => void, counters: { wakeUps: number }) {
    this.#counters = counters;
    this.socketPath = socketPath;
    this.welcome = welcome;
    this.#onDead = onDead;
    let mapping: sys.Mapping | undefined;
    try {
      // Sizes come from the peer: check them before mapping anything.
      if (welcome.slots < 1 || welcome.slots > MAX_SLOTS || welcome.slotSize < MIN_SLOT_SIZE || welcome.slotSize > MAX_SLOT_SIZE || welcome.slotSize % 4096 !== 0) {
        throw new TinyFileError('ERR_TINYFILE_PROTOCOL', `tinyd offered an impossible channel (${welcome.slots} slots of ${welcome.slotSize} bytes)`);
      }
      const len = channelLength(welcome.slots, welcome.slotSize);
      // Unsealed, the daemon (or whoever holds the fd) could shrink it under our mapping: a SIGBUS here.
      const seals = sys.getSeals(memfd);
      if ((seals & SIZE_SEALS) !== SIZE_SEALS) {
        throw new TinyFileError('ERR_TINYFILE_PROTOCOL', `the channel memfd is not sealed against resizing (seals 0x${seals.toString(16)}); this is not a tinyd of this version`);
      }
      if (sys.fstat(memfd).size !== len) throw new TinyFileError('ERR_TINYFILE_PROTOCOL', `the channel file has ${sys.fstat(memfd).size} bytes, expected ${len}`);
      mapping = sys.map(memfd, { length: len });
      const w = mapping.int32(0, len >>> 2);
      if (Atomics.load(w, H_MAGIC) !== MAGIC || Atomics.load(w, H_VERSION) !== VERSION || Atomics.load(w, H_SLOTS) !== welcome.slots || Atomics.load(w, H_SLOT_SIZE) !== welcome.slotSize) {
        throw new TinyFileError('ERR_TINYFILE_PROTOCOL', 'the channel header does not match the welcome message');
      }
      this.words = w;
      this.headers = SlotHeader.forChannel(w, welcome.slots);
      // Whoever writes the channel can name any process in its doorbell
      // slots: ring only the daemon's, as the kernel saw it at connect().
      const daemonPid = sys.peerCredentials(fd).pid;
      const allowPeer = (pid: number) => pid === daemonPid;
      // open() validates the queue headers the daemon wrote.
      this.#requests = SpscQueue.open(mapping.buffer, { offset: REQUEST_QUEUE_AT, allowPeer });
      this.#responses = SpscQueue.open(mapping.buffer, { offset: RESPONSE_QUEUE_AT, allowPeer });
      this.#answers = new Notifier(mapping.buffer, ANSWER_NOTIFIER_AT, { allowPeer });
    } catch (err) {
      mapping?.close();
      throw err;
    } finally {
      sys.close(memfd);
    }
    this.#mapping = mapping;
    this.slots = welcome.slots;
    this.slotSize = welcome.slotSize;
    this.#owner = new Array<Completion | undefined>(this.slots).fill(undefined);
    for (let i = 0; i < this.slots; i++) this.#free.push(i);
    this.#fd = fd;
    // libuv takes the fd over (and makes it non-blocking); it is closed with the socket.
    this.#socket = new net.Socket({ fd, readable: true, writable: true });
    this.#socket.on('error', () => {
      // 'close' follows.
    });
    // The socket carries nothing after the handshake; its end is how we learn the daemon died.
    this.#socket.on('close', () => this.#die(new DaemonError('ERR_TINYFILE_DAEMON_GONE', `tinyd (pid ${welcome.daemonPid}) at ${socketPath} closed the connection; requests in flight failed`)));
    // The connection alone must not keep the process alive; a pending answer does (see #pump).
    this.#socket.unref();
    debug('connected to %s as client %d (%d slots of %d bytes)', socketPath, welcome.clientId, this.slots, this.slotSize);
    if (connectedChannel.hasSubscribers) connectedChannel.publish({ socketPath, clientId: welcome.clientId, slots: this.slots, slotSize: this.slotSize });
  }

  static #finish(p: ConnectParams, fd: number, onDead: (err: DaemonError) => void): Channel {
    let r: sys.Received | null;
    try {
      r = sys.recvWithFds(fd, { maxBytes: 2048, nonblocking: true });
    } catch (err) {
      sys.close(fd);
      throw notRunning(p.socketPath, err);
    }
    if (r === null || r.data.length === 0) {
      for (const f of r?.fds ?? []) sys.close(f);
      sys.close(fd);
      throw new DaemonError('ERR_TINYFILE_DAEMON_GONE', `tinyd at ${p.socketPath} closed the connection during the handshake`);
    }
    let welcome: Welcome;
    try {
      welcome = decodeWelcome(r.data);
      if (r.fds.length !== 1) throw new TinyFileError('ERR_TINYFILE_PROTOCOL', `expected 1 fd with the welcome, got ${r.fds.length}`);
    } catch (err) {
      for (const f of r.fds) sys.close(f);
      sys.close(fd);
      throw err;
    }
    try {
      return new Channel(p.socketPath, fd, welcome, r.fds[0]!, onDead, p.counters ?? { wakeUps: 0 });
    } catch (err) {
      sys.close(fd);
      throw err;
    }
  }

  /** Registers with tinyd, blocking the thread until it answers. */
  static connectSync(p: ConnectParams, onDead: (err: DaemonError) => void): Channel {
    const fd = openAndHello(p);
    if (!readable(fd, p.timeoutMs)) {
      sys.close(fd);
      throw busy(p);
    }
    return Channel.#finish(p, fd, onDead);
  }

  /** Registers with tinyd without blocking the event loop. */
  static async connect(p: ConnectParams, onDead: (err: DaemonError) => void): Promise<Channel> {
    const fd = openAndHello(p);
    const end = Date.now() + p.timeoutMs;
    for (let delay = 0; !readable(fd, 0); delay = Math.min(20, delay + 1)) {
      if (Date.now() > end) {
        sys.close(fd);
        throw busy(p);
      }
      await new Promise((r) => setTimeout(r, delay));
    }
    return Channel.#finish(p, fd, onDead);
  }

  get dead(): DaemonError | undefined {
    return this.#dead;
  }

  get clientId(): number {
    return this.welcome.clientId;
  }

  /** The data area of a slot, valid until the channel closes. */
  data(slot: number): Buffer {
    const at = slotDataAt(slot, this.slotSize);
    return this.#mapping.buffer.subarray(at, at + this.slotSize);
  }

  /** A slot's header words. */
  header(slot: number): SlotHeader {
    return this.headers[slot] as SlotHeader;
  }

  /** Resolves with a free slot, in FIFO order of the callers. */
  acquire(): Promise<number> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead);
    const s = this.#free.shift();
    if (s !== undefined) return Promise.resolve(s);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** A free slot for a blocking call: takes in answers (running their completions) until one frees. */
  acquireSync(): number {
    for (;;) {
      if (this.#dead !== undefined) throw this.#dead;
      const s = this.#free.shift();
      if (s !== undefined) return s;
      this.#receiveSync();
    }
  }

  /**
   * Publishes the request already written into `slot`. `done` runs
   * synchronously on completion. `wait`: how the caller waits for the answer:
   * 'async' through the event loop (the answer pump), 'sync' with
   * waitSync(), which takes answers itself. `spin`: a lone small async
   * request first checks the answer queue for a while (see SPIN_MAX_US); the
   * pump, which announces us as asleep so that tinyd rings our doorbell, only
   * starts when that did not catch the answer.
   */
  publish(slot: number, done: Completion, wait: 'async' | 'sync' = 'async', spin = false): void {
    this.#owner[slot] = done;
    this.header(slot).state = STATE_REQUEST;
    // The slot's words are written; pushing its number publishes them (the queue stores its tail last).
    if (!this.#requests.tryPush(slotMessage(slot))) {
      this.#owner[slot] = undefined;
      throw new TinyFileError('ERR_TINYFILE_INTERNAL', 'the request queue is full, which cannot happen with one entry per slot');
    }
    this.#outstanding++;
    if (wait === 'sync') return;
    if (spin && this.#outstanding === 1) this.#spin(slot);
    if (this.#outstanding > 0 && !this.#pumping) void this.#pump();
  }

  /** Checks the answer queue (shared-memory loads only) until `slot` is answered or the budget is spent. */
  #spin(slot: number): void {
    if (this.#owner[slot] === undefined || this.#dead !== undefined) return;
    let budget = this.#spinUs;
    if (budget < 1) {
      if (++this.#spinMisses % 32 !== 0) return;
      budget = SPIN_MAX_US;
    }
    const until = performance.now() + budget / 1000;
    for (let i = 1; this.#owner[slot] !== undefined && this.#dead === undefined; i++) {
      if (this.#responses.peekLength() !== -1) {
        const m = this.#responses.tryPop();
        if (m !== null) this.#answer(m);
      } else if ((i & 31) === 0 && performance.now() >= until) {
        this.#spinUs = budget / 2;
        return;
      }
    }
    // A hit (a probe's included) restores at least the budget that caught it.
    this.#spinUs = Math.min(SPIN_MAX_US, budget * 2 + 1);
  }

  /**
   * Blocks until `slot` completes (running its completion, and those of any
   * answers that arrive first). `spin`: a lone small request checks the
   * answer queue for a while before sleeping (see SPIN_MAX_US).
   */
  waitSync(slot: number, spin = false): void {
    if (spin && this.#outstanding === 1) this.#spin(slot);
    while (this.#owner[slot] !== undefined) {
      if (this.#dead !== undefined) throw this.#dead;
      this.#receiveSync();
    }
  }

  /** Takes one answer, blocking the thread: spins briefly, then sleeps on the queue's bell, checking that the daemon lives. */
  #receiveSync(): void {
    const m = this.#responses.popSync({ timeoutMs: 250 });
    if (m !== null) {
      this.#counters.wakeUps++;
      this.#answer(m);
    }
    else this.#checkAlive();
  }

  /** Takes answers while requests are out; the pending doorbell wait keeps the process alive. */
  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#outstanding > 0 && this.#dead === undefined) {
        // Peek, never pop, inside the wait: answers are taken only here, in
        // the same synchronous step that runs their completions (see layout.ts).
        await this.#answers.wait(() => (this.#dead !== undefined || this.#responses.peekLength() !== -1 ? true : undefined), NO_SPIN);
        this.#counters.wakeUps++;
        for (let n = this.#responses.tryPop(); n !== null && this.#dead === undefined; n = this.#responses.tryPop()) this.#answer(n);
      }
    } catch (err) {
      // ERR_SHM_CLOSED after #die is expected; anything else means the queue was broken.
      if (this.#dead === undefined) {
        this.#die(new DaemonError('ERR_TINYFILE_PROTOCOL', `tinyd's response queue is unusable: ${(err as Error).message}`));
        this.#socket.destroy();
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Runs the completion of the slot a response names, and frees the slot. */
  #answer(m: Buffer): void {
    const s = m.length === 4 ? m.readUInt32LE(0) : -1;
    const done = s >= 0 && s < this.slots ? this.#owner[s] : undefined;
    if (done === undefined) {
      this.#die(new DaemonError('ERR_TINYFILE_PROTOCOL', `tinyd answered for slot ${s}, which has no request`));
      this.#socket.destroy();
      return;
    }
    const st = this.header(s).state;
    this.#owner[s] = undefined;
    this.#outstanding--;
    try {
      done(s, st !== STATE_DONE);
    } finally {
      this.#release(s);
    }
  }

  /** The event loop is not running while we block: notice a dead daemon ourselves. */
  #checkAlive(): void {
    const rev = sys.poll([{ fd: this.#fd, events: sys.constants.POLLIN }], 0)[0]!;
    if ((rev & (sys.constants.POLLHUP | sys.constants.POLLERR)) !== 0) {
      this.#die(new DaemonError('ERR_TINYFILE_DAEMON_GONE', `tinyd (pid ${this.welcome.daemonPid}) at ${this.socketPath} went away; the request failed`));
      this.#socket.destroy();
    }
  }

  #release(slot: number): void {
    if (this.#dead !== undefined) return;
    const w = this.#waiters.shift();
    if (w !== undefined) w.resolve(slot);
    else this.#free.push(slot);
  }

  #die(err: DaemonError): void {
    if (this.#dead !== undefined) return;
    // Answers that made it before the daemon died still count.
    try {
      for (let m = this.#responses.tryPop(); m !== null && this.#dead === undefined; m = this.#responses.tryPop()) this.#answer(m);
    } catch {
      // a broken queue: whatever is left fails below
    }
    if (this.#dead !== undefined) return;
    this.#dead = err;
    debug('disconnected from %s: %s', this.socketPath, err.message);
    if (disconnectedChannel.hasSubscribers) disconnectedChannel.publish({ socketPath: this.socketPath, clientId: this.clientId, error: err });
    this.#outstanding = 0;
    for (let s = 0; s < this.slots; s++) {
      const done = this.#owner[s];
      this.#owner[s] = undefined;
      if (done !== undefined) done(s, true);
    }
    for (const w of this.#waiters.splice(0)) w.reject(err);
    // Structures before the memory under them.
    this.#answers.cancelAll(err);
    this.#requests.close();
    this.#responses.close();
    this.#mapping.close();
    this.#onDead(err);
  }

  /** Disconnects; the daemon reclaims the channel. */
  close(): void {
    this.#socket.destroy();
    this.#die(new DaemonError('ERR_TINYFILE_CLOSED', 'the TinyFile client is closed; connect a new one'));
  }
}
