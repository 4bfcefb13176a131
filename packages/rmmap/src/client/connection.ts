import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';

import { FrameType, MAX_FRAME_LIMIT, MAX_HELLO_FRAME, PROTOCOL_VERSION, wireErrorName } from '../constants';
import { channels, debug } from '../diagnostics';
import { RmmapClosedError, RmmapProtocolError, RmmapRemoteError, RmmapUnavailableError } from '../errors';
import * as msg from '../messages';
import { FrameParser, type RawFrame } from '../parser';

/** Handshake failures after TCP connected: worth retrying even on a first connection. */
const transientFailures = new WeakSet<Error>();

export interface ServerAddress {
  host: string;
  port: number;
  /** Shared secret configured on the server with --token-file. */
  token?: string | Buffer;
}

export interface ConnectionOptions {
  /** Give up and fail pending operations when the server stays away this long (ms). Default 10 s. */
  reconnectTimeoutMs?: number;
  /** Initial / maximal delay between reconnect attempts (ms). */
  backoffMinMs?: number;
  backoffMaxMs?: number;
}

/** What a mapping must do around a reconnect. */
export interface ConnectionMember {
  /** Re-maps on the new connection; throws to drop the mapping. */
  remap(epochChanged: boolean): Promise<void>;
  /** After all members re-mapped and queued requests were resent. */
  reconnected(attempts: number): void;
  /** The server stayed away; every pending operation already failed. */
  failed(err: Error): void;
}

interface Pending {
  /** Builds the frame under the current wire ids; called again on every resend. */
  build: (requestId: number) => Buffer;
  resolve: (f: RawFrame) => void;
  reject: (e: Error) => void;
  /** Sent on the current connection. */
  sent: boolean;
  /** Internal re-map traffic: never resent by the generic path. */
  control: boolean;
  /** Resolved locally instead of resent after a reconnect (e.g. UNMAP: the server dropped the mapping anyway). */
  onLost?: () => boolean;
  isWrite: boolean;
  /** Offers a buffer to gather a big DATA reply into (see FrameParserOptions.bodyBuffer). */
  sink?: (length: number) => Buffer | undefined;
  /**
   * Runs synchronously when the reply arrives (undefined: the request
   * failed), before any later frame is looked at. Cache updates must happen
   * here: a NOTIFY right behind the reply in the same read must find them
   * done, which a promise continuation would not guarantee.
   */
  settle?: (reply: RawFrame | undefined) => void;
}

type State = 'connecting' | 'ready' | 'down' | 'closed';

/** Size of each connection's reused socket read buffer. */
const READ_BUFFER = 256 * 1024;

/**
 * One TCP connection to one rmmapd, shared by every mapping this process
 * holds on that server (the pool in rmmap.ts hands it out). Requests carry
 * ids and may be pipelined; replies are matched by id. When the connection
 * drops it reconnects with exponential backoff, lets each mapping re-map,
 * then resends every unanswered request under its original id, so the
 * server can recognise writes it already applied (PROTOCOL.md §6).
 */
export class ClientConnection {
  readonly key: string;
  readonly session = randomBytes(16);
  readonly members = new Set<ConnectionMember>();
  /** wire mapping id → NOTIFY handler. */
  readonly notifyTargets = new Map<number, (n: msg.Notify) => void>();
  maxFrame = MAX_HELLO_FRAME;
  epoch: Buffer | undefined;
  readOnly = false;
  #state: State = 'connecting';
  #socket: net.Socket | undefined;
  #nextId = 1;
  /** Whether the current socket keeps the event loop alive. */
  #refed = true;
  readonly #pending = new Map<number, Pending>();
  readonly #addr: ServerAddress;
  readonly #token: Buffer;
  readonly #opts: Required<ConnectionOptions>;
  #ready: Promise<void>;
  #onIdle: (() => void) | undefined;
  /** A reconnect is under way (requests made meanwhile wait for it). */
  #reconnecting = false;
  /** The last handshake met another server epoch than the one before: caches must be dropped. */
  #epochChanged = false;

  constructor(addr: ServerAddress, options: ConnectionOptions = {}, onIdle?: () => void) {
    this.#addr = addr;
    this.#token = typeof addr.token === 'string' ? Buffer.from(addr.token, 'utf8') : (addr.token ?? Buffer.alloc(0));
    this.key = ClientConnection.keyOf(addr);
    this.#opts = {
      reconnectTimeoutMs: options.reconnectTimeoutMs ?? 10_000,
      backoffMinMs: options.backoffMinMs ?? 20,
      backoffMaxMs: options.backoffMaxMs ?? 1000,
    };
    this.#onIdle = onIdle;
    this.#ready = this.#establish(false);
    // Failures surface through ready(); avoid an unhandled rejection meanwhile.
    this.#ready.catch(() => {});
  }

  static keyOf(addr: ServerAddress): string {
    const token = typeof addr.token === 'string' ? Buffer.from(addr.token) : (addr.token ?? Buffer.alloc(0));
    return `${addr.host}:${addr.port}:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
  }

  get address(): string {
    return `${this.#addr.host}:${this.#addr.port}`;
  }

  get state(): State {
    return this.#state;
  }

  /** Resolves once the handshake (and any reconnect) completed; after a give-up it tries again. */
  ready(): Promise<void> {
    if (this.#state === 'down' && !this.#reconnecting) {
      this.#ready = this.#reconnect();
      this.#ready.catch(() => {});
    }
    return this.#ready;
  }

  /** The id every still-unanswered request is at or above (sent with WRITE as `lowWater`). */
  get lowWater(): number {
    for (const id of this.#pending.keys()) return id;
    return this.#nextId;
  }

  /**
   * Sends a request (or queues it while reconnecting) and resolves with the
   * reply frame. ERROR replies reject with RmmapRemoteError.
   */
  request(
    build: (requestId: number) => Buffer,
    opts: {
      isWrite?: boolean;
      onLost?: () => boolean;
      control?: boolean;
      sink?: (length: number) => Buffer | undefined;
      settle?: (reply: RawFrame | undefined) => void;
    } = {},
  ): Promise<RawFrame> {
    if (this.#state === 'closed') return Promise.reject(new RmmapClosedError(`the connection to ${this.address}`));
    return new Promise<RawFrame>((resolve, reject) => {
      const id = this.#allocId();
      const p: Pending = { build, resolve, reject, sent: false, control: opts.control ?? false, isWrite: opts.isWrite ?? false };
      if (opts.onLost !== undefined) p.onLost = opts.onLost;
      if (opts.sink !== undefined) p.sink = opts.sink;
      if (opts.settle !== undefined) p.settle = opts.settle;
      this.#pending.set(id, p);
      if (this.#state === 'ready' || (p.control && this.#socket !== undefined)) this.#send(id, p);
      else if (this.#state === 'down' && !this.#reconnecting) {
        this.#ready = this.#reconnect();
        // Failures reach callers through their own pending requests.
        this.#ready.catch(() => {});
      }
    });
  }

  /** Closes the socket and fails what is still pending. Idempotent. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#socket?.destroy();
    this.#socket = undefined;
    this.#failAll(new RmmapClosedError(`the connection to ${this.address}`));
    this.#onIdle?.();
    this.#onIdle = undefined;
  }

  #allocId(): number {
    const id = this.#nextId;
    // Id 0 is reserved for the handshake and server pushes (§2).
    this.#nextId = this.#nextId >= 0xffffffff ? 1 : this.#nextId + 1;
    return id;
  }

  #send(id: number, p: Pending): void {
    const socket = this.#socket;
    // Unsent requests go out after the next (re)connect.
    if (socket === undefined) return;
    p.sent = true;
    // Only outstanding requests keep the process alive: an idle connection
    // (mappings held, nothing pending) must not block a clean exit.
    if (!this.#refed) {
      socket.ref();
      this.#refed = true;
    }
    socket.write(p.build(id));
  }

  #failAll(err: Error): void {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of all) settleAndReject(p, err);
  }

  async #reconnect(): Promise<void> {
    this.#reconnecting = true;
    try {
      await this.#establish(true);
    } finally {
      this.#reconnecting = false;
    }
  }

  /** Connects (retrying with backoff when `retry`, or after a transient cut), shakes hands, re-maps members, resends. */
  async #establish(retry: boolean): Promise<void> {
    const deadline = Date.now() + this.#opts.reconnectTimeoutMs;
    let delay = this.#opts.backoffMinMs;
    let attempts = 0;
    for (;;) {
      if (this.#state === 'closed') throw new RmmapClosedError(`the connection to ${this.address}`);
      attempts++;
      try {
        await this.#connectOnce();
        break;
      } catch (e) {
        const fatal = e instanceof RmmapRemoteError && (e.code === 'ERR_RMMAP_AUTH' || e.code === 'ERR_RMMAP_VERSION');
        // A first connection retries only a cut after TCP connected (the
        // server is there; the network dropped us): nothing listening, or an
        // unreachable host, is reported at once.
        const again = retry || transientFailures.has(e as Error);
        if (!again || fatal || Date.now() + delay > deadline) {
          const err = fatal
            ? e
            : new RmmapUnavailableError('ERR_RMMAP_UNAVAILABLE', `cannot reach rmmapd at ${this.address}: ${(e as Error).message}`, { cause: e });
          this.#giveUp(err as Error);
          throw err;
        }
        debug('reconnect to %s failed (%s); retrying in %d ms', this.address, (e as Error).message, delay);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, this.#opts.backoffMaxMs);
      }
    }
    if (retry) {
      try {
        await this.#remapAll();
      } catch (e) {
        // The connection dropped again while re-mapping: start over.
        if ((this.#state as State) === 'closed') throw e;
        this.#state = 'down';
        return this.#establish(true);
      }
    }
    this.#state = 'ready';
    // Resend in id order: the server applies writes in arrival order (§6).
    for (const [id, p] of this.#pending) if (!p.control && !p.sent) this.#send(id, p);
    if (retry) {
      channels.clientReconnected.publish({ address: this.address, attempts });
      for (const m of this.members) m.reconnected(attempts);
    } else {
      channels.clientConnected.publish({ address: this.address });
    }
  }

  async #remapAll(): Promise<void> {
    await Promise.all([...this.members].map((m) => m.remap(this.#epochChanged)));
  }

  #giveUp(err: Error): void {
    this.#state = 'down';
    this.#socket?.destroy();
    this.#socket = undefined;
    this.#failAll(err);
    for (const m of [...this.members]) m.failed(err);
  }

  #connectOnce(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // Reads land in one reused buffer (no allocation per socket read); the
      // parser copies what it keeps and gathers big frames into their own
      // buffers, so the only per-byte allocation left is the reply itself.
      let parser: FrameParser | undefined;
      const socket = net.connect({
        host: this.#addr.host,
        port: this.#addr.port,
        onread: {
          buffer: Buffer.allocUnsafe(READ_BUFFER),
          callback: (n: number, buf: Uint8Array) => {
            parser?.push(Buffer.from(buf.buffer, buf.byteOffset, n), true);
            return true;
          },
        },
      });
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 5000);
      let settled = false;
      parser = new FrameParser({
        maxFrame: MAX_HELLO_FRAME,
        bodyBuffer: (type, requestId, length) => (type === FrameType.DATA ? this.#pending.get(requestId)?.sink?.(length) : undefined),
        onFrame: (f) => {
          if (settled) {
            this.#onFrame(f);
            return;
          }
          settled = true;
          try {
            if (f.type === FrameType.ERROR) throw remoteError(msg.decodeError(f.payload));
            if (f.type !== FrameType.HELLO_OK) throw new RmmapProtocolError('ERR_RMMAP_HANDSHAKE', `expected HELLO_OK, got type 0x${f.type.toString(16)}`);
            const ok = msg.decodeHelloOk(f.payload);
            this.#epochChanged = this.epoch !== undefined && !this.epoch.equals(ok.epoch);
            this.epoch = Buffer.from(ok.epoch); // the frame views the reused read buffer
            this.maxFrame = ok.maxFrame;
            this.readOnly = ok.readOnly;
            // Replies can be as large as the server's own limit.
            (parser as FrameParser).maxFrame = Math.min(MAX_FRAME_LIMIT, ok.maxFrame + 64);
            this.#socket = socket;
            this.#refed = true;
            if (this.#pending.size === 0) {
              socket.unref();
              this.#refed = false;
            }
            for (const p of this.#pending.values()) p.sent = false;
            resolve();
          } catch (e) {
            socket.destroy();
            reject(e);
          }
        },
        onError: (err) => {
          socket.destroy(err);
        },
      });
      let connected = false;
      let socketError: Error | undefined;
      socket.once('connect', () => {
        connected = true;
        socket.write(msg.encodeHello(0, this.session, this.#token, PROTOCOL_VERSION));
      });
      socket.on('error', (err) => {
        socketError ??= err;
        debug('socket to %s: %s', this.address, err.message);
      });
      socket.once('close', () => {
        parser?.stop();
        if (!settled) {
          settled = true;
          if (!connected) {
            const why = (socketError as NodeJS.ErrnoException | undefined)?.code ?? socketError?.message ?? 'closed';
            reject(new RmmapUnavailableError('ERR_RMMAP_UNAVAILABLE', `connecting to ${this.address} failed (${why})`, { cause: socketError }));
            return;
          }
          const err = new RmmapUnavailableError('ERR_RMMAP_UNAVAILABLE', `connection to ${this.address} closed during the handshake`, { cause: socketError });
          transientFailures.add(err);
          reject(err);
          return;
        }
        if (this.#socket === socket) this.#lost();
      });
    });
  }

  /** The established connection dropped: mark everything unsent and reconnect. */
  #lost(): void {
    this.#socket = undefined;
    if (this.#state === 'closed') return;
    channels.clientDisconnected.publish({ address: this.address });
    this.#state = 'down';
    for (const [id, p] of [...this.#pending]) {
      p.sent = false;
      if (p.onLost?.() === true) {
        this.#pending.delete(id);
        p.resolve({ type: FrameType.OK, requestId: id, payload: Buffer.alloc(0) });
      } else if (p.control) {
        this.#pending.delete(id);
        settleAndReject(p, new RmmapUnavailableError('ERR_RMMAP_UNAVAILABLE', `connection to ${this.address} lost during re-map`));
      }
    }
    if (!this.#reconnecting) {
      this.#ready = this.#reconnect();
      this.#ready.catch(() => {});
    }
  }

  #onFrame(f: RawFrame): void {
    if (f.type === FrameType.NOTIFY) {
      let n: msg.Notify;
      try {
        n = msg.decodeNotify(f.payload);
      } catch (e) {
        debug('bad NOTIFY from %s: %s', this.address, (e as Error).message);
        return;
      }
      this.notifyTargets.get(n.mapId)?.(n);
      return;
    }
    const p = this.#pending.get(f.requestId);
    if (p === undefined) {
      if (f.type === FrameType.ERROR) {
        // A connection-level error (request id 0): the server closes next.
        try {
          const e = msg.decodeError(f.payload);
          debug('server %s: %s %s', this.address, wireErrorName[e.code] ?? e.code, e.message);
        } catch {
          // malformed error frame; the close follows anyway
        }
      }
      return;
    }
    this.#pending.delete(f.requestId);
    if (this.#pending.size === 0 && this.#refed) {
      this.#socket?.unref();
      this.#refed = false;
    }
    if (f.type === FrameType.ERROR) {
      let err: Error;
      try {
        err = remoteError(msg.decodeError(f.payload));
      } catch (e) {
        err = e as Error;
      }
      settleAndReject(p, err);
      return;
    }
    // Consumers run later: a payload viewing the reused read buffer is copied.
    const reply = f.owned === false ? { type: f.type, requestId: f.requestId, payload: Buffer.from(f.payload), owned: true } : f;
    try {
      p.settle?.(reply);
    } catch (e) {
      p.reject(e as Error);
      return;
    }
    p.resolve(reply);
  }
}

function settleAndReject(p: Pending, err: Error): void {
  try {
    p.settle?.(undefined);
  } finally {
    p.reject(err);
  }
}

export function remoteError(e: msg.ErrorBody): RmmapRemoteError {
  const name = wireErrorName[e.code] ?? `ERR_RMMAP_REMOTE_${e.code}`;
  return new RmmapRemoteError(name, `rmmapd: ${e.message}`);
}
