import { FrameType } from '../constants';
import * as msg from '../messages';
import type { MappingState } from './mapping-state';
import { expectReply } from './replies';

/**
 * Sends one WRITE (at most one frame) and resolves with the version it
 * produced. The write is laid over READ snapshots until its reply arrives;
 * a write the server did not apply drops the cached pages it touched.
 */
export function writeFrame(state: MappingState, at: number, piece: Buffer): Promise<number> {
  const w = state.writes.add(at, piece);
  const p = state.conn
    .request((id) => msg.encodeWrite(id, state.wireId, state.conn.lowWater, at, piece), {
      isWrite: true,
      settle: (reply) => {
        // In step with the frames: a DATA behind this WROTE must not lay the write over again.
        state.writes.answered(w);
        // Not applied: cached pages must not keep our bytes.
        if (reply?.type !== FrameType.WROTE) state.cache.invalidate(at, at + piece.length);
      },
    })
    .then(
      (f) => {
        state.writes.finished(w);
        const version = msg.decodeVersion(expectReply(f, FrameType.WROTE, 'WRITE'), 'WROTE');
        state.seeVersion(version);
        return version;
      },
      (err: unknown) => {
        state.writes.finished(w);
        throw err;
      },
    );
  w.done = p;
  return p;
}
