import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';

import * as sys from '@shmkit/shm-fd/sys';

import { DEFAULT_MAX_FRAME, FrameType, HEADER_BYTES, MAX_FRAME_LIMIT, MAX_HELLO_FRAME, PROTOCOL_VERSION, type WireErrorName, WireError } from '../constants';
import { channels } from '../diagnostics';
import { RmmapArgumentError, RmmapError } from '../errors';
import * as msg from '../messages';
import { FrameParser, type RawFrame } from '../parser';
import { type AppliedTable, MAX_APPLIED, pruneApplied, recordApplied } from './applied';
import { FileTable, type Section } from './files';
import { DEFAULT_JOURNAL_MAX_BYTES, type JournalSnapshot, WriteJournal } from './journal';
import { defaultJournalDir, defaultJournalPath, ensurePrivateDir } from './journal-location';
import { reapplyLast } from './journal-replay';
import { tokenMatches } from './token';

export interface ServerOptions {
  /** Directory served; nothing outside it is ever opened. */
  root: string;
  /** Shared secret clients must present in HELLO (compared in constant time). */
  token?: Buffer;
  readOnly?: boolean;
  /** Largest frame accepted and advertised (§2). */
  maxFrame?: number;
  /** Mappings one connection may hold at once. */
  maxMappingsPerConnection?: number;
  /** How long a disconnected client's write-dedupe table is kept for its return (ms). */
  sessionTtlMs?: number;
  /** A connection that has not completed HELLO after this long is closed (ms). */
  handshakeTimeoutMs?: number;
  /** Connections accepted at once; more are refused by closing them. */
  maxConnections?: number;
  /** One line per connection and error; default: none. */
  log?: (line: string) => void;
  /**
   * The write journal that lets exactly-once retries survive a restart
   * (PROTOCOL.md §6). Default: a file named after the root in a private
   * directory, `$XDG_RUNTIME_DIR/rmmapd/` or `/tmp/rmmapd-$UID/`. `false`:
   * no journal (the dedupe tables then die with the process). A read-only
   * server applies no writes and opens no journal.
   */
  journalPath?: string | false;
  /** Compact the journal when it would grow past this (bytes, default 64 MiB). */
  journalMaxBytes?: number;
}

type ResolvedServerOptions = Required<Omit<ServerOptions, 'token' | 'log' | 'journalPath'>> &
  Pick<ServerOptions, 'token' | 'log'> & {
    /** The journal in use; false when there is none. */
    journalPath: string | false;
  };

/** Per-client state that outlives one TCP connection: which writes were applied (§6). */
interface Session {
  id: string;
  /** `id` as bytes, for the journal. */
  idBytes: Buffer;
  /** request id → version the write produced, for writes the client may retry. */
  applied: AppliedTable;
  conn: ServerConnection | undefined;
  expiry: NodeJS.Timeout | undefined;
}

/** Stop reading from a client whose replies pile up unread. */
const HIGH_WATER = 64 * 1024 * 1024;

/**
 * The rmmapd server: serves sections of files under `root` to rmmap clients.
 * Writes are applied to a shared mmap of the real file, one at a time in
 * arrival order, so each write is atomic with respect to every reader.
 */
export class RmmapServer {
  readonly epoch = randomBytes(16);
  readonly files: FileTable;
  readonly #server: net.Server;
  readonly #conns = new Set<ServerConnection>();
  readonly #sessions = new Map<string, Session>();
  readonly #opts: ResolvedServerOptions;
  #journal: WriteJournal | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ServerOptions) {
    let rootReal: string;
    try {
      rootReal = fs.realpathSync(options.root);
    } catch (e) {
      throw new RmmapArgumentError('ERR_RMMAP_ROOT', `cannot serve ${options.root}: ${(e as Error).message}`, { cause: e });
    }
    if (!fs.statSync(rootReal).isDirectory()) throw new RmmapArgumentError('ERR_RMMAP_ROOT', `cannot serve ${options.root}: not a directory`);
    const maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME;
    if (!Number.isInteger(maxFrame) || maxFrame < 1024 || maxFrame > MAX_FRAME_LIMIT) {
      throw new RmmapArgumentError('ERR_OUT_OF_RANGE', `maxFrame must be an integer in [1024, ${MAX_FRAME_LIMIT}], got ${maxFrame}`);
    }
    const journalMaxBytes = options.journalMaxBytes ?? DEFAULT_JOURNAL_MAX_BYTES;
    if (!Number.isInteger(journalMaxBytes) || journalMaxBytes < 4096) {
      throw new RmmapArgumentError('ERR_OUT_OF_RANGE', `journalMaxBytes must be an integer of at least 4096, got ${journalMaxBytes}`);
    }
    const readOnly = options.readOnly ?? false;
    this.#opts = {
      root: rootReal,
      readOnly,
      maxFrame,
      maxMappingsPerConnection: options.maxMappingsPerConnection ?? 4096,
      sessionTtlMs: options.sessionTtlMs ?? 120_000,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
      maxConnections: options.maxConnections ?? 1024,
      token: options.token,
      log: options.log,
      journalMaxBytes,
      journalPath: readOnly || options.journalPath === false ? false : (options.journalPath ?? defaultJournal(rootReal)),
    };
    this.files = new FileTable(rootReal, this.#opts.readOnly);
    this.#server = net.createServer((socket) => this.#accept(socket));
    this.#server.maxConnections = this.#opts.maxConnections;
    this.#server.on('drop', (d) => this.log(`refused a connection from ${d?.remoteAddress ?? '?'}: --max-connections reached`));
  }

  get options(): Readonly<ResolvedServerOptions> {
    return this.#opts;
  }

  get connections(): number {
    return this.#conns.size;
  }

  /**
   * Opens the journal and takes over what it recorded: every session's
   * dedupe table (each with a fresh TTL), every file's version, and the last
   * write, re-applied because it may not have reached the file.
   */
  #restore(file: string): WriteJournal {
    const log = (line: string) => this.log(line);
    const { journal, state } = WriteJournal.open({ path: file, rootReal: this.#opts.root, maxBytes: this.#opts.journalMaxBytes, log });
    try {
      const last = state.last;
      const reapplied = last !== undefined && reapplyLast(this.#opts.root, last, file, log);
      // Not re-applied: a retry must not be acknowledged as if it had been.
      if (last !== undefined && !reapplied) state.sessions.get(last.session)?.delete(last.requestId);
      for (const [rel, version] of state.fileVersions) this.files.restoreVersion(rel, version);
      for (const [id, applied] of state.sessions) {
        if (applied.size === 0) continue;
        const s: Session = { id, idBytes: Buffer.from(id, 'hex'), applied, conn: undefined, expiry: undefined };
        this.#sessions.set(id, s);
        this.#expireLater(s);
      }
      log(`journal ${file}: ${this.#sessions.size} session(s) restored${reapplied ? ', last write re-applied' : ''}`);
      return journal;
    } catch (e) {
      journal.close();
      throw e;
    }
  }

  /** What a compacted journal must keep. */
  #snapshot(): JournalSnapshot {
    return {
      sessions: [...this.#sessions.values()].map((s) => [s.id, s.applied] as const),
      files: this.files.versionEntries(),
    };
  }

  readonly #snapshotFn = (): JournalSnapshot => this.#snapshot();

  /** @internal Journals a WRITE before it is applied (§6); throws when it could not be. */
  journalWrite(session: Session, requestId: number, lowWater: number, s: Section, start: number, data: Uint8Array): void {
    this.#journal?.appendWrite(
      { session: session.idBytes, requestId, lowWater, version: s.file.version + 1, path: s.file.relPathBytes, offset: s.offset + start },
      data,
      this.#snapshotFn,
    );
  }

  #expireLater(s: Session): void {
    s.expiry = setTimeout(() => this.#sessions.delete(s.id), this.#opts.sessionTtlMs);
    s.expiry.unref();
  }

  /**
   * Starts listening, then opens the journal and restores what it recorded
   * (sessions, versions, the last write); resolves with the bound address.
   * Rejects with an `ERR_RMMAP_JOURNAL_*` error (and stops listening) when
   * the journal cannot be used, e.g. another rmmapd holds it.
   */
  listen(port = 7878, host = '127.0.0.1'): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        // The port is checked first (a second rmmapd on a busy port hears
        // EADDRINUSE). No connection is accepted before this callback: it
        // runs from process.nextTick after bind, ahead of any I/O callback.
        try {
          if (this.#opts.journalPath !== false && this.#journal === undefined) this.#journal = this.#restore(this.#opts.journalPath);
        } catch (e) {
          this.#server.close();
          reject(e as Error);
          return;
        }
        resolve(this.#server.address() as net.AddressInfo);
      });
    });
  }

  /** Stops accepting, drops every connection, persists and closes every file. Idempotent. */
  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  async #close(): Promise<void> {
    const closed = new Promise<void>((r) => this.#server.close(() => r()));
    for (const c of [...this.#conns]) c.destroy();
    // Compacted, the journal keeps only the dedupe tables for the next rmmapd.
    this.#journal?.close(this.#snapshot());
    for (const s of this.#sessions.values()) clearTimeout(s.expiry);
    this.#sessions.clear();
    this.files.closeAll();
    await closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  log(line: string): void {
    this.#opts.log?.(line);
  }

  #accept(socket: net.Socket): void {
    if (this.#closing !== undefined) {
      socket.destroy();
      return;
    }
    const conn = new ServerConnection(this, socket);
    this.#conns.add(conn);
    channels.serverConnection.publish({ remote: conn.remote });
    this.log(`connection from ${conn.remote}`);
  }

  /** @internal */
  connectionClosed(conn: ServerConnection): void {
    this.#conns.delete(conn);
    const s = conn.session;
    if (s !== undefined && s.conn === conn) {
      s.conn = undefined;
      this.#expireLater(s);
    }
  }

  /** @internal Binds `conn` to its session, taking it over from a stale connection. */
  attachSession(conn: ServerConnection, id: string): { session: Session; resumed: boolean } {
    let s = this.#sessions.get(id);
    const resumed = s !== undefined;
    if (s === undefined) {
      s = { id, idBytes: Buffer.from(id, 'hex'), applied: new Map(), conn: undefined, expiry: undefined };
      this.#sessions.set(id, s);
    }
    clearTimeout(s.expiry);
    s.expiry = undefined;
    // The client reconnected while we still hold its old connection (a cut we
    // have not noticed). Drop the old one first: none of its frames may be
    // applied after the new connection's.
    if (s.conn !== undefined && s.conn !== conn) {
      this.log(`${s.conn.remote}: replaced by a reconnect from ${conn.remote}`);
      s.conn.destroy();
    }
    s.conn = conn;
    return { session: s, resumed };
  }

  /** @internal NOTIFY every other section overlapping the file bytes a write changed. */
  notifyOverlapping(writer: Section, fileStart: number, fileEnd: number): void {
    for (const s of this.files.overlapping(writer.file, fileStart, fileEnd)) {
      if (s === writer) continue;
      const start = Math.max(fileStart, s.offset) - s.offset;
      const end = Math.min(fileEnd, s.end) - s.offset;
      (s.owner as ServerConnection).send(msg.encodeNotify({ mapId: s.id, start, end, version: writer.file.version }));
    }
  }

  static readonly MAX_APPLIED = MAX_APPLIED;
}

/** One client connection; owns its sections (unmapped when it closes). */
export class ServerConnection {
  readonly remote: string;
  session: Session | undefined;
  readonly #server: RmmapServer;
  readonly #socket: net.Socket;
  readonly #parser: FrameParser;
  readonly #sections = new Map<number, Section>();
  #closed = false;

  constructor(server: RmmapServer, socket: net.Socket) {
    this.#server = server;
    this.#socket = socket;
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    // A client that vanished without a FIN (a cut cable) is noticed eventually.
    socket.setKeepAlive(true, 10_000);
    this.#parser = new FrameParser({
      maxFrame: MAX_HELLO_FRAME,
      onFrame: (f) => this.#onFrame(f),
      onError: (err) => this.#fatal(0, err.code as WireErrorName, err.message),
    });
    socket.on('data', (chunk: Buffer) => this.#parser.push(chunk));
    socket.on('drain', () => socket.resume());
    socket.on('error', (err) => this.#server.log(`${this.remote}: socket error: ${err.message}`));
    socket.on('close', () => this.#cleanup());
    // A peer that connects and never says HELLO must not hold a slot forever.
    this.#handshakeTimer = setTimeout(() => {
      if (this.session === undefined) this.#fatal(0, 'ERR_RMMAP_HANDSHAKE', `no HELLO within ${server.options.handshakeTimeoutMs} ms (PROTOCOL.md §3)`);
    }, server.options.handshakeTimeoutMs);
    this.#handshakeTimer.unref();
  }

  #handshakeTimer: NodeJS.Timeout | undefined;

  send(frame: Buffer): void {
    if (this.#closed) return;
    this.#socket.write(frame);
    if (this.#socket.writableLength > HIGH_WATER) this.#socket.pause();
  }

  destroy(): void {
    this.#socket.destroy();
    this.#cleanup();
  }

  #cleanup(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#handshakeTimer);
    this.#parser.stop();
    for (const s of this.#sections.values()) this.#unmap(s);
    this.#sections.clear();
    this.#server.connectionClosed(this);
    this.#server.log(`${this.remote}: closed`);
  }

  #unmap(s: Section): void {
    try {
      this.#server.files.unmapSection(s);
    } catch (e) {
      this.#server.log(`${this.remote}: persisting ${s.file.realPath} failed: ${(e as Error).message}`);
    }
  }

  /** A framing error: report it, then close (the stream cannot be resynchronised). */
  #fatal(requestId: number, code: WireErrorName, message: string): void {
    if (this.#closed) return;
    this.#server.log(`${this.remote}: ${code}: ${message}; closing`);
    channels.serverError.publish({ remote: this.remote, code, message });
    this.#parser.stop();
    this.#socket.end(msg.encodeError(requestId, code in WireError ? code : 'ERR_RMMAP_BAD_FRAME', message));
    // A peer that never closes its side must not hold the fd forever.
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  /**
   * DATA must be a snapshot taken now (§4.2). Small replies are copied into
   * the frame. Large ones, when nothing is queued on the socket, go to the
   * kernel straight from the file mapping with write(2): the kernel copies
   * them into the socket buffer during the call, on this (the only) server
   * thread, so no later write can leak in, and we skip one user-space copy.
   * Whatever the kernel does not take now is copied and queued as usual.
   */
  #sendData(id: number, s: Section, start: number, end: number): void {
    const version = s.file.version;
    const len = end - start;
    const fd = this.#fd();
    if (len < DIRECT_MIN || fd < 0 || this.#socket.writableLength !== 0 || this.#closed) {
      this.send(msg.encodeData(id, version, s.mapping.buffer.subarray(start, end)));
      return;
    }
    const header = msg.frame(FrameType.DATA, id, 8 + len).subarray(0, HEADER_BYTES + 8);
    header.writeUInt32BE(Math.floor(version / 0x100000000), HEADER_BYTES);
    header.writeUInt32BE(version >>> 0, HEADER_BYTES + 4);
    const scratch = sys.getScratch();
    header.copy(scratch.buf, 0);
    const h = writeSome(fd, scratch.addr, header.length);
    if (h < header.length) {
      this.send(Buffer.concat([header.subarray(h), s.mapping.buffer.subarray(start, end)]));
      return;
    }
    const w = writeSome(fd, s.mapping.address + start, len);
    if (w < len) this.send(Buffer.from(s.mapping.buffer.subarray(start + w, end)));
  }

  #fdCache: number | undefined;

  #fd(): number {
    if (this.#fdCache === undefined) {
      const handle = (this.#socket as unknown as { _handle?: { fd?: unknown } })._handle;
      this.#fdCache = typeof handle?.fd === 'number' ? handle.fd : -1;
    }
    return this.#fdCache;
  }

  #error(requestId: number, code: WireErrorName, message: string): void {
    this.send(msg.encodeError(requestId, code, message));
  }

  #onFrame(f: RawFrame): void {
    if (this.#closed) return;
    if (this.session === undefined) {
      this.#handshake(f);
      return;
    }
    try {
      this.#dispatch(f);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      const name: WireErrorName = typeof code === 'string' && code in WireError ? (code as WireErrorName) : 'ERR_RMMAP_IO';
      if (name === 'ERR_RMMAP_IO') this.#server.log(`${this.remote}: request ${f.requestId} failed: ${(e as Error).message}`);
      this.#error(f.requestId, name, (e as Error).message);
    }
  }

  #handshake(f: RawFrame): void {
    // §3: "The first frame on a connection MUST be HELLO."
    if (f.type !== FrameType.HELLO) {
      this.#fatal(f.requestId, 'ERR_RMMAP_HANDSHAKE', `expected HELLO as the first frame, got type 0x${f.type.toString(16)} (PROTOCOL.md §3)`);
      return;
    }
    let hello: msg.Hello;
    try {
      hello = msg.decodeHello(f.payload);
    } catch (e) {
      this.#fatal(f.requestId, 'ERR_RMMAP_HANDSHAKE', (e as Error).message);
      return;
    }
    if (hello.version !== PROTOCOL_VERSION) {
      this.#fatal(f.requestId, 'ERR_RMMAP_VERSION', `protocol version ${hello.version} is not supported; this server speaks ${PROTOCOL_VERSION}`);
      return;
    }
    if (!tokenMatches(this.#server.options.token, hello.token)) {
      this.#fatal(f.requestId, 'ERR_RMMAP_AUTH', 'wrong or missing token; pass the token from the server\'s --token-file');
      return;
    }
    clearTimeout(this.#handshakeTimer);
    const { session, resumed } = this.#server.attachSession(this, hello.session.toString('hex'));
    this.session = session;
    this.#parser.maxFrame = this.#server.options.maxFrame;
    this.send(
      msg.encodeHelloOk(f.requestId, {
        version: PROTOCOL_VERSION,
        maxFrame: this.#server.options.maxFrame,
        epoch: this.#server.epoch,
        resumed,
        readOnly: this.#server.options.readOnly,
      }),
    );
  }

  #section(id: number): Section {
    const s = this.#sections.get(id);
    if (s === undefined) throw new RmmapError('ERR_RMMAP_UNKNOWN_MAPPING', `mapping id ${id} is not mapped on this connection`);
    return s;
  }

  #dispatch(f: RawFrame): void {
    const id = f.requestId;
    switch (f.type) {
      case FrameType.MAP: {
        const m = msg.decodeMap(f.payload);
        if (this.#sections.size >= this.#server.options.maxMappingsPerConnection) {
          throw new RmmapError('ERR_RMMAP_TOO_MANY_MAPPINGS', `this connection already holds ${this.#sections.size} mappings; unmap some first`);
        }
        const s = this.#server.files.mapSection(this, m.path, m.offset, m.length, m.writable);
        this.#sections.set(s.id, s);
        this.send(
          msg.encodeMapped(id, { mapId: s.id, offset: s.offset, length: s.length, fileSize: s.file.size, version: s.file.version, writable: s.writable }),
        );
        return;
      }
      case FrameType.READ: {
        const r = msg.decodeRead(f.payload);
        const s = this.#section(r.mapId);
        if (r.end > s.length) throw new RmmapError('ERR_RMMAP_RANGE', `READ [${r.start}, ${r.end}) exceeds mapping ${s.id} of ${s.length} bytes`);
        if (r.end - r.start > this.#server.options.maxFrame) {
          throw new RmmapError('ERR_RMMAP_RANGE', `READ of ${r.end - r.start} bytes exceeds the max frame size ${this.#server.options.maxFrame}; split it`);
        }
        this.#sendData(id, s, r.start, r.end);
        return;
      }
      case FrameType.WRITE: {
        const w = msg.decodeWrite(f.payload);
        const session = this.session as Session;
        pruneApplied(session.applied, w.lowWater);
        const done = session.applied.get(id);
        if (done !== undefined) {
          // §6: a retried write that was already applied is acknowledged, not applied again.
          this.send(msg.encodeVersion(FrameType.WROTE, id, done));
          return;
        }
        const s = this.#section(w.mapId);
        if (!s.writable) throw new RmmapError('ERR_RMMAP_READ_ONLY', `mapping ${s.id} was mapped read-only`);
        if (w.start + w.data.length > s.length) {
          throw new RmmapError('ERR_RMMAP_RANGE', `WRITE [${w.start}, ${w.start + w.data.length}) exceeds mapping ${s.id} of ${s.length} bytes`);
        }
        // Journal first (a copy into its mapping, no fsync): after a kill -9 the next
        // rmmapd knows this request id was applied (§6). Every check that
        // could refuse the write is above, so what is journaled gets applied.
        this.#server.journalWrite(session, id, w.lowWater, s, w.start, w.data);
        // One copy on the single server thread: no reader sees half of it.
        s.mapping.buffer.set(w.data, w.start);
        const version = ++s.file.version;
        recordApplied(session.applied, id, version);
        this.send(msg.encodeVersion(FrameType.WROTE, id, version));
        if (w.data.length > 0) this.#server.notifyOverlapping(s, s.offset + w.start, s.offset + w.start + w.data.length);
        return;
      }
      case FrameType.UNMAP: {
        const s = this.#section(msg.decodeMapIdBody(f.payload, 'UNMAP', false));
        this.#sections.delete(s.id);
        this.#server.files.unmapSection(s);
        this.send(msg.encodeEmpty(FrameType.OK, id));
        return;
      }
      case FrameType.SYNC: {
        const which = msg.decodeMapIdBody(f.payload, 'SYNC', true);
        const sections = which === 0 ? [...this.#sections.values()] : [this.#section(which)];
        const files = new Set(sections.map((s) => s.file));
        for (const s of sections) if (s.writable) s.mapping.sync();
        for (const file of files) if (file.writable) file.fsync();
        this.send(msg.encodeEmpty(FrameType.OK, id));
        return;
      }
      case FrameType.PING:
        this.send(msg.encodeBytes(FrameType.PONG, id, f.payload));
        return;
      case FrameType.HELLO:
        throw new RmmapError('ERR_RMMAP_HANDSHAKE', 'HELLO was already received on this connection (PROTOCOL.md §3)');
      default:
        // §4: "A receiver answers an unknown type with ERR_RMMAP_UNKNOWN_TYPE and keeps the connection."
        throw new RmmapError('ERR_RMMAP_UNKNOWN_TYPE', `unknown request type 0x${f.type.toString(16)} (PROTOCOL.md §4)`);
    }
  }
}

/** Replies at least this large are written from the mapping directly (see #sendData). */
const DIRECT_MIN = 64 * 1024;

/** write(2) on a non-blocking socket: bytes taken, 0 on EAGAIN or error (the socket reports errors itself). */
function writeSome(fd: number, addr: number, len: number): number {
  const r = sys.libc().write(fd, addr, len);
  return r.value < 0 ? 0 : r.value;
}

/** The default journal of a root, in the private state directory (created 0700 if needed). */
function defaultJournal(rootReal: string): string {
  try {
    ensurePrivateDir(defaultJournalDir());
  } catch (e) {
    if (e instanceof RmmapError) throw e;
    throw new RmmapError('ERR_RMMAP_JOURNAL_IO', `cannot create the journal directory ${defaultJournalDir()}: ${(e as Error).message}; pass --journal FILE`, { cause: e });
  }
  return defaultJournalPath(rootReal);
}
