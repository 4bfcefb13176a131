import net from 'node:net';

import { FrameParser, type RawFrame } from '../../src/parser';

/** A protocol client without the library: frames in, parsed frames out, for hostile-input and budget checks. */
export interface RawClient {
  socket: net.Socket;
  send: (b: Buffer) => void;
  /** The next frame received (queued ones first). */
  next: () => Promise<RawFrame>;
  /** Frames received and not yet taken by next(). */
  queued: RawFrame[];
  closed: Promise<void>;
}

/** Connects to rmmapd on 127.0.0.1:`port`; sends nothing (no HELLO). */
export async function connectRaw(port: number): Promise<RawClient> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const queued: RawFrame[] = [];
  const waiters: ((f: RawFrame) => void)[] = [];
  const parser = new FrameParser({
    maxFrame: 1 << 24,
    onFrame: (f) => {
      const copy = { ...f, payload: Buffer.from(f.payload) };
      const w = waiters.shift();
      if (w) w(copy);
      else queued.push(copy);
    },
    onError: () => {},
  });
  socket.on('data', (c: Buffer) => parser.push(c));
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  return {
    socket,
    queued,
    send: (b) => socket.write(b),
    next: () => {
      const f = queued.shift();
      return f ? Promise.resolve(f) : new Promise((r) => waiters.push(r));
    },
    closed,
  };
}
