/**
 * Calls `release` once `touch()` has not been called for a while (between
 * `ms` and twice that), unless `busy()` says the resource is in use.
 *
 * A touch only sets a flag: refreshing a timer on every use would read the
 * clock and re-insert the timer, which an async wait loop pays per message.
 * The timer is unref'd, so a lingering resource never keeps the process alive.
 */
export class Linger {
  #timer: NodeJS.Timeout | undefined;
  #touched = false;

  constructor(
    readonly ms: number,
    readonly release: () => void,
    readonly busy: () => boolean = () => false,
  ) {}

  touch(): void {
    if (this.#timer !== undefined) {
      this.#touched = true;
      return;
    }
    this.#timer = setTimeout(this.#check, this.ms);
    this.#timer.unref();
  }

  /** Forgets the pending release (the caller released the resource itself). */
  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#touched = false;
  }

  readonly #check = (): void => {
    if (this.#touched || this.busy()) {
      this.#touched = false;
      this.#timer?.refresh();
      return;
    }
    this.#timer = undefined;
    this.release();
  };
}
