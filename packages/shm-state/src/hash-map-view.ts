/**
 * A zero-copy read of one HashMap value (see `HashMap.getView`): `value` is
 * a view of the slot's bytes in shared memory, valid until the next write of
 * that key; `isCurrent()` tells whether such a write has begun.
 */
export class HashMapView {
  readonly #slots: Int32Array;
  readonly #versionWord: number;
  readonly #version: number;
  readonly #checkOpen: () => void;

  /** @internal Made by HashMap.getView. */
  constructor(
    /** The value's bytes where they lie in shared memory. */
    readonly value: Buffer,
    slots: Int32Array,
    versionWord: number,
    version: number,
    checkOpen: () => void,
  ) {
    this.#slots = slots;
    this.#versionWord = versionWord;
    this.#version = version;
    this.#checkOpen = checkOpen;
  }

  /**
   * True while no write of the key (by any process) has begun since the
   * view was taken: check it after reading `value` to know the read was
   * consistent. Throws ERR_SHM_CLOSED once the map or its mapping is closed.
   */
  isCurrent(): boolean {
    this.#checkOpen();
    return Atomics.load(this.#slots, this.#versionWord) === this.#version;
  }
}
