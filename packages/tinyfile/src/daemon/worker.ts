// A compression worker thread of tinyd. It maps each client's channel itself
// (fds are process-wide; a second mapping of the same memfd gives this
// isolate its own backing store) and serves the slots it is handed.
import { parentPort, workerData } from 'node:worker_threads';

import * as sys from '@shmkit/shm-fd/sys';

import { codecByName } from '../codec/codec';
import { SlotHeader } from '../protocol/slot-header';
import { scratchFor, serveSlot } from './serve';
import type { TaskMessage, ToWorker, WorkerDone } from './worker-messages';

const { codec: codecName, slotSize } = workerData as { codec: string; slotSize: number };
const codec = codecByName(codecName);
const scratch = scratchFor(slotSize);
const channels = new Map<number, { mapping: sys.Mapping; words: Int32Array; headers: SlotHeader[] }>();

function channelOf(t: TaskMessage) {
  let c = channels.get(t.clientId);
  if (c === undefined) {
    const mapping = sys.map(t.fd, { length: t.length });
    c = { mapping, words: mapping.int32(0, mapping.length >>> 2), headers: [] };
    channels.set(t.clientId, c);
  }
  return c;
}

parentPort!.on('message', (m: ToWorker) => {
  if (m.type === 'release') {
    channels.get(m.clientId)?.mapping.close();
    channels.delete(m.clientId);
    return;
  }
  if (m.type === 'exit') {
    for (const c of channels.values()) c.mapping.close();
    channels.clear();
    scratch.close();
    codec.close?.();
    parentPort!.close();
    return;
  }
  let reply: WorkerDone;
  try {
    const c = channelOf(m);
    const header = (c.headers[m.slot] ??= new SlotHeader(c.words, m.slot));
    const r = serveSlot(c.mapping.buffer, header, m.slot, slotSize, codec, scratch, m.req);
    reply = { type: 'done', clientId: m.clientId, slot: m.slot, ok: r.ok, outLen: r.outLen };
  } catch (err) {
    // Only mapping failures land here; serveSlot reports request errors in the slot.
    reply = { type: 'done', clientId: m.clientId, slot: m.slot, ok: false, outLen: 0, error: (err as Error).message };
  }
  parentPort!.postMessage(reply);
});
