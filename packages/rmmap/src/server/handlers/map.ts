import * as msg from '../../messages';
import type { RequestHandler } from './context';

/** MAP: a section of a file under the root, within the mapping budgets. */
export const handleMap: RequestHandler = (ctx, f) => {
  const m = msg.decodeMap(f.payload);
  ctx.server.checkMappingBudget(ctx.conn);
  const s = ctx.server.files.mapSection(ctx.conn, m.path, m.offset, m.length, m.writable);
  ctx.sections.set(s.id, s);
  ctx.server.mappingTaken(ctx.conn);
  ctx.send(msg.encodeMapped(f.requestId, { mapId: s.id, offset: s.offset, length: s.length, fileSize: s.file.size, version: s.file.version, writable: s.writable }));
};
