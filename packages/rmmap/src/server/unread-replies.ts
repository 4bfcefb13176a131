import { Budget } from './budget';
import type { ServerConnection } from './connection';
import { formatBytes, PUSH_ALLOWANCE } from './limits';

export interface UnreadLimits {
  maxUnreadPerConnection: number;
  maxUnread: number;
  maxFrame: number;
}

export interface UnreadHost {
  /** The connections served now (for re-measuring their queues). */
  connections(): Iterable<ServerConnection>;
  logLimited(conn: ServerConnection, kind: string, line: string): void;
}

/**
 * Backpressure on reply bytes clients have not read: each connection's
 * queue counts against its own budget and, with everyone's, against the
 * total. A connection at its budget is no longer read from; one far past
 * it, or the largest holder when the total is far past, is closed; those
 * that waited for the total get another look once queues drain.
 */
export class UnreadReplies {
  readonly #budget: Budget<ServerConnection>;
  /** Connections that stopped being served because all unread replies together reached the budget. */
  readonly #starved = new Set<ServerConnection>();
  #wakeScheduled = false;

  constructor(
    readonly limits: Readonly<UnreadLimits>,
    readonly host: UnreadHost,
  ) {
    this.#budget = new Budget('unread reply bytes', { perHolder: limits.maxUnreadPerConnection, total: limits.maxUnread });
  }

  /** Reply bytes queued for all connections and not yet taken by their sockets, as last measured. */
  get total(): number {
    return this.#budget.total;
  }

  /** `conn` is gone or ending: its replies no longer count against others. */
  forget(conn: ServerConnection): void {
    this.#budget.forget(conn);
    this.#starved.delete(conn);
    this.#wakeStarved();
  }

  /**
   * Whether `conn`'s next request may be served now: its own unread replies
   * are under its budget, and everyone's are under the total.
   */
  mayServe(conn: ServerConnection): boolean {
    const own = conn.unread;
    this.#budget.set(conn, own);
    if (own >= this.limits.maxUnreadPerConnection) return false;
    if (this.#budget.total < this.limits.maxUnread) return true;
    this.#remeasure();
    if (this.#budget.total < this.limits.maxUnread) return true;
    this.#starved.add(conn);
    this.#evictHog(conn);
    return false;
  }

  /**
   * After a reply was queued for `conn`: stop reading from it at its budget;
   * close it when it is past the budget by more than one max frame plus
   * pushes (NOTIFY) it does not read, or when it holds the most of a total
   * that is exceeded by as much.
   */
  grew(conn: ServerConnection): void {
    const own = conn.unread;
    this.#budget.set(conn, own);
    const { maxUnreadPerConnection, maxUnread } = this.limits;
    const slack = this.limits.maxFrame + PUSH_ALLOWANCE;
    if (own > maxUnreadPerConnection + slack) {
      this.#overBudget(conn, `unread replies: ${own} bytes queued for this connection, past its budget (--max-unread ${formatBytes(maxUnreadPerConnection)}); read replies as they come`);
      return;
    }
    if (own >= maxUnreadPerConnection) {
      this.host.logLimited(conn, 'unread budget', `${conn.remote}: stopped reading: ${own} bytes of replies unread (--max-unread ${formatBytes(maxUnreadPerConnection)})`);
      conn.pause();
    }
    if (this.#budget.total > maxUnread + slack) {
      this.#remeasure();
      if (this.#budget.total > maxUnread + slack) this.#evictHog(undefined);
    }
  }

  /** Everything queued for `conn` was taken by its socket. */
  drained(conn: ServerConnection): void {
    this.#budget.set(conn, conn.unread);
    conn.resume();
    this.#wakeStarved();
  }

  /** Replaces the running totals (which only grow between drains) by each socket's queue now. */
  #remeasure(): void {
    for (const c of this.host.connections()) if (!c.closed) this.#budget.set(c, c.unread);
  }

  /**
   * The total is reached and `waiting` (if any) cannot be served: the
   * connection holding the most unread replies is closed to make room.
   * It holds at least the average share, and waiting for it to read could
   * take forever: a set of clients that each stay under their own budget
   * but never read would otherwise starve everyone else.
   */
  #evictHog(waiting: ServerConnection | undefined): void {
    const hog = this.#budget.largest();
    if (hog === undefined || hog.holder === waiting || hog.held === 0) return;
    this.#overBudget(
      hog.holder,
      `unread replies: all connections together reached the server's budget (--max-unread-total ${formatBytes(this.limits.maxUnread)}), and this connection held the most (${hog.held} bytes); read replies as they come`,
    );
  }

  #overBudget(conn: ServerConnection, message: string): void {
    conn.fatal(0, 'ERR_RMMAP_BUDGET', message);
  }

  /** Connections that waited for the total budget get another look, once the current work is done. */
  #wakeStarved(): void {
    if (this.#starved.size === 0 || this.#wakeScheduled || this.#budget.total >= this.limits.maxUnread) return;
    this.#wakeScheduled = true;
    setImmediate(() => {
      this.#wakeScheduled = false;
      const waiting = [...this.#starved];
      this.#starved.clear();
      for (const c of waiting) if (!c.closed) c.resume();
    });
  }
}
