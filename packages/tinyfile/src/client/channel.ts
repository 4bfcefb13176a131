// The client's end of a registration: the Unix socket (wake-ups and death
// detection) and the mapped channel with its request slots.
import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';
import os from 'node:os';
import { debuglog } from 'node:util';

import * as sys from '@shmkit/shm-fd/sys';

import { DaemonError, TinyFileError } from '../errors';
import { decodeWelcome, encodeHello, KIND_REGISTER, type Welcome } from '../protocol/handshake';
import {
  channelLength,
  H_CLIENT_BELL,
  H_COMPLETIONS,
  H_DAEMON_BELL,
  H_MAGIC,
  H_SLOT_SIZE,
  H_SLOTS,
  H_SYNC_WAITERS,
  H_VERSION,
  MAGIC,
  MAX_SLOT_SIZE,
  MAX_SLOTS,
  MIN_SLOT_SIZE,
  S_STATE,
  SLOT_WORDS,
  SLOTS_AT,
  slotDataAt,
  STATE_DONE,
  STATE_FAILED,
  STATE_REQUEST,
  VERSION,
} from '../protocol/layout';

const debug = debuglog('tinyfile');
const connectedChannel = diagnostics.channel('tinyfile:client:connected');
const disconnectedChannel = diagnostics.channel('tinyfile:client:disconnected');
const WAKE = Buffer.from([1]);
const SPIN_NS = os.availableParallelism() > 1 ? 50_000n : 0n;

export interface ConnectParams {
  socketPath: string;
  slots: number;
  priority: number;
  timeoutMs: number;
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
    sys.sendWithFds(fd, encodeHello({ kind: KIND_REGISTER, priority: p.priority, slots: p.slots, pid: process.pid }), []);
  } catch (err) {
    sys.close(fd);
    throw notRunning(p.socketPath, err);
  }
  return fd;
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
  readonly #mapping: sys.Mapping;
  readonly #socket: net.Socket;
  readonly #fd: number;
  /** Completion callback per slot while a request is out. */
  readonly #owner: Array<Completion | undefined>;
  readonly #free: number[] = [];
  readonly #waiters: Array<{ resolve: (slot: number) => void; reject: (err: Error) => void }> = [];
  #dead: DaemonError | undefined;
  #outstanding = 0;
  readonly #onDead: (err: DaemonError) => void;

  private constructor(socketPath: string, fd: number, welcome: Welcome, memfd: number, onDead: (err: DaemonError) => void) {
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
      if (sys.fstat(memfd).size !== len) throw new TinyFileError('ERR_TINYFILE_PROTOCOL', `the channel file has ${sys.fstat(memfd).size} bytes, expected ${len}`);
      mapping = sys.map(memfd, { length: len });
      const w = mapping.int32(0, len >>> 2);
      if (Atomics.load(w, H_MAGIC) !== MAGIC || Atomics.load(w, H_VERSION) !== VERSION || Atomics.load(w, H_SLOTS) !== welcome.slots || Atomics.load(w, H_SLOT_SIZE) !== welcome.slotSize) {
        throw new TinyFileError('ERR_TINYFILE_PROTOCOL', 'the channel header does not match the welcome message');
      }
      this.words = w;
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
    this.#socket.on('data', () => {
      // Clear the bell before scanning: a completion after the scan rings again.
      Atomics.store(this.words, H_CLIENT_BELL, 1);
      this.harvest();
    });
    this.#socket.on('error', () => {
      // 'close' follows.
    });
    this.#socket.on('close', () => this.#die(new DaemonError('ERR_TINYFILE_DAEMON_GONE', `tinyd (pid ${welcome.daemonPid}) at ${socketPath} closed the connection; requests in flight failed`)));
    // Async completions are announced on the socket.
    Atomics.store(this.words, H_CLIENT_BELL, 1);
    // Connections must not keep a process alive by themselves.
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
      return new Channel(p.socketPath, fd, welcome, r.fds[0]!, onDead);
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

  /** Index of a slot's first header word in `words`. */
  header(slot: number): number {
    return SLOTS_AT / 4 + slot * SLOT_WORDS;
  }

  /** Resolves with a free slot, in FIFO order of the callers. */
  acquire(): Promise<number> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead);
    const s = this.#free.shift();
    if (s !== undefined) return Promise.resolve(s);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** A free slot for a blocking call: harvests completions and sleeps on the futex until one frees. */
  acquireSync(): number {
    for (;;) {
      if (this.#dead !== undefined) throw this.#dead;
      const s = this.#free.shift();
      if (s !== undefined) return s;
      const seen = Atomics.load(this.words, H_COMPLETIONS);
      if (this.harvest() > 0) continue;
      this.#sleep(seen);
    }
  }

  /** Publishes the request already written into `slot`. `done` runs synchronously on completion. */
  publish(slot: number, done: Completion): void {
    this.#owner[slot] = done;
    // A request in flight keeps the process alive, like a pending socket read.
    if (this.#outstanding++ === 0) this.#socket.ref();
    // The state goes last: the daemon reads the other words only after seeing REQUEST.
    Atomics.store(this.words, this.header(slot) + S_STATE, STATE_REQUEST);
    if (Atomics.exchange(this.words, H_DAEMON_BELL, 1) === 0) this.#socket.write(WAKE);
  }

  /**
   * For a lone small request: watch for its completion for a few tens of
   * microseconds before going back to the event loop, which saves the wake-up
   * through the socket. Never spins while other requests are out.
   */
  spinFor(slot: number): void {
    if (this.#outstanding !== 1 || this.#owner[slot] === undefined) return;
    if (this.#spin(this.header(slot) + S_STATE)) this.harvest();
  }

  /** Blocks until `slot` completes (running its completion). */
  waitSync(slot: number): void {
    const st = this.header(slot) + S_STATE;
    while (this.#owner[slot] !== undefined) {
      if (this.#dead !== undefined) throw this.#dead;
      const seen = Atomics.load(this.words, H_COMPLETIONS);
      const s = Atomics.load(this.words, st);
      if (s === STATE_DONE || s === STATE_FAILED) {
        this.harvest();
        continue;
      }
      if (this.#spin(st)) continue;
      this.#sleep(seen);
    }
  }

  /**
   * Small requests finish in tens of microseconds: watching the state word
   * that long is cheaper than a futex sleep and wake (two system calls and a
   * context switch). Gives up after SPIN_NS, or at once on a 1-CPU machine.
   */
  #spin(stateIndex: number): boolean {
    if (SPIN_NS === 0n) return false;
    const end = process.hrtime.bigint() + SPIN_NS;
    for (;;) {
      for (let i = 0; i < 256; i++) {
        const s = Atomics.load(this.words, stateIndex);
        if (s === STATE_DONE || s === STATE_FAILED) return true;
      }
      if (process.hrtime.bigint() > end) return false;
    }
  }

  #sleep(seen: number): void {
    Atomics.add(this.words, H_SYNC_WAITERS, 1);
    let r: sys.FutexWaitResult;
    try {
      r = sys.futexWait(this.words, H_COMPLETIONS, seen, 250);
    } finally {
      Atomics.sub(this.words, H_SYNC_WAITERS, 1);
    }
    if (r === 'timed-out') this.#checkAlive();
  }

  /** The event loop is not running while we block: notice a dead daemon ourselves. */
  #checkAlive(): void {
    const rev = sys.poll([{ fd: this.#fd, events: sys.constants.POLLIN }], 0)[0]!;
    if ((rev & (sys.constants.POLLHUP | sys.constants.POLLERR)) !== 0) {
      this.#die(new DaemonError('ERR_TINYFILE_DAEMON_GONE', `tinyd (pid ${this.welcome.daemonPid}) at ${this.socketPath} went away; the request failed`));
      this.#socket.destroy();
    }
  }

  /** Runs the completions of finished slots and frees them; returns how many. */
  harvest(): number {
    let n = 0;
    for (let s = 0; s < this.slots; s++) {
      const done = this.#owner[s];
      if (done === undefined) continue;
      const st = Atomics.load(this.words, this.header(s) + S_STATE);
      if (st !== STATE_DONE && st !== STATE_FAILED) continue;
      this.#owner[s] = undefined;
      if (--this.#outstanding === 0) this.#socket.unref();
      n++;
      try {
        done(s, st === STATE_FAILED);
      } finally {
        this.#release(s);
      }
    }
    return n;
  }

  #release(slot: number): void {
    if (this.#dead !== undefined) return;
    const w = this.#waiters.shift();
    if (w !== undefined) w.resolve(slot);
    else this.#free.push(slot);
  }

  #die(err: DaemonError): void {
    if (this.#dead !== undefined) return;
    // Completions that made it before the daemon died still count.
    this.harvest();
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
    this.#mapping.close();
    this.#onDead(err);
  }

  /** Disconnects; the daemon reclaims the channel. */
  close(): void {
    this.#socket.destroy();
    this.#die(new DaemonError('ERR_TINYFILE_CLOSED', 'the TinyFile client is closed; connect a new one'));
  }
}
