import { RmmapError, RmmapRemoteError } from '../errors';
import type * as msg from '../messages';
import type { MappingState } from './mapping-state';
import { requestMap } from './request-map';

/** What a re-map after a reconnect tells the mapping. */
export interface RemapOutcome {
  /** The MAPPED arrived; false when the cache had to be dropped. */
  mapped(cacheKept: boolean): void;
  /** The server refused to map the file again. */
  lost(err: RmmapError): void;
}

/**
 * Maps the section again on a new connection (as a control request, ahead
 * of the queued ones). The cache is kept only if no write happened while
 * the client was away: same server epoch and the same file version.
 */
export async function remap(state: MappingState, epochChanged: boolean, outcome: RemapOutcome): Promise<void> {
  try {
    await requestMap(state.conn, state.path, state.offset, state.length, state.writable, true, (m) => remapped(state, m, epochChanged, outcome));
  } catch (e) {
    if (e instanceof RmmapRemoteError) {
      outcome.lost(new RmmapError('ERR_RMMAP_LOST', `after reconnecting, the server refused to map ${state.path} again: ${e.message}`, { cause: e }));
      return;
    }
    throw e;
  }
}

/** The MAPPED of a re-map, handled as it arrives (before any NOTIFY behind it). */
function remapped(state: MappingState, mapped: msg.Mapped, epochChanged: boolean, outcome: RemapOutcome): void {
  state.unbindAll();
  const before = state.version;
  state.adopt(mapped);
  const cacheKept = !epochChanged && mapped.version === before;
  if (!cacheKept) {
    state.cache.clear();
    state.version = mapped.version;
  }
  outcome.mapped(cacheKept);
}
