import { FrameType } from '../../constants';
import { RmmapError } from '../../errors';
import * as msg from '../../messages';
import { pruneApplied, recordApplied } from '../applied';
import type { RequestHandler } from './context';

/** WRITE: journaled, applied in one copy, acknowledged, then NOTIFYs to overlapping sections. */
export const handleWrite: RequestHandler = (ctx, f) => {
  const id = f.requestId;
  const w = msg.decodeWrite(f.payload);
  const session = ctx.session;
  pruneApplied(session.applied, w.lowWater);
  const done = session.applied.get(id);
  if (done !== undefined) {
    // §6: a retried write that was already applied is acknowledged, not applied again.
    ctx.send(msg.encodeVersion(FrameType.WROTE, id, done));
    return;
  }
  const s = ctx.section(w.mapId);
  if (!s.writable) throw new RmmapError('ERR_RMMAP_READ_ONLY', `mapping ${s.id} was mapped read-only`);
  if (w.start + w.data.length > s.length) {
    throw new RmmapError('ERR_RMMAP_RANGE', `WRITE [${w.start}, ${w.start + w.data.length}) exceeds mapping ${s.id} of ${s.length} bytes`);
  }
  // Journal first (a copy into its mapping, no fsync): after a kill -9 the next
  // rmmapd knows this request id was applied (§6). Every check that
  // could refuse the write is above, so what is journaled gets applied.
  ctx.server.journalWrite(session, id, w.lowWater, s, w.start, w.data);
  // One copy on the single server thread: no reader sees half of it.
  s.mapping.buffer.set(w.data, w.start);
  ctx.server.bytesWritten += w.data.length;
  const version = ++s.file.version;
  recordApplied(session.applied, id, version);
  ctx.send(msg.encodeVersion(FrameType.WROTE, id, version));
  if (w.data.length > 0) ctx.server.notifyOverlapping(s, s.offset + w.start, s.offset + w.start + w.data.length);
};
