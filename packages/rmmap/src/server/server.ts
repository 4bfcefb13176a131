import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { type DaemonLogger, type LogFields, type LogLevel, LogLimiter } from '@shmkit/shm-fd';

import { DEFAULT_MAX_FRAME, MAX_FRAME_LIMIT } from '../constants';
import { channels } from '../diagnostics';
import { RmmapArgumentError, RmmapError } from '../errors';
import * as msg from '../messages';
import { MAX_APPLIED } from './applied';
import { Budget } from './budget';
import { ServerConnection } from './connection';
import { FileTable, type Section } from './files';
import { DEFAULT_JOURNAL_MAX_BYTES, type JournalSnapshot, WriteJournal } from './journal';
import { defaultJournalDir, defaultJournalPath, ensurePrivateDir } from './journal-location';
import { reapplyLast } from './journal-replay';
import { resolveLimits, type ServerLimits } from './limits';
import { withoutRoot } from './root-relative';
import type { Session } from './session';
import type { RmmapdStatus } from './status';
import { UnreadReplies } from './unread-replies';

export interface ServerOptions {
  /** Directory served; nothing outside it is ever opened. */
  root: string;
  /** Shared secret clients must present in HELLO (compared in constant time). */
  token?: Buffer;
  readOnly?: boolean;
  /** Largest frame accepted and advertised (§2). */
  maxFrame?: number;
  /** Mappings one connection may hold at once (default 1024); MAP beyond it gets ERR_RMMAP_TOO_MANY_MAPPINGS. */
  maxMappingsPerConnection?: number;
  /** Mappings all connections together may hold (default 16384, at most half of vm.max_map_count); MAP beyond it gets ERR_RMMAP_BUDGET. */
  maxMappings?: number;
  /** Unread reply bytes of one connection at which the server stops reading from it (default 64 MiB). */
  maxUnreadPerConnection?: number;
  /** Unread reply bytes of all connections at which the server stops reading from those that add to them (default 512 MiB). */
  maxUnread?: number;
  /** How long a disconnected client's write-dedupe table is kept for its return (ms). */
  sessionTtlMs?: number;
  /** A connection that has not completed HELLO after this long is closed (ms, default 10 000). */
  handshakeTimeoutMs?: number;
  /** Connections served at once (default 256); more get ERR_RMMAP_BUDGET and are closed. */
  maxConnections?: number;
  /** One line per connection and error (rate-limited per client and kind); default: none. */
  log?: (line: string) => void;
  /** Takes the place of `log`: levels, fields (client, code), JSON or journal output. */
  logger?: DaemonLogger;
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

type ResolvedServerOptions = Required<Omit<ServerOptions, 'token' | 'log' | 'logger' | 'journalPath' | keyof ServerLimits>> &
  ServerLimits &
  Pick<ServerOptions, 'token' | 'log' | 'logger'> & {
    /** The journal in use; false when there is none. */
    journalPath: string | false;
  };

/**
 * Past their connection limit, this many more connections are accepted to be
 * told ERR_RMMAP_BUDGET before they are closed; beyond that they are closed at
 * accept without a word (so a flood cannot hold fds in that state either).
 */
const REFUSED_LINGER = 64;
/**
 * The rmmapd server: serves sections of files under `root` to rmmap clients.
 * Writes are applied to a shared mmap of the real file, one at a time in
 * arrival order, so each write is atomic with respect to every reader.
 */
export class RmmapServer {
  static readonly MAX_APPLIED = MAX_APPLIED;
  readonly epoch = randomBytes(16);
  readonly files: FileTable;
  readonly #server: net.Server;
  readonly #conns = new Set<ServerConnection>();
  readonly #sessions = new Map<string, Session>();
  readonly #opts: ResolvedServerOptions;
  /** Every spelling of the root, removed from what clients are told. */
  readonly #roots: string[];
  readonly #mappings: Budget<ServerConnection>;
  readonly #unread: UnreadReplies;
  readonly #logLimiter = new LogLimiter({ intervalMs: 1000 });
  /** Passed to the journal, which calls it when it compacts. */
  readonly #snapshotFn = (): JournalSnapshot => this.#snapshot();
  #journal: WriteJournal | undefined;
  #closing: Promise<void> | undefined;
  readonly #startedAt = Date.now();
  #activated = false;
  /** @internal File bytes sent in DATA replies since start (status). */
  bytesRead = 0;
  /** @internal File bytes written by clients since start (status). */
  bytesWritten = 0;

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
    const limits = resolveLimits({
      maxMappingsPerConnection: options.maxMappingsPerConnection,
      maxMappings: options.maxMappings,
      maxUnreadPerConnection: options.maxUnreadPerConnection,
      maxUnread: options.maxUnread,
      maxConnections: options.maxConnections,
      handshakeTimeoutMs: options.handshakeTimeoutMs,
    });
    this.#opts = {
      root: rootReal,
      readOnly,
      maxFrame,
      ...limits,
      sessionTtlMs: options.sessionTtlMs ?? 120_000,
      token: options.token,
      log: options.log,
      logger: options.logger,
      journalMaxBytes,
      journalPath: readOnly || options.journalPath === false ? false : (options.journalPath ?? defaultJournal(rootReal)),
    };
    this.#roots = [rootReal, path.resolve(options.root)];
    this.#mappings = new Budget('mappings', { perHolder: limits.maxMappingsPerConnection, total: limits.maxMappings });
    this.#unread = new UnreadReplies(
      { maxUnreadPerConnection: limits.maxUnreadPerConnection, maxUnread: limits.maxUnread, maxFrame },
      { connections: () => this.#conns, logLimited: (conn, kind, line) => this.logLimited(conn, kind, line) },
    );
    this.files = new FileTable(rootReal, this.#opts.readOnly);
    this.#server = net.createServer((socket) => this.#accept(socket));
    this.#server.maxConnections = this.#opts.maxConnections + REFUSED_LINGER;
    this.#server.on('drop', (d) =>
      this.logLimited(d?.remoteAddress ?? '?', 'refused', `refused a connection from ${d?.remoteAddress ?? '?'}: ${this.#opts.maxConnections} connections (--max-connections) reached`),
    );
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
  listen(port: number | { fd: number } = 7878, host = '127.0.0.1'): Promise<net.AddressInfo> {
    // { fd }: a listening socket passed by socket activation (checked by activatedSocket).
    this.#activated = typeof port === 'object';
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(typeof port === 'object' ? { fd: port.fd } : { port, host }, () => {
        this.#server.off('error', reject);
        // Once listening, errors are failed accepts (EMFILE, ENFILE): the
        // server keeps listening, and a client must not be able to end it.
        this.#server.on('error', (e) => this.logLimited('*', 'accept-error', `accepting a connection failed: ${e.message}`));
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

  log(line: string, fields?: LogFields, level: LogLevel = 'info'): void {
    if (this.#opts.logger !== undefined) this.#opts.logger.log(level, line, fields);
    else this.#opts.log?.(line);
  }

  /** Load, journal, traffic and budgets, for `rmmapd status`. */
  status(): RmmapdStatus {
    const a = this.#server.address();
    const o = this.#opts;
    return {
      pid: process.pid,
      address: typeof a === 'object' && a !== null ? a.address : '',
      port: typeof a === 'object' && a !== null ? a.port : 0,
      root: o.root,
      readOnly: o.readOnly,
      activated: this.#activated,
      uptimeMs: Date.now() - this.#startedAt,
      connections: this.#conns.size,
      sessions: this.#sessions.size,
      mappings: this.#mappings.total,
      openFiles: this.files.openFiles,
      unreadBytes: this.#unread.total,
      bytesRead: this.bytesRead,
      bytesWritten: this.bytesWritten,
      journal: o.journalPath === false || this.#journal === undefined ? null : { path: o.journalPath, bytes: this.#journal.size, maxBytes: o.journalMaxBytes },
      budgets: {
        maxConnections: o.maxConnections,
        maxMappingsPerConnection: o.maxMappingsPerConnection,
        maxMappings: o.maxMappings,
        maxUnreadPerConnection: o.maxUnreadPerConnection,
        maxUnread: o.maxUnread,
        maxFrame: o.maxFrame,
        handshakeTimeoutMs: o.handshakeTimeoutMs,
      },
    };
  }

  /**
   * Logs `line` unless this client (address without port; or a connection)
   * already had a line of this kind in the last second; the next line of
   * the kind says how many were held back. A client cannot flood the log.
   */
  logLimited(client: ServerConnection | string, kind: string, line: string): void {
    const peer = typeof client === 'string' ? client : client.peer;
    const d = this.#logLimiter.allow(`${peer} ${kind}`);
    if (!d.log) return;
    // Connections coming and going are the normal course; everything else a client causes is worth a look.
    const level: LogLevel = kind === 'connection' || kind === 'closed' ? 'info' : 'warn';
    const code = /^(?:fatal )?(ERR_[A-Z_]+)$/.exec(kind)?.[1];
    this.log(d.dropped > 0 ? `${line} (${d.dropped} similar suppressed)` : line, { client: typeof client === 'string' ? client : client.remote, event: kind, code, suppressed: d.dropped > 0 ? d.dropped : undefined }, level);
  }

  /** @internal A message for a client: paths under the root named relative to it. */
  clientText(message: string): string {
    return withoutRoot(message, this.#roots);
  }

  #accept(socket: net.Socket): void {
    if (this.#closing !== undefined) {
      socket.destroy();
      return;
    }
    if (this.#conns.size >= this.#opts.maxConnections) {
      this.#refuse(socket);
      return;
    }
    const conn = new ServerConnection(this, socket);
    this.#conns.add(conn);
    channels.serverConnection.publish({ remote: conn.remote });
    this.logLimited(conn, 'connection', `connection from ${conn.remote}`);
  }

  /** Tells a connection over the limit why, then closes it; what it sends is discarded. */
  #refuse(socket: net.Socket): void {
    const peer = socket.remoteAddress ?? '?';
    const limit = this.#opts.maxConnections;
    this.logLimited(peer, 'refused', `refused a connection from ${peer}:${socket.remotePort ?? '?'}: ${limit} connections (--max-connections) reached`);
    socket.on('error', () => {});
    socket.end(msg.encodeError(0, 'ERR_RMMAP_BUDGET', `connections: the server already serves ${limit} (its --max-connections); retry later`));
    socket.resume();
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  /** @internal */
  connectionClosed(conn: ServerConnection): void {
    this.#conns.delete(conn);
    this.#unread.forget(conn);
    this.#mappings.forget(conn);
    const s = conn.session;
    if (s !== undefined && s.conn === conn) {
      s.conn = undefined;
      this.#expireLater(s);
    }
    this.logLimited(conn, 'closed', `${conn.remote}: closed`);
  }

  /** @internal The connection sent a fatal error and closes soon: its replies no longer count against others. */
  connectionEnding(conn: ServerConnection): void {
    this.#unread.forget(conn);
  }

  /** @internal Throws when `conn` may not hold one more mapping. */
  checkMappingBudget(conn: ServerConnection): void {
    const over = this.#mappings.wouldExceed(conn, 1);
    if (over === undefined) return;
    const { perHolder, total } = this.#mappings.limits;
    this.logLimited(conn, `mapping budget ${over}`, `${conn.remote}: MAP refused: ${over === 'connection' ? `${perHolder} mappings on this connection` : `${total} mappings in total`} reached`);
    if (over === 'connection') {
      throw new RmmapError(
        'ERR_RMMAP_TOO_MANY_MAPPINGS',
        `this connection already holds ${conn.mappings} mappings, the server's limit per connection (--max-mappings ${perHolder}); unmap some first`,
      );
    }
    throw new RmmapError(
      'ERR_RMMAP_BUDGET',
      `mappings: the server holds ${this.#mappings.total}, its limit for all connections (--max-mappings-total ${total}); unmap some or retry later`,
    );
  }

  /** @internal */
  mappingTaken(conn: ServerConnection): void {
    this.#mappings.set(conn, this.#mappings.heldBy(conn) + 1);
  }

  /** @internal */
  mappingReleased(conn: ServerConnection): void {
    this.#mappings.release(conn, 1);
  }

  /** Mappings held by all connections together. */
  get mappings(): number {
    return this.#mappings.total;
  }

  /** Reply bytes queued for all connections and not yet taken by their sockets, as last measured. */
  get unreadBytes(): number {
    return this.#unread.total;
  }

  /** @internal Whether `conn`'s next request may be served now (see UnreadReplies). */
  mayServe(conn: ServerConnection): boolean {
    return this.#unread.mayServe(conn);
  }

  /** @internal After a reply was queued for `conn` (see UnreadReplies). */
  unreadGrew(conn: ServerConnection): void {
    this.#unread.grew(conn);
  }

  /** @internal Everything queued for `conn` was taken by its socket. */
  drained(conn: ServerConnection): void {
    this.#unread.drained(conn);
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
