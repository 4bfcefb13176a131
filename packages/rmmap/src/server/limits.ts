import fs from 'node:fs';

import { RmmapArgumentError } from '../errors';

/**
 * What one client, and all clients together, may make rmmapd hold. Every
 * number is something a peer controls by sending requests, so each has a
 * bound; the defaults suit a small machine (2 cores, 24 GiB).
 */
export interface ServerLimits {
  /** Mappings one connection may hold at once. */
  maxMappingsPerConnection: number;
  /** Mappings all connections together may hold (each is one kernel memory area). */
  maxMappings: number;
  /** Reply bytes queued for one connection and not yet taken by its socket before the server stops reading from it. */
  maxUnreadPerConnection: number;
  /** Reply bytes queued for all connections together before the server stops reading from any that adds to them. */
  maxUnread: number;
  /** Connections served at once; more get ERR_RMMAP_BUDGET and are closed. */
  maxConnections: number;
  /** A connection that has not completed HELLO after this long is closed (ms). */
  handshakeTimeoutMs: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Readonly<ServerLimits> = {
  maxMappingsPerConnection: 1024,
  maxMappings: 16384,
  maxUnreadPerConnection: 64 * MiB,
  maxUnread: 512 * MiB,
  maxConnections: 256,
  handshakeTimeoutMs: 10_000,
};

/** Beyond its budget, a connection may still receive server pushes (NOTIFY) it does not read; this much, then it is closed. */
export const PUSH_ALLOWANCE = 1 * MiB;

const RANGES: Readonly<Record<keyof ServerLimits, readonly [number, number]>> = {
  maxMappingsPerConnection: [1, 1_000_000],
  maxMappings: [1, 1_000_000],
  maxUnreadPerConnection: [64 * 1024, 2 ** 40],
  maxUnread: [64 * 1024, 2 ** 40],
  maxConnections: [1, 1_000_000],
  handshakeTimeoutMs: [1, 3_600_000],
};

/**
 * The limits in force: the defaults overridden by `given`, each range-checked.
 * The default total of mappings is lowered to half of the kernel's
 * `vm.max_map_count` when that is smaller: past that limit mmap fails for V8
 * too, which aborts the process.
 */
export function resolveLimits(given: Partial<ServerLimits>, maxMapCount = readMaxMapCount()): ServerLimits {
  const out = { ...DEFAULT_LIMITS };
  if (maxMapCount !== undefined) out.maxMappings = Math.max(1, Math.min(out.maxMappings, Math.floor(maxMapCount / 2)));
  for (const key of Object.keys(RANGES) as (keyof ServerLimits)[]) {
    const v = given[key];
    if (v === undefined) continue;
    const [min, max] = RANGES[key];
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      throw new RmmapArgumentError('ERR_OUT_OF_RANGE', `${key} must be an integer in [${min}, ${max}], got ${v}`);
    }
    out[key] = v;
  }
  if (given.maxMappingsPerConnection === undefined) out.maxMappingsPerConnection = Math.min(out.maxMappingsPerConnection, out.maxMappings);
  if (given.maxUnreadPerConnection === undefined) out.maxUnreadPerConnection = Math.min(out.maxUnreadPerConnection, out.maxUnread);
  if (out.maxMappingsPerConnection > out.maxMappings) {
    throw new RmmapArgumentError(
      'ERR_OUT_OF_RANGE',
      `maxMappingsPerConnection (${out.maxMappingsPerConnection}) must not exceed maxMappings (${out.maxMappings})`,
    );
  }
  if (out.maxUnreadPerConnection > out.maxUnread) {
    throw new RmmapArgumentError('ERR_OUT_OF_RANGE', `maxUnreadPerConnection (${out.maxUnreadPerConnection}) must not exceed maxUnread (${out.maxUnread})`);
  }
  return out;
}

/** /proc/sys/vm/max_map_count, or undefined when it cannot be read. */
export function readMaxMapCount(): number | undefined {
  try {
    const n = Number(fs.readFileSync('/proc/sys/vm/max_map_count', 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** A byte count for messages: "64 MiB", "1536 KiB", "100 bytes". */
export function formatBytes(n: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 * MiB],
    ['MiB', MiB],
    ['KiB', 1024],
  ] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return `${n} bytes`;
}
