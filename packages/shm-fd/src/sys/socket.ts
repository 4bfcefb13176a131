import { ShmArgumentError } from '../errors';
import { check } from './calls';
import * as C from './constants';
import { libc } from './libc';
import { getScratch, SCRATCH_SIZE } from './scratch';

// struct layouts for LP64 Linux (x86_64, aarch64):
//   msghdr  { name*@0, namelen u32@8, iov*@16, iovlen@24, control*@32, controllen@40, flags i32@48 } = 56
//   iovec   { base*@0, len@8 } = 16
//   cmsghdr { len@0, level i32@8, type i32@12, data@16 }
//   sockaddr_un { family u16@0, path[108]@2 }
const MSGHDR = 0;
const IOVEC = 64;
const SOCKADDR = 128; // 110 bytes
const CONTROL = 256; // up to 1024 bytes: 253 fds
const DATA = 2048;
const MAX_DATA = SCRATCH_SIZE - DATA;
const MAX_FDS = (1024 - 16) / 4;

/** Encodes a Unix socket address: a path, or `@name` for the abstract namespace. */
function writeSockaddr(buf: Buffer, at: number, address: string): number {
  const abstract = address.startsWith('@');
  const name = Buffer.from(abstract ? address.slice(1) : address);
  if (name.length === 0 || name.length > 107 || (!abstract && name.includes(0))) {
    throw new ShmArgumentError('ERR_INVALID_ARG_VALUE', `invalid Unix socket address ${JSON.stringify(address)} (1 to 107 bytes)`);
  }
  buf.fill(0, at, at + 110);
  buf.writeUInt16LE(C.AF_UNIX, at);
  if (abstract) {
    name.copy(buf, at + 3); // sun_path[0] = 0 marks the abstract namespace
    return 3 + name.length;
  }
  name.copy(buf, at + 2);
  return 2 + name.length + 1;
}

export function unixSocket(type: 'dgram' | 'stream' = 'dgram', nonblocking = false): number {
  const t = (type === 'dgram' ? C.SOCK_DGRAM : C.SOCK_STREAM) | C.SOCK_CLOEXEC | (nonblocking ? C.SOCK_NONBLOCK : 0);
  return check(libc().socket(C.AF_UNIX, t, 0), 'socket', `creating a Unix ${type} socket`);
}

/** A connected pair of Unix sockets, both close-on-exec. */
export function socketPair(type: 'dgram' | 'stream' = 'stream'): [number, number] {
  const s = getScratch();
  const t = (type === 'dgram' ? C.SOCK_DGRAM : C.SOCK_STREAM) | C.SOCK_CLOEXEC;
  check(libc().socketpair(C.AF_UNIX, t, 0, s.addr), 'socketpair', 'creating a socket pair');
  return [s.buf.readInt32LE(0), s.buf.readInt32LE(4)];
}

export function bindUnix(fd: number, address: string): void {
  const s = getScratch();
  const len = writeSockaddr(s.buf, SOCKADDR, address);
  check(libc().bind(fd, s.addr + SOCKADDR, len), 'bind', 'binding a Unix socket', address);
}

/**
 * The address a Unix socket is bound to (getsockname(2)): its path, `@name`
 * for the abstract namespace, or null when it is unnamed. For a socket we
 * were handed (socket activation), where Node cannot tell its path.
 */
export function unixSocketName(fd: number): string | null {
  const s = getScratch();
  s.buf.fill(0, SOCKADDR, SOCKADDR + 112);
  s.buf.writeUInt32LE(110, SOCKADDR + 112);
  check(libc().getsockname(fd, s.addr + SOCKADDR, s.addr + SOCKADDR + 112), 'getsockname', `reading the address of socket fd ${fd}`);
  const len = Math.min(110, s.buf.readUInt32LE(SOCKADDR + 112));
  if (s.buf.readUInt16LE(SOCKADDR) !== C.AF_UNIX || len <= 2) return null;
  const path = s.buf.subarray(SOCKADDR + 2, SOCKADDR + len);
  if (path[0] === 0) return `@${path.subarray(1).toString()}`;
  const end = path.indexOf(0);
  return path.subarray(0, end < 0 ? path.length : end).toString();
}

export function connectUnix(fd: number, address: string): void {
  const s = getScratch();
  const len = writeSockaddr(s.buf, SOCKADDR, address);
  check(libc().connect(fd, s.addr + SOCKADDR, len), 'connect', 'connecting a Unix socket', address);
}

export interface SendOptions {
  /** Destination address for an unconnected datagram socket. */
  to?: string;
  nonblocking?: boolean;
}

/** Sends `data` with `fds` attached as SCM_RIGHTS; returns the bytes sent. */
export function sendWithFds(fd: number, data: Buffer, fds: readonly number[], options: SendOptions = {}): number {
  if (data.length > MAX_DATA) throw new ShmArgumentError('ERR_OUT_OF_RANGE', `message of ${data.length} bytes exceeds ${MAX_DATA}`);
  if (fds.length > MAX_FDS) throw new ShmArgumentError('ERR_OUT_OF_RANGE', `cannot pass more than ${MAX_FDS} fds at once`);
  const s = getScratch();
  const b = s.buf;
  b.fill(0, 0, DATA);
  data.copy(b, DATA);
  b.writeBigUInt64LE(BigInt(s.addr + DATA), IOVEC);
  b.writeBigUInt64LE(BigInt(data.length), IOVEC + 8);
  let nameLen = 0;
  if (options.to !== undefined) nameLen = writeSockaddr(b, SOCKADDR, options.to);
  b.writeBigUInt64LE(nameLen === 0 ? 0n : BigInt(s.addr + SOCKADDR), MSGHDR);
  b.writeUInt32LE(nameLen, MSGHDR + 8);
  b.writeBigUInt64LE(BigInt(s.addr + IOVEC), MSGHDR + 16);
  b.writeBigUInt64LE(1n, MSGHDR + 24);
  if (fds.length > 0) {
    const cmsgLen = 16 + 4 * fds.length;
    b.writeBigUInt64LE(BigInt(cmsgLen), CONTROL);
    b.writeInt32LE(C.SOL_SOCKET, CONTROL + 8);
    b.writeInt32LE(C.SCM_RIGHTS, CONTROL + 12);
    fds.forEach((f, i) => b.writeInt32LE(f, CONTROL + 16 + 4 * i));
    b.writeBigUInt64LE(BigInt(s.addr + CONTROL), MSGHDR + 32);
    b.writeBigUInt64LE(BigInt((cmsgLen + 7) & ~7), MSGHDR + 40);
  }
  const flags = C.MSG_NOSIGNAL | (options.nonblocking === true ? C.MSG_DONTWAIT : 0);
  return check(libc().sendmsg(fd, s.addr + MSGHDR, flags), 'sendmsg', `sending ${data.length} bytes and ${fds.length} fds`, options.to);
}

export interface Received {
  data: Buffer;
  /** Received fds, owned by the caller, close-on-exec. */
  fds: number[];
  /** The datagram or the fd list did not fit and was cut. */
  truncated: boolean;
}

/**
 * Receives one message and any fds attached to it. Returns null when
 * `nonblocking` and nothing is waiting.
 */
export function recvWithFds(fd: number, options: { maxBytes?: number; nonblocking?: boolean } = {}): Received | null {
  const maxBytes = Math.min(options.maxBytes ?? 4096, MAX_DATA);
  const s = getScratch();
  const b = s.buf;
  b.fill(0, 0, DATA);
  b.writeBigUInt64LE(BigInt(s.addr + DATA), IOVEC);
  b.writeBigUInt64LE(BigInt(maxBytes), IOVEC + 8);
  b.writeBigUInt64LE(BigInt(s.addr + IOVEC), MSGHDR + 16);
  b.writeBigUInt64LE(1n, MSGHDR + 24);
  b.writeBigUInt64LE(BigInt(s.addr + CONTROL), MSGHDR + 32);
  b.writeBigUInt64LE(1024n, MSGHDR + 40);
  const flags = C.MSG_CMSG_CLOEXEC | (options.nonblocking === true ? C.MSG_DONTWAIT : 0);
  const r = libc().recvmsg(fd, s.addr + MSGHDR, flags);
  if (r.value === -1 && r.errno === 11 && options.nonblocking === true) return null;
  const n = check(r, 'recvmsg', 'receiving a message');
  const msgFlags = b.readInt32LE(MSGHDR + 48);
  const controlLen = Number(b.readBigUInt64LE(MSGHDR + 40));
  const fds: number[] = [];
  // Walk the control messages; bounds come from the kernel but are checked anyway.
  let at = 0;
  while (at + 16 <= controlLen) {
    const len = Number(b.readBigUInt64LE(CONTROL + at));
    if (len < 16 || at + len > controlLen) break;
    if (b.readInt32LE(CONTROL + at + 8) === C.SOL_SOCKET && b.readInt32LE(CONTROL + at + 12) === C.SCM_RIGHTS) {
      for (let i = 16; i + 4 <= len; i += 4) fds.push(b.readInt32LE(CONTROL + at + i));
    }
    at += (len + 7) & ~7;
  }
  return {
    data: Buffer.from(b.subarray(DATA, DATA + Math.min(n, maxBytes))),
    fds,
    truncated: (msgFlags & (C.MSG_TRUNC | C.MSG_CTRUNC)) !== 0,
  };
}

/** poll(2) on several fds; returns each fd's revents. */
export function poll(entries: ReadonlyArray<{ fd: number; events: number }>, timeoutMs: number): number[] {
  if (entries.length > 512) throw new ShmArgumentError('ERR_OUT_OF_RANGE', 'poll takes at most 512 fds');
  const s = getScratch();
  const b = s.buf;
  entries.forEach((e, i) => {
    b.writeInt32LE(e.fd, i * 8);
    b.writeInt16LE(e.events, i * 8 + 4);
    b.writeInt16LE(0, i * 8 + 6);
  });
  const r = libc().poll(s.addr, entries.length, Math.round(timeoutMs));
  if (r.value === -1 && r.errno === 4) return entries.map(() => 0); // EINTR: nothing ready yet
  check(r, 'poll', 'waiting for fds');
  return entries.map((_, i) => b.readInt16LE(i * 8 + 6));
}
