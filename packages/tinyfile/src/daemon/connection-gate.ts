// Every connection to tinyd's socket passes here first: the connection cap,
// the handshake timer, reading the HELLO, status queries and refusals.
import type net from 'node:net';

import * as sys from '@shmkit/shm-fd/sys';

import { decodeHello, encodeRefusal, HELLO_BYTES, KIND_STATUS, REFUSED_BUSY, REFUSED_PROTOCOL, type Hello } from '../protocol/handshake';
import type { DaemonLog } from './daemon-log';
import type { DaemonStatus } from './status';

export interface GateHooks {
  status(): DaemonStatus;
  /** Whether the daemon is shutting down: registrations are then refused. */
  closing(): boolean;
  /** A registration's HELLO is in; returns what to do when its socket closes. */
  register(socket: net.Socket, hello: Hello, peerPid: number): () => void;
}

export class ConnectionGate {
  /** Open connections: clients, handshakes, registrations waiting for a segment, status answers. */
  readonly connections = new Set<net.Socket>();
  readonly #maxConnections: number;
  readonly #handshakeTimeoutMs: number;
  readonly #log: DaemonLog;
  readonly #hooks: GateHooks;

  constructor(opts: { maxConnections: number; handshakeTimeoutMs: number; log: DaemonLog }, hooks: GateHooks) {
    this.#maxConnections = opts.maxConnections;
    this.#handshakeTimeoutMs = opts.handshakeTimeoutMs;
    this.#log = opts.log;
    this.#hooks = hooks;
  }

  accept(socket: net.Socket): void {
    socket.on('error', () => {
      // 'close' follows; a client vanishing is routine.
    });
    if (this.connections.size >= this.#maxConnections) {
      this.#log.limited('connection-limit', `refused a connection: ${this.connections.size} connections are open (--max-connections ${this.#maxConnections})`, undefined, 'warn');
      refuse(socket, REFUSED_BUSY, `tinyd has ${this.connections.size} connections open, its limit (--max-connections ${this.#maxConnections}); retry later`);
      return;
    }
    this.connections.add(socket);
    // Who connected, as the kernel recorded it: log lines are limited per peer process.
    let peerPid = 0;
    try {
      peerPid = sys.peerCredentials(sys.socketFd(socket)).pid;
    } catch {
      // the peer is already gone; 'close' follows
    }
    let hello: Buffer | undefined = Buffer.alloc(0);
    let onClose: (() => void) | undefined;
    // Until its HELLO is in, a connection holds a timer and at most HELLO_BYTES of state.
    const handshakeTimer = setTimeout(() => {
      this.#log.limited(`pid ${peerPid} handshake`, `closed a connection from pid ${peerPid}: no complete hello within ${this.#handshakeTimeoutMs} ms`, { pid: peerPid }, 'warn');
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
        this.#log.limited(`pid ${peerPid} refused`, `refused a connection from pid ${peerPid}: ${(err as Error).message}`, { pid: peerPid, code: (err as { code?: string }).code }, 'warn');
        refuse(socket, REFUSED_PROTOCOL, (err as Error).message);
        return;
      }
      if (h.kind === KIND_STATUS) {
        // The timer stays: a peer that does not read its status is closed all the same.
        socket.end(JSON.stringify(this.#hooks.status()), () => socket.destroy());
        return;
      }
      if (this.#hooks.closing()) {
        refuse(socket, REFUSED_BUSY, 'tinyd is shutting down');
        return;
      }
      clearTimeout(handshakeTimer);
      onClose = this.#hooks.register(socket, h, peerPid);
    });
    socket.on('close', () => {
      clearTimeout(handshakeTimer);
      this.connections.delete(socket);
      onClose?.();
    });
  }

  /** Closes every connection still open (handshakes and status answers included). */
  destroyAll(): void {
    for (const s of this.connections) s.destroy();
  }
}

/**
 * Answers a refusal and closes once it is written. A peer that never reads
 * it is closed by the handshake timer, so a refused connection keeps no state.
 */
function refuse(socket: net.Socket, code: number, message: string): void {
  socket.end(encodeRefusal(code, message), () => socket.destroy());
}
