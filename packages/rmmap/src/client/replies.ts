import { FrameType } from '../constants';
import { RmmapProtocolError } from '../errors';
import * as msg from '../messages';
import type { RawFrame } from '../parser';

/** The payload of `f` if it is a reply of `type`, else a protocol error naming the request. */
export function expectReply(f: RawFrame, type: number, what: string): Buffer {
  if (f.type !== type) throw new RmmapProtocolError('ERR_RMMAP_BAD_FRAME', `unexpected reply type 0x${f.type.toString(16)} to ${what}`);
  return f.payload;
}

/** The DATA answering a READ of `length` bytes; a reply of another length is a protocol error. */
export function decodeReadReply(f: RawFrame, length: number): { version: number; data: Buffer } {
  const reply = msg.decodeData(expectReply(f, FrameType.DATA, 'READ'));
  if (reply.data.length !== length) throw new RmmapProtocolError('ERR_RMMAP_BAD_FRAME', `DATA carried ${reply.data.length} bytes for a READ of ${length}`);
  return reply;
}
