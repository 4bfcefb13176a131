// What `rmmapd status` shows: load, the write journal, traffic and the budgets in force.

export interface RmmapdStatus {
  pid: number;
  /** The TCP address clients use. */
  address: string;
  port: number;
  root: string;
  readOnly: boolean;
  /** Whether the listening socket came from socket activation. */
  activated: boolean;
  uptimeMs: number;
  connections: number;
  /** Sessions remembered for clients that may reconnect (write dedupe tables). */
  sessions: number;
  mappings: number;
  openFiles: number;
  unreadBytes: number;
  /** File bytes sent to clients (READ and MAP replies) and written by clients, since start. */
  bytesRead: number;
  bytesWritten: number;
  journal: { path: string; bytes: number; maxBytes: number } | null;
  budgets: {
    maxConnections: number;
    maxMappingsPerConnection: number;
    maxMappings: number;
    maxUnreadPerConnection: number;
    maxUnread: number;
    maxFrame: number;
    handshakeTimeoutMs: number;
  };
}
