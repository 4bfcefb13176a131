// The sending half of a push, run in a worker thread: one poll(2) loop drives
// non-blocking sendfile(2) from the file to every receiver's socket, so the
// kernel copies page cache → socket and the main event loop stays free.
import { parentPort } from 'node:worker_threads';

import * as sys from '@shmkit/shm-fd/sys';

const C = sys.constants;

export interface SendJob {
  op: 'send';
  fileFd: number;
  size: number;
  /** BigInt64Array over it: bytes sent per slot, written with Atomics.store. */
  progress: SharedArrayBuffer;
  /** Largest count per sendfile call. */
  chunk: number;
  /** A slot that accepts no byte for this long fails with ERR_RMMAP_PUSH_TIMEOUT. */
  idleTimeoutMs: number;
}

/** main → worker */
export type SendCommand = { type: 'add'; slot: number; fd: number } | { type: 'abort'; slot: number } | { type: 'close' };
/** worker → main */
export type SendEvent =
  | { type: 'sent'; slot: number }
  | { type: 'failed'; slot: number; code: string; message: string }
  /** Answer to 'close': every slot fd is closed; slot is -1. */
  | { type: 'closed'; slot: number };

interface Slot {
  /** A dup of the socket owned by this loop; closed when the slot ends. */
  fd: number;
  offset: number;
  lastProgressAt: number;
}

export function runSender(job: SendJob): void {
  const port = parentPort;
  if (port === null) throw new Error('runSender must run in a worker thread');
  const progress = new BigInt64Array(job.progress);
  const slots = new Map<number, Slot>();
  let running = false;

  const finish = (slot: number, event: SendEvent) => {
    const s = slots.get(slot);
    if (s === undefined) return;
    slots.delete(slot);
    sys.close(s.fd);
    port.postMessage(event);
  };

  const round = () => {
    const entries = [...slots].map(([slot, s]) => ({ slot, s, fd: s.fd, events: C.POLLOUT }));
    // Short timeout: messages (add/abort) are only delivered between rounds.
    const revents = sys.poll(entries, 50);
    const now = Date.now();
    entries.forEach((e, i) => {
      const { slot, s } = e;
      if ((revents[i] ?? 0) === 0) {
        if (now - s.lastProgressAt > job.idleTimeoutMs) {
          finish(slot, { type: 'failed', slot, code: 'ERR_RMMAP_PUSH_TIMEOUT', message: `the receiver accepted no data for ${job.idleTimeoutMs} ms` });
        }
        return;
      }
      let n: number | null;
      try {
        n = sys.sendfile(s.fd, job.fileFd, s.offset, Math.min(job.chunk, job.size - s.offset));
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'EIO';
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
      // Read by the main thread for progress reports; a lone 64-bit word, no ordering needed beyond Atomics' own.
      Atomics.store(progress, slot, BigInt(s.offset));
      if (s.offset === job.size) finish(slot, { type: 'sent', slot });
    });
  };

  const loop = () => {
    if (slots.size === 0) {
      running = false;
      return;
    }
    round();
    // Yield so 'add' and 'abort' messages get delivered, then continue.
    setImmediate(loop);
  };

  port.on('message', (cmd: SendCommand) => {
    if (cmd.type === 'add') {
      if (job.size === 0) {
        sys.close(cmd.fd);
        port.postMessage({ type: 'sent', slot: cmd.slot } satisfies SendEvent);
        return;
      }
      slots.set(cmd.slot, { fd: cmd.fd, offset: 0, lastProgressAt: Date.now() });
      if (!running) {
        running = true;
        setImmediate(loop);
      }
    } else if (cmd.type === 'close') {
      for (const s of slots.values()) sys.close(s.fd);
      slots.clear();
      port.postMessage({ type: 'closed', slot: -1 } satisfies SendEvent);
    } else {
      const s = slots.get(cmd.slot);
      if (s !== undefined) {
        slots.delete(cmd.slot);
        sys.close(s.fd);
      }
    }
  });
}

function describeSendError(code: string, offset: number, size: number): string {
  const where = `after ${offset} of ${size} bytes`;
  if (code === 'EPIPE' || code === 'ECONNRESET') return `the receiver closed the connection ${where} (${code}); it may have crashed or been killed`;
  return `sendfile failed ${where} (${code})`;
}
