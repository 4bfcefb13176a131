// The sending half of a push, run in a worker thread: one poll(2) loop drives
// non-blocking sendfile(2) from the file to every receiver's socket, so the
// kernel copies page cache → socket and the main event loop stays free.
// While every socket is full the loop hashes the file instead of sleeping,
// so on a real network the checksum is ready about when the data is sent.
import { parentPort } from 'node:worker_threads';

import * as sys from '@shmkit/shm-fd/sys';

import { FileHasher } from './hash';
import type { SendJob } from './jobs';
import { codeOf, type PushCode } from './codes';

const C = sys.constants;
/** Hashing between polls is bounded so a socket that drains waits little. */
const HASH_STEP = 1024 * 1024;
/** Slot numbers of events that belong to no receiver. */
export const CLOSED_SLOT = -1;
export const DIGEST_SLOT = -2;

/** main → worker */
export type SendCommand = { type: 'add'; slot: number; fd: number } | { type: 'abort'; slot: number } | { type: 'close' };
/** worker → main */
export type SendEvent =
  | { type: 'sent'; slot: number }
  | { type: 'failed'; slot: number; code: PushCode; message: string }
  /** Answer to 'close': every slot fd is closed. slot is CLOSED_SLOT. */
  | { type: 'closed'; slot: number }
  /** The file's checksum (hex), null when the file ended early. slot is DIGEST_SLOT. */
  | { type: 'digest'; slot: number; digest: string | null };

interface Slot {
  /** A dup of the socket owned by this loop; closed when the slot ends. */
  fd: number;
  offset: number;
  lastProgressAt: number;
}

/**
 * Serves one push. `onEnd` runs once the owner's 'close' was answered: the
 * job holds no fd any more, takes no message, and the thread may take the
 * next push (threads are reused, see sender-threads.ts).
 */
export function runSender(job: SendJob, onEnd: () => void = () => undefined): void {
  const port = parentPort;
  if (port === null) throw new Error('runSender must run in a worker thread');
  const progress = new BigInt64Array(job.progress);
  const slots = new Map<number, Slot>();
  let running = false;
  let ended = false;
  let hasher = job.checksum === undefined ? undefined : new FileHasher(job.fileFd, job.checksum);

  const post = (e: SendEvent) => port.postMessage(e);

  const finish = (slot: number, event: SendEvent) => {
    const s = slots.get(slot);
    if (s === undefined) return;
    slots.delete(slot);
    sys.close(s.fd);
    post(event);
  };

  /** The furthest offset any slot reached. */
  let sentMax = 0;

  /** One bounded step of hashing; false when there is nothing left to hash. */
  const hashStep = (limit = HASH_STEP): boolean => {
    if (hasher === undefined) return false;
    const complete = hasher.advance(job.size, limit);
    if (!complete || hasher.hashed >= job.size) {
      post({ type: 'digest', slot: DIGEST_SLOT, digest: complete ? hasher.digest().toString('hex') : null });
      hasher = undefined;
    }
    return true;
  };

  /** Polls every slot once and feeds the writable ones; returns how many were ready. */
  const round = (timeoutMs: number): number => {
    const entries = [...slots].map(([slot, s]) => ({ slot, s, fd: s.fd, events: C.POLLOUT }));
    const revents = sys.poll(entries, timeoutMs);
    const now = Date.now();
    let ready = 0;
    entries.forEach((e, i) => {
      const { slot, s } = e;
      if ((revents[i] ?? 0) === 0) {
        if (now - s.lastProgressAt > job.idleTimeoutMs) {
          finish(slot, { type: 'failed', slot, code: 'ERR_RMMAP_PUSH_TIMEOUT', message: `the receiver accepted no data for ${job.idleTimeoutMs} ms` });
        }
        return;
      }
      ready++;
      let n: number | null;
      try {
        n = sys.sendfile(s.fd, job.fileFd, s.offset, Math.min(job.chunk, job.size - s.offset));
      } catch (err) {
        const code = codeOf(err, 'EIO');
        finish(slot, { type: 'failed', slot, code, message: describeSendError(code, s.offset, job.size) });
        return;
      }
      if (n === null) return; // EAGAIN: the socket buffer filled up between poll and sendfile
      if (n === 0) {
        finish(slot, { type: 'failed', slot, code: 'ERR_RMMAP_PUSH_FILE_CHANGED', message: `the file ended after ${s.offset} of ${job.size} bytes: it was truncated while being pushed` });
        return;
      }
      s.offset += n;
      s.lastProgressAt = now;
      sentMax = Math.max(sentMax, s.offset);
      // Read by the main thread for progress reports: a lone counter, no
      // ordering with other memory is needed.
      Atomics.store(progress, slot, BigInt(s.offset));
      if (s.offset === job.size) finish(slot, { type: 'sent', slot });
    });
    return ready;
  };

  const loop = () => {
    if (ended) return;
    if (slots.size === 0) {
      // No receiver ready yet (or all done): hash ahead, or stop until 'add'.
      if (hashStep()) setImmediate(loop);
      else running = false;
      return;
    }
    // While hashing remains, never sleep in poll: hash when nothing is
    // writable, and otherwise keep up with the leading receiver, so the
    // digest is ready about when the last byte is sent, not after it.
    const hashing = hasher !== undefined;
    const ready = round(hashing ? 0 : 50);
    if (hashing && ready === 0) hashStep();
    else if (hasher !== undefined && hasher.hashed < sentMax) hashStep(sentMax - hasher.hashed);
    // Yield so 'add' and 'abort' messages get delivered, then continue.
    setImmediate(loop);
  };

  const kick = () => {
    if (!running) {
      running = true;
      setImmediate(loop);
    }
  };

  const onMessage = (cmd: SendCommand) => {
    if (cmd.type === 'add') {
      if (job.size === 0) {
        sys.close(cmd.fd);
        post({ type: 'sent', slot: cmd.slot });
        return;
      }
      slots.set(cmd.slot, { fd: cmd.fd, offset: 0, lastProgressAt: Date.now() });
      kick();
    } else if (cmd.type === 'close') {
      for (const s of slots.values()) sys.close(s.fd);
      slots.clear();
      // Nothing of this push may run after 'closed': the owner closes the
      // file, and the thread may already serve the next push.
      ended = true;
      hasher = undefined;
      port.off('message', onMessage);
      post({ type: 'closed', slot: CLOSED_SLOT });
      onEnd();
    } else {
      const s = slots.get(cmd.slot);
      if (s !== undefined) {
        slots.delete(cmd.slot);
        sys.close(s.fd);
      }
    }
  };
  port.on('message', onMessage);
  kick();
}

function describeSendError(code: string, offset: number, size: number): string {
  const where = `after ${offset} of ${size} bytes`;
  if (code === 'EPIPE' || code === 'ECONNRESET') return `the receiver closed the connection ${where} (${code}); it may have crashed or been killed`;
  return `sendfile failed ${where} (${code})`;
}
