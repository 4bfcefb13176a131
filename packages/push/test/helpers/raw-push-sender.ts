// A hand-driven push sender speaking the wire format (src/wire.ts), for
// tests that play a lying or stalling peer against a PushReceiver.
import net from 'node:net';

import { ReplyParser, type Reply } from '../../src/wire';

export interface RawSender {
  socket: net.Socket;
  /** The next reply the receiver sends. */
  reply: () => Promise<Reply>;
  /** Resolves once the receiver closed its side. */
  ended: Promise<void>;
}

export async function rawPushSender(port: number): Promise<RawSender> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise((resolve) => socket.once('connect', resolve));
  const parser = new ReplyParser();
  const replies: Reply[] = [];
  const waiters: ((r: Reply) => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    for (const rep of parser.push(chunk)) {
      const w = waiters.shift();
      if (w) w(rep);
      else replies.push(rep);
    }
  });
  socket.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => {
    socket.once('end', resolve);
    socket.once('close', resolve);
  });
  const reply = () => {
    const q = replies.shift();
    return q ? Promise.resolve(q) : new Promise<Reply>((resolve) => waiters.push(resolve));
  };
  return { socket, reply, ended };
}

/** Polls `check` every 20 ms until it returns true; fails after `timeoutMs` (a hang guard). */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
