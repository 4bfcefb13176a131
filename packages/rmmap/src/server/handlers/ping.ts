import { FrameType } from '../../constants';
import * as msg from '../../messages';
import type { RequestHandler } from './context';

/** PING: PONG with the same payload. */
export const handlePing: RequestHandler = (ctx, f) => {
  ctx.send(msg.encodeBytes(FrameType.PONG, f.requestId, f.payload));
};
