// What one sender can make a receiver hold, and for how long. Everything a
// sender declares is a claim: disk is reserved for bytes that arrived, not
// for the size in the header, and every wait on the sender has a deadline.

const GiB = 1024 * 1024 * 1024;

/**
 * Largest file a receiver accepts unless told otherwise (--max-size). A
 * fixed number rather than a share of the free space: every receiver gives
 * the same answer, whatever its disk holds at the moment. The free space is
 * checked as well (statfs, when the header arrives), and since disk is only
 * reserved for data that arrived, this limit is a policy for honest senders,
 * not what keeps a lying one from filling the disk.
 */
export const DEFAULT_MAX_SIZE = 64 * GiB;

/**
 * Disk blocks are reserved (posix_fallocate) this far ahead of the data
 * received, one window at a time, so a push lands in few extents without a
 * sender being able to reserve what it never sends: a transfer occupies at
 * most what arrived plus one window. 16 MiB is a sender's sendfile chunk;
 * a 256 MiB file costs 16 fallocate calls.
 */
export const RESERVE_WINDOW = 16 * 1024 * 1024;

/** A connection must deliver its whole header within this (--handshake-timeout). */
export const DEFAULT_HEADER_TIMEOUT_MS = 10_000;

/** A sender that sends nothing for this long, after its header, is dropped (--idle-timeout). */
export const DEFAULT_IDLE_TIMEOUT_MS = 10_000;

/** Transfers (and handshakes) at once; more connections get BUSY (--max-connections). */
export const DEFAULT_MAX_CONCURRENT = 16;

/**
 * Sockets that got their last reply (BUSY, or a transfer's verdict) and are
 * given up to 2 s to read it and close, at once; past this a socket is
 * closed at once (a BUSY one without a reply), so a flood of connects cannot
 * pile up sockets.
 */
export const MAX_LINGERING = 64;

/**
 * Slowest hashing rate the receiver allows its own hashing thread (sha256 on
 * big files follows the data and may lag behind the network) before it
 * gives up on the digest; added to the idle timeout, per byte received.
 */
export const MIN_HASH_BYTES_PER_MS = 50_000; // 50 MB/s

/** How long to wait for our own hashing thread to catch up with `size` received bytes. */
export function hashCatchUpMs(size: number, idleTimeoutMs: number): number {
  return idleTimeoutMs + Math.ceil(size / MIN_HASH_BYTES_PER_MS);
}
