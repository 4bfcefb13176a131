import { check } from './calls';
import { libc } from './libc';
import { getScratch } from './scratch';

// Linux values (asm-generic/socket.h, netinet/tcp.h), x86_64 and arm64 alike.
export const SOL_SOCKET = 1;
export const SO_TYPE = 3;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_PEERCRED = 17;
export const SO_RCVLOWAT = 18;
export const SO_RCVTIMEO = 20;
export const SO_SNDTIMEO = 21;
export const SO_ACCEPTCONN = 30;
export const SO_DOMAIN = 39;
export const IPPROTO_TCP = 6;
export const TCP_NODELAY = 1;

/** Scratch offsets: past poll()'s pollfd array and the offsets io.ts writes at 0..15. */
const VALUE_AT = 3584;
const LEN_AT = 3600;

/** setsockopt(2) with an int option value (SO_RCVLOWAT, SO_SNDBUF, TCP_NODELAY, ...). */
export function setSockOpt(fd: number, level: number, name: number, value: number): void {
  const s = getScratch();
  s.buf.writeInt32LE(value, VALUE_AT);
  check(libc().setsockopt(fd, level, name, s.addr + VALUE_AT, 4), 'setsockopt', `setting option ${level}/${name} of socket fd ${fd} to ${value}`);
}

/** getsockopt(2) of an int option. */
export function getSockOpt(fd: number, level: number, name: number): number {
  const s = getScratch();
  s.buf.writeInt32LE(0, VALUE_AT);
  s.buf.writeUInt32LE(4, LEN_AT);
  check(libc().getsockopt(fd, level, name, s.addr + VALUE_AT, s.addr + LEN_AT), 'getsockopt', `reading option ${level}/${name} of socket fd ${fd}`);
  return s.buf.readInt32LE(VALUE_AT);
}

/**
 * SO_SNDTIMEO: a blocking send/sendfile on `fd` returns EAGAIN after `ms`
 * without progress, so a stalled peer cannot hold a thread forever.
 * 0 disables the timeout.
 */
export function setSendTimeout(fd: number, ms: number): void {
  const s = getScratch();
  // struct timeval { time_t tv_sec; suseconds_t tv_usec; }: two 64-bit fields on 64-bit Linux.
  s.buf.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), VALUE_AT);
  s.buf.writeBigInt64LE(BigInt((ms % 1000) * 1000), VALUE_AT + 8);
  check(libc().setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, s.addr + VALUE_AT, 16), 'setsockopt', `setting a ${ms} ms send timeout on socket fd ${fd}`);
}

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/**
 * SO_PEERCRED: who is at the other end of a connected Unix socket, as the
 * kernel recorded it at connect()/listen() time (the peer cannot forge it).
 */
export function peerCredentials(fd: number): PeerCredentials {
  const s = getScratch();
  // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
  s.buf.fill(0, VALUE_AT, VALUE_AT + 12);
  s.buf.writeUInt32LE(12, LEN_AT);
  check(libc().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, s.addr + VALUE_AT, s.addr + LEN_AT), 'getsockopt', `reading the peer credentials of socket fd ${fd}`);
  return { pid: s.buf.readInt32LE(VALUE_AT), uid: s.buf.readUInt32LE(VALUE_AT + 4), gid: s.buf.readUInt32LE(VALUE_AT + 8) };
}
