import { FrameType } from '../../constants';
import * as msg from '../../messages';
import type { RequestHandler } from './context';

/** UNMAP: releases the section (the file is persisted with its last section). */
export const handleUnmap: RequestHandler = (ctx, f) => {
  const s = ctx.section(msg.decodeMapIdBody(f.payload, 'UNMAP', false));
  ctx.sections.delete(s.id);
  ctx.server.mappingReleased(ctx.conn);
  ctx.server.files.unmapSection(s);
  ctx.send(msg.encodeEmpty(FrameType.OK, f.requestId));
};
