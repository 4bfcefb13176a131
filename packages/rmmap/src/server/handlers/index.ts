import { FrameType } from '../../constants';
import { RmmapError } from '../../errors';
import type { RawFrame } from '../../parser';
import type { RequestContext, RequestHandler } from './context';
import { handleRepeatedHello } from './hello';
import { handleMap } from './map';
import { handlePing } from './ping';
import { handleRead } from './read';
import { handleSync } from './sync';
import { handleUnmap } from './unmap';
import { handleWrite } from './write';

export { type RequestContext, type RequestHandler } from './context';

/** Request frame type → its handler, for a connection past the handshake. */
const handlers: ReadonlyMap<number, RequestHandler> = new Map([
  [FrameType.MAP, handleMap],
  [FrameType.READ, handleRead],
  [FrameType.WRITE, handleWrite],
  [FrameType.UNMAP, handleUnmap],
  [FrameType.SYNC, handleSync],
  [FrameType.PING, handlePing],
  [FrameType.HELLO, handleRepeatedHello],
]);

/** Serves one request with the handler of its type. */
export function handleRequest(ctx: RequestContext, f: RawFrame): void {
  const handler = handlers.get(f.type);
  // §4: "A receiver answers an unknown type with ERR_RMMAP_UNKNOWN_TYPE and keeps the connection."
  if (handler === undefined) throw new RmmapError('ERR_RMMAP_UNKNOWN_TYPE', `unknown request type 0x${f.type.toString(16)} (PROTOCOL.md §4)`);
  handler(ctx, f);
}
