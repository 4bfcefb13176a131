import { FrameType } from '../constants';
import * as msg from '../messages';
import type { ClientConnection } from './connection';
import { expectReply } from './replies';

/**
 * Sends MAP and resolves with the reply. `onMapped` runs as the MAPPED
 * arrives, in step with the frames: a NOTIFY for the new id may follow in
 * the same read and must find the mapping bound to it.
 */
export async function requestMap(
  conn: ClientConnection,
  path: string,
  offset: number,
  length: number,
  writable: boolean,
  control = false,
  onMapped?: (m: msg.Mapped) => void,
): Promise<msg.Mapped> {
  let mapped: msg.Mapped | undefined;
  await conn.request((id) => msg.encodeMap(id, { path, offset, length, writable }), {
    control,
    settle: (reply) => {
      if (reply === undefined) return;
      mapped = msg.decodeMapped(expectReply(reply, FrameType.MAPPED, 'MAP'));
      onMapped?.(mapped);
    },
  });
  return mapped as msg.Mapped;
}
