import net from 'node:net';

import * as sys from '@shmkit/shm-fd/sys';

import { PushError } from './errors';
import { ReplyParser, type Reply } from './wire';

export type ConnEvent = { kind: 'reply'; reply: Reply } | { kind: 'error'; error: PushError | NodeJS.ErrnoException };

/**
 * The sender's side of one receiver connection: replies and socket failures
 * arrive as a queue, consumed one at a time with next().
 */
export class ReceiverConnection {
  readonly socket: net.Socket;
  readonly label: string;
  #queue: ConnEvent[] = [];
  #waiter: ((e: ConnEvent) => void) | undefined;
  #parser = new ReplyParser();
  #ended = false;

  /** Resolves once the socket's fd is released. */
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket, label: string) {
    this.socket = socket;
    this.label = label;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      let replies: Reply[];
      try {
        replies = this.#parser.push(chunk);
      } catch (err) {
        this.#emit({ kind: 'error', error: err as PushError });
        socket.destroy();
        return;
      }
      for (const reply of replies) this.#emit({ kind: 'reply', reply });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => this.#emit({ kind: 'error', error }));
    socket.on('close', () =>
      this.#emit({ kind: 'error', error: new PushError('ERR_RMMAP_PUSH_PEER_CLOSED', `${label} closed the connection without a final reply; the receiver may have crashed or been killed`) }),
    );
  }

  static connect(host: string, port: number, label: string, timeoutMs: number): Promise<ReceiverConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new PushError('ERR_RMMAP_PUSH_TIMEOUT', `could not connect to ${label} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
        resolve(new ReceiverConnection(socket, label));
      });
    });
  }

  #emit(e: ConnEvent): void {
    // After the first error nothing else matters (and 'close' follows 'error').
    if (this.#ended) return;
    if (e.kind === 'error') this.#ended = true;
    const w = this.#waiter;
    if (w !== undefined) {
      this.#waiter = undefined;
      w(e);
    } else {
      this.#queue.push(e);
    }
  }

  /** The next reply or failure; a timeout is reported as ERR_RMMAP_PUSH_TIMEOUT. */
  next(timeoutMs?: number, what = 'reply'): Promise<ConnEvent> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.#waiter = undefined;
              resolve({ kind: 'error', error: new PushError('ERR_RMMAP_PUSH_TIMEOUT', `${this.label} did not ${what} within ${timeoutMs} ms`) });
            }, timeoutMs);
      this.#waiter = (e) => {
        clearTimeout(timer);
        resolve(e);
      };
    });
  }

  /** Writes and resolves once the bytes are handed to the kernel. */
  write(data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /** The socket's file descriptor, for sendfile. */
  fd(): number {
    try {
      return sys.socketFd(this.socket);
    } catch (err) {
      throw new PushError('ERR_RMMAP_PUSH_PEER_CLOSED', `${this.label}: the socket has no file descriptor (already closed)`, { cause: err });
    }
  }

  /** Destroys the socket; a waiting next() gets ERR_RMMAP_PUSH_ABORTED when a reason is given. */
  close(reason?: string): void {
    if (reason !== undefined) this.#emit({ kind: 'error', error: new PushError('ERR_RMMAP_PUSH_ABORTED', `${this.label}: ${reason}`) });
    this.#ended = true;
    this.socket.destroy();
  }
}
