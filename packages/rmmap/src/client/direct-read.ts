import * as msg from '../messages';
import type { BufferPool } from './buffer-pool';
import type { MappingState } from './mapping-state';
import { decodeReadReply } from './replies';

/**
 * One READ of [start, stop) (at most one frame), past the page cache. With
 * a pool the reply is gathered into one of its buffers and returned as a
 * view of it.
 */
export async function readOnce(state: MappingState, start: number, stop: number, pool?: BufferPool): Promise<Buffer> {
  const f = await state.conn.request(
    (id) => msg.encodeRead(id, state.wireId, start, stop),
    pool !== undefined ? { sink: (length) => pool.take(length) } : {},
  );
  const { version, data } = decodeReadReply(f, stop - start);
  state.seeVersion(version);
  // Pooled payloads are views of a pool buffer by design; other small views
  // would pin a whole chunk, so those are copied.
  if (pool !== undefined) return data;
  return data.length * 2 < data.buffer.byteLength ? Buffer.from(data) : data;
}

/** Without a cache: READ exactly the bytes asked for into `out` (split at the frame limit). */
export async function readDirect(state: MappingState, offset: number, end: number, out: Buffer): Promise<void> {
  const chunk = state.maxChunk();
  const parts: Promise<void>[] = [];
  for (let at = offset; at < end; at += chunk) {
    const stop = Math.min(end, at + chunk);
    parts.push(
      state.conn.request((id) => msg.encodeRead(id, state.wireId, at, stop)).then((f) => {
        const { version, data } = decodeReadReply(f, stop - at);
        state.seeVersion(version);
        data.copy(out, at - offset);
        state.writes.overlay(out, offset, end);
      }),
    );
  }
  await Promise.all(parts);
}

/** [start, stop) past the page cache: one READ when it fits a frame, else several. */
export function readRange(state: MappingState, start: number, stop: number, pool?: BufferPool): Promise<Buffer> {
  if (stop - start <= state.maxChunk()) return readOnce(state, start, stop, pool);
  const out = Buffer.allocUnsafe(stop - start);
  return readDirect(state, start, stop, out).then(() => out);
}
