import { RmmapError } from '../../errors';
import * as msg from '../../messages';
import type { RequestHandler } from './context';

/** READ: a snapshot of bytes of a section, at most one frame. */
export const handleRead: RequestHandler = (ctx, f) => {
  const r = msg.decodeRead(f.payload);
  const s = ctx.section(r.mapId);
  if (r.end > s.length) throw new RmmapError('ERR_RMMAP_RANGE', `READ [${r.start}, ${r.end}) exceeds mapping ${s.id} of ${s.length} bytes`);
  const maxFrame = ctx.server.options.maxFrame;
  if (r.end - r.start > maxFrame) {
    throw new RmmapError('ERR_RMMAP_RANGE', `READ of ${r.end - r.start} bytes exceeds the max frame size ${maxFrame}; split it`);
  }
  ctx.sendData(f.requestId, s, r.start, r.end);
};
