import { FrameType } from '../constants';
import * as msg from '../messages';
import type { MappingState } from './mapping-state';
import { requestMap } from './request-map';

/**
 * Growing a mapping when a read or write goes past it: a longer section
 * (same start) is mapped and the old wire id retired. One growth at a time.
 */
export class Growth {
  readonly #state: MappingState;
  #extending: Promise<void> | undefined;
  /** True after an extension already found the end of the file (avoids a MAP per past-EOF read). */
  #knownFullFile = false;

  constructor(state: MappingState) {
    this.#state = state;
  }

  /** Makes the mapping reach `need` bytes, or the end of the file if that comes first. */
  async ensureLength(need: number): Promise<void> {
    while (this.#extending !== undefined) await this.#extending;
    if (need <= this.#state.length) return;
    if (this.#knownFullFile) return;
    this.#extending = this.#extend(need);
    try {
      await this.#extending;
    } finally {
      this.#extending = undefined;
    }
  }

  async #extend(need: number): Promise<void> {
    const state = this.#state;
    const P = state.cache.pageSize;
    const want = Math.ceil(need / P) * P;
    const old = state.wireId;
    const mapped = await requestMap(state.conn, state.path, state.offset, want, state.writable, false, (m) => state.adopt(m));
    this.#knownFullFile = mapped.length < want;
    if (old !== mapped.mapId) {
      // Frames already sent on the old id stay valid: the server handles them before this UNMAP.
      state.conn.request((id) => msg.encodeMapIdBody(FrameType.UNMAP, id, old), { onLost: () => true }).then(
        () => state.retire(old),
        () => state.retire(old),
      );
    }
  }
}
