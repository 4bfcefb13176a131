import { FrameType } from '../../constants';
import * as msg from '../../messages';
import type { RequestHandler } from './context';

/** SYNC: msync the section (0: every section of the connection), then fsync their files. */
export const handleSync: RequestHandler = (ctx, f) => {
  const which = msg.decodeMapIdBody(f.payload, 'SYNC', true);
  const sections = which === 0 ? [...ctx.sections.values()] : [ctx.section(which)];
  const files = new Set(sections.map((s) => s.file));
  for (const s of sections) if (s.writable) s.mapping.sync();
  for (const file of files) if (file.writable) file.fsync();
  ctx.send(msg.encodeEmpty(FrameType.OK, f.requestId));
};
