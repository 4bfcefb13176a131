import type net from 'node:net';

import * as sys from '@shmkit/shm-fd/sys';

import { FrameType, HEADER_BYTES, MAX_HELLO_FRAME, PROTOCOL_VERSION, type WireErrorName, WireError } from '../constants';
import { channels } from '../diagnostics';
import { RmmapError } from '../errors';
import * as msg from '../messages';
import { FrameParser, type RawFrame } from '../parser';
import type { Section } from './files';
import { handleRequest, type RequestContext } from './handlers/index';
import type { RmmapServer } from './server';
import type { Session } from './session';
import { tokenMatches } from './token';

/**
 * Received bytes are handed to the parser in pieces of at most this size, so
 * that once the server stops serving a connection (its replies are unread),
 * at most this many bytes' worth of requests wait parsed; the rest waits as
 * raw bytes.
 */
const FEED_SLICE = 8 * 1024;

/** One client connection; owns its sections (unmapped when it closes). */
export class ServerConnection {
  readonly remote: string;
  /** The client's address without the port: one client, for rate-limited log lines. */
  readonly peer: string;
  session: Session | undefined;
  readonly #server: RmmapServer;
  readonly #socket: net.Socket;
  readonly #parser: FrameParser;
  readonly #sections = new Map<number, Section>();
  /** Received bytes not yet given to the parser (only while requests wait). */
  readonly #input: Buffer[] = [];
  /** Parsed requests waiting until the server may serve this connection again. */
  readonly #waiting: RawFrame[] = [];
  #handshakeTimer: NodeJS.Timeout | undefined;
  /** What request handlers use of this connection; set by the handshake. */
  #context: RequestContext | undefined;
  /** The socket's fd for direct writes (-1: not available), looked up once. */
  #fdCache: number | undefined;
  /** A fatal error was sent: nothing more is served or sent. */
  #ending = false;
  #closed = false;

  constructor(server: RmmapServer, socket: net.Socket) {
    this.#server = server;
    this.#socket = socket;
    this.peer = socket.remoteAddress ?? '?';
    this.remote = `${this.peer}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    // A client that vanished without a FIN (a cut cable) is noticed eventually.
    socket.setKeepAlive(true, 10_000);
    this.#parser = new FrameParser({
      maxFrame: MAX_HELLO_FRAME,
      onFrame: (f) => this.#onFrame(f),
      onError: (err) => this.fatal(0, err.code as WireErrorName, err.message),
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.closed) return;
      this.#input.push(chunk);
      this.#feed();
    });
    socket.on('drain', () => this.#server.drained(this));
    socket.on('error', (err) => this.#server.logLimited(this, 'socket-error', `${this.remote}: socket error: ${err.message}`));
    socket.on('close', () => this.#cleanup());
    // A peer that connects and never says HELLO must not hold a slot forever.
    const ms = server.options.handshakeTimeoutMs;
    this.#handshakeTimer = setTimeout(() => {
      if (this.session === undefined) this.fatal(0, 'ERR_RMMAP_HANDSHAKE', `no HELLO within ${ms} ms (PROTOCOL.md §3)`);
    }, ms);
    this.#handshakeTimer.unref();
  }

  get closed(): boolean {
    return this.#closed || this.#ending;
  }

  /** Reply bytes queued in this process for the client, not yet taken by the kernel. */
  get unread(): number {
    return this.#closed ? 0 : this.#socket.writableLength;
  }

  /** Mappings this connection holds. */
  get mappings(): number {
    return this.#sections.size;
  }

  send(frame: Buffer): void {
    if (this.closed) return;
    this.#socket.write(frame);
    this.#server.unreadGrew(this);
  }

  /** Stops reading from the socket until `resume()`. */
  pause(): void {
    this.#socket.pause();
  }

  /** Serves the requests that waited, then reads again, as far as the server's budgets allow. */
  resume(): void {
    while (this.#waiting.length > 0 && !this.closed && this.#server.mayServe(this)) this.#serve(this.#waiting.shift() as RawFrame);
    this.#feed();
    if (this.#waiting.length === 0 && this.#input.length === 0 && !this.closed && this.#server.mayServe(this)) this.#socket.resume();
  }

  destroy(): void {
    this.#socket.destroy();
    this.#cleanup();
  }

  /** Gives received bytes to the parser, a slice at a time, while requests may be served. */
  #feed(): void {
    while (this.#input.length > 0 && this.#waiting.length === 0 && !this.closed) {
      if (!this.#server.mayServe(this)) {
        this.pause();
        return;
      }
      const c = this.#input[0] as Buffer;
      if (c.length <= FEED_SLICE) {
        this.#input.shift();
        this.#parser.push(c);
      } else {
        this.#input[0] = c.subarray(FEED_SLICE);
        this.#parser.push(c.subarray(0, FEED_SLICE));
      }
    }
    if (this.#input.length > 0 || this.#waiting.length > 0) this.pause();
  }

  #cleanup(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#handshakeTimer);
    this.#parser.stop();
    this.#input.length = 0;
    this.#waiting.length = 0;
    for (const s of this.#sections.values()) this.#unmap(s);
    this.#sections.clear();
    this.#server.connectionClosed(this);
  }

  #unmap(s: Section): void {
    this.#server.mappingReleased(this);
    try {
      this.#server.files.unmapSection(s);
    } catch (e) {
      this.#server.logLimited(this, 'persist-failed', `${this.remote}: persisting ${s.file.relPath} failed: ${(e as Error).message}`);
    }
  }

  /**
   * Reports a connection-level error (request id 0 for framing), then
   * closes: the stream cannot be resynchronised, or the peer went past a
   * budget. A peer that never reads or closes loses the fd after 1 s.
   */
  fatal(requestId: number, code: WireErrorName, message: string): void {
    if (this.closed) return;
    this.#ending = true;
    const text = this.#server.clientText(message);
    this.#server.logLimited(this, `fatal ${code}`, `${this.remote}: ${code}: ${message}; closing`);
    channels.serverError.publish({ remote: this.remote, code, message: text });
    this.#parser.stop();
    this.#input.length = 0;
    this.#waiting.length = 0;
    this.#server.connectionEnding(this);
    this.#socket.end(msg.encodeError(requestId, code in WireError ? code : 'ERR_RMMAP_BAD_FRAME', text));
    // Nothing more is read; what arrives is discarded rather than buffered.
    this.#socket.resume();
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
    this.#server.bytesRead += len;
    const fd = this.#fd();
    if (len < DIRECT_MIN || fd < 0 || this.#socket.writableLength !== 0 || this.closed) {
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

  #fd(): number {
    if (this.#fdCache === undefined) {
      try {
        this.#fdCache = sys.socketFd(this.#socket);
      } catch {
        this.#fdCache = -1;
      }
    }
    return this.#fdCache;
  }

  #error(requestId: number, code: WireErrorName, message: string): void {
    this.send(msg.encodeError(requestId, code, this.#server.clientText(message)));
  }

  #onFrame(f: RawFrame): void {
    if (this.closed) return;
    // Requests are served in arrival order: once one waits, all later ones do.
    if (this.#waiting.length > 0 || !this.#server.mayServe(this)) {
      this.#waiting.push(f);
      this.pause();
      return;
    }
    this.#serve(f);
  }

  #serve(f: RawFrame): void {
    if (this.session === undefined) {
      this.#handshake(f);
      return;
    }
    try {
      handleRequest(this.#context as RequestContext, f);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      const name: WireErrorName = typeof code === 'string' && code in WireError ? (code as WireErrorName) : 'ERR_RMMAP_IO';
      if (name === 'ERR_RMMAP_IO') this.#server.logLimited(this, 'request-failed', `${this.remote}: request ${f.requestId} failed: ${(e as Error).message}`);
      this.#error(f.requestId, name, (e as Error).message);
    }
  }

  #handshake(f: RawFrame): void {
    // §3: "The first frame on a connection MUST be HELLO."
    if (f.type !== FrameType.HELLO) {
      this.fatal(f.requestId, 'ERR_RMMAP_HANDSHAKE', `expected HELLO as the first frame, got type 0x${f.type.toString(16)} (PROTOCOL.md §3)`);
      return;
    }
    let hello: msg.Hello;
    try {
      hello = msg.decodeHello(f.payload);
    } catch (e) {
      this.fatal(f.requestId, 'ERR_RMMAP_HANDSHAKE', (e as Error).message);
      return;
    }
    if (hello.version !== PROTOCOL_VERSION) {
      this.fatal(f.requestId, 'ERR_RMMAP_VERSION', `protocol version ${hello.version} is not supported; this server speaks ${PROTOCOL_VERSION}`);
      return;
    }
    if (!tokenMatches(this.#server.options.token, hello.token)) {
      this.fatal(f.requestId, 'ERR_RMMAP_AUTH', 'wrong or missing token; pass the token from the server\'s --token-file');
      return;
    }
    clearTimeout(this.#handshakeTimer);
    const { session, resumed } = this.#server.attachSession(this, hello.session.toString('hex'));
    this.session = session;
    this.#context = {
      server: this.#server,
      conn: this,
      session,
      sections: this.#sections,
      section: (id) => this.#section(id),
      send: (frame) => this.send(frame),
      sendData: (requestId, s, start, end) => this.#sendData(requestId, s, start, end),
    };
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
}

/** Replies at least this large are written from the mapping directly (see #sendData). */
const DIRECT_MIN = 64 * 1024;

/** write(2) on a non-blocking socket: bytes taken, 0 on EAGAIN or error (the socket reports errors itself). */
function writeSome(fd: number, addr: number, len: number): number {
  try {
    return sys.writeAt(fd, addr, len) ?? 0;
  } catch {
    return 0;
  }
}
