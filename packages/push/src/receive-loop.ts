// The receiving half of a push, run in a worker thread that owns a dup of the
// accepted socket. With xxh64 (the default) data is read from the socket into
// the hasher's own 1 MiB of WebAssembly memory, hashed there while it is in
// the CPU cache, and written to the file: two copies and a hash, in one pass.
// crc32 works the same way through a 1 MiB buffer. With sha256 it
// moves socket → pipe → file with splice(2) and is hashed from the file (by
// a second thread for big files): sha256 is slow enough to want its own core.
// Measured (PUSH.md, "Tuning"): read + crc32 + write costs ~20 %
// less receiver CPU than splice followed by pread + crc32 of what landed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';

import * as sys from '@shmkit/shm-fd/sys';

import { CHECKSUMS, HEADER_FIXED_LEN, TEMP_PREFIX, TEMP_SUFFIX, trailerLen } from './constants';
import { type PushCode, PushStatus, PushStatusName, type PushStatusCode } from './codes';
import { checkStop, FdEof, FdStopped, FdTimeout, readExact, waitFd, watchStop, writeAll } from './fdio';
import { checksumAvailable } from './hash';
import type { ReceiveJob } from './jobs';
import { hashCatchUpMs } from './limits';
import { nameProblem } from './names';
import { reserveAhead } from './reserve';
import { createVerifier, type Verifier } from './verifier';
import { debug } from './diagnostics';
import { decodeHeaderFixed, decodeName, decodeTrailer, encodeReply } from './wire';

const C = sys.constants;
const PIPE_SIZE = 1024 * 1024;

/** worker → main */
export type ReceiveEvent =
  | { type: 'header'; name: string; size: number }
  | { type: 'stored'; name: string; size: number; digest: string; path: string }
  | { type: 'failed'; code: PushCode; message: string; name?: string }
  /** After the verdict, once every fd of the job is closed: the thread can take another job. */
  | { type: 'idle' };

/** A reason to refuse the push, sent back to the sender as a reply. */
class Refusal extends Error {
  constructor(
    readonly status: PushStatusCode,
    message: string,
  ) {
    super(message);
  }
}

export function runReceiver(job: ReceiveJob): void {
  const port = parentPort;
  if (port === null) throw new Error('runReceiver must run in a worker thread');
  const progress = new BigInt64Array(job.progress);
  watchStop(new Int32Array(job.stop));
  let name: string | undefined;
  let tempPath: string | undefined;
  let fileFd = -1;
  let verdict: ReceiveEvent | undefined;
  let verifier: Verifier | undefined;
  let replaced = -1;
  // What the sender was expected to send when a wait times out, for the TIMEOUT reply.
  let awaited = `a complete header within ${job.headerTimeoutMs} ms of connecting (--handshake-timeout)`;
  try {
    const deadline = Date.now() + job.headerTimeoutMs;
    const fixed = decodeHeaderFixed(readExact(job.fd, HEADER_FIXED_LEN, deadline), job.maxSize);
    if (!fixed.ok) throw new Refusal(fixed.status, fixed.message);
    if (!checksumAvailable(fixed.checksum)) {
      throw new Refusal(PushStatus.BAD_HEADER, `this receiver cannot compute ${CHECKSUMS[fixed.checksum].name} (Node ${process.version}); push with --checksum sha256`);
    }
    const rest = readExact(job.fd, fixed.nameLen + fixed.tokenLen, deadline);
    // Authenticate before looking at anything else the peer sent.
    if (job.tokenDigest !== undefined) {
      const offered = crypto.createHash('sha256').update(rest.subarray(fixed.nameLen)).digest();
      // Digests have equal length, so the comparison time says nothing about the token.
      if (!crypto.timingSafeEqual(offered, Buffer.from(job.tokenDigest, 'hex'))) {
        throw new Refusal(PushStatus.UNAUTHORIZED, 'this receiver requires a token and the one sent does not match (shm-push send --token-file)');
      }
    }
    const decoded = decodeName(rest.subarray(0, fixed.nameLen));
    if (decoded === null) throw new Refusal(PushStatus.BAD_NAME, 'the file name is not valid UTF-8');
    const problem = nameProblem(decoded);
    if (problem !== null) throw new Refusal(PushStatus.BAD_NAME, `refusing file name ${JSON.stringify(decoded)}: ${problem}`);
    name = decoded;
    const size = fixed.size;
    Atomics.store(progress, 1, BigInt(size));
    port.postMessage({ type: 'header', name, size } satisfies ReceiveEvent);

    const finalPath = path.join(job.dir, name);
    if (!job.overwrite && exists(finalPath)) {
      throw new Refusal(PushStatus.EXISTS, `${name} already exists in the receive directory (start the receiver with --overwrite to replace files)`);
    }
    const st = fs.statfsSync(job.dir);
    if (st.bavail * st.bsize < size) {
      throw new Refusal(PushStatus.NO_SPACE, `the file is ${size} bytes but the receive directory has only ${st.bavail * st.bsize} bytes free`);
    }
    tempPath = path.join(job.dir, `${TEMP_PREFIX}${process.pid}-${crypto.randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
    // O_EXCL | O_NOFOLLOW, 0600, checked ours: nothing planted in the directory is written through.
    fileFd = sys.createOwnedFile(tempPath, 0o600);
    // Blocks are reserved one window ahead of the data as it arrives
    // (limits.ts), never for the announced size: a sender that announces a
    // terabyte and sends a megabyte holds a megabyte and one window. Not on
    // tmpfs: there reserving means zero-filling every page first (224 ms for
    // 256 MiB here), and statfs above already checked the room.
    const reserveWindow = st.type === C.TMPFS_MAGIC ? 0 : job.reserveWindow;

    awaited = `more data or the trailer within ${job.idleTimeoutMs} ms (--idle-timeout)`;
    writeAll(job.fd, encodeReply(PushStatus.READY, ''), Date.now() + job.idleTimeoutMs);
    verifier = createVerifier(fileFd, size, fixed.checksum);
    const t0 = performance.now();
    receiveData(job, fileFd, size, progress, verifier, reserveWindow);
    const t1 = performance.now();
    // Finish our checksum before waiting for the sender's: both sides hash at
    // once. This waits on our own thread, not the sender, over bytes that did arrive.
    const digest = verifier.finish(size, hashCatchUpMs(size, job.idleTimeoutMs));
    verifier = undefined;
    if (digest === null) throw new Refusal(PushStatus.IO_ERROR, 'hashing the received file failed (it shrank, or the hashing thread died)');
    const trailer = decodeTrailer(readExact(job.fd, trailerLen(fixed.checksum), Date.now() + job.idleTimeoutMs), fixed.checksum);
    if (trailer === null) throw new Refusal(PushStatus.BAD_HEADER, 'the trailer after the data is malformed (bad magic)');
    debug('receive: %d bytes in %d ms, checksum %d ms later', size, Math.round(t1 - t0), Math.round(performance.now() - t1));
    if (job.fsync) fs.fdatasyncSync(fileFd);
    if (digest.length !== trailer.length || !crypto.timingSafeEqual(digest, trailer)) {
      throw new Refusal(
        PushStatus.CHECKSUM_MISMATCH,
        `${CHECKSUMS[fixed.checksum].name} of the received data is ${digest.toString('hex')} but the sender announced ${trailer.toString('hex')}; the data was corrupted in transit`,
      );
    }
    replaced = publish(tempPath, finalPath, job);
    tempPath = undefined;
    const hex = `${CHECKSUMS[fixed.checksum].name}:${digest.toString('hex')}`;
    writeAll(job.fd, encodeReply(PushStatus.STORED, `${name} ${size} ${hex}`), Date.now() + job.idleTimeoutMs);
    verdict = { type: 'stored', name, size, digest: hex, path: finalPath };
  } catch (err) {
    const { status, message } = toRefusal(err, awaited);
    try {
      writeAll(job.fd, encodeReply(status, message), Date.now() + 1000);
    } catch {
      // the sender is gone; the local report below is all that is left
    }
    verdict = { type: 'failed', code: `ERR_RMMAP_PUSH_${PushStatusName[status] ?? 'IO_ERROR'}`, message };
    if (name !== undefined) verdict.name = name;
  } finally {
    verifier?.cancel();
    if (fileFd >= 0) fs.closeSync(fileFd);
    if (replaced >= 0) fs.closeSync(replaced);
    if (tempPath !== undefined) fs.rmSync(tempPath, { force: true });
    sys.close(job.fd);
    // Reported only now, so whoever hears it sees the directory already clean.
    if (verdict !== undefined) port.postMessage(verdict);
  }
}

/**
 * Moves exactly `size` bytes from the socket into the file, reserving blocks
 * `reserveWindow` bytes ahead of the data (0: never).
 */
function receiveData(job: ReceiveJob, fileFd: number, size: number, progress: BigInt64Array, verifier: Verifier, reserveWindow: number): void {
  if (size === 0) return;
  if (verifier.inline !== undefined) receiveIntoWindow(job, fileFd, size, progress, verifier.inline, reserveWindow);
  else receiveBySplice(job, fileFd, size, progress, verifier, reserveWindow);
}

/** socket → the checksum's window (hashed there) → file. */
function receiveIntoWindow(job: ReceiveJob, fileFd: number, size: number, progress: BigInt64Array, sum: NonNullable<Verifier['inline']>, reserveWindow: number): void {
  const { window } = sum;
  let offset = 0;
  let reserved = reserveWindow === 0 ? size : 0;
  let deadline = Date.now() + job.idleTimeoutMs;
  while (offset < size) {
    checkStop();
    let n: number;
    try {
      // fs, not ffi-rs: xxh64's window is WebAssembly memory, which has no
      // native address to hand to read(2). On a socket this is a plain read(2).
      n = fs.readSync(job.fd, window, 0, Math.min(window.length, size - offset), null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EINTR') {
        waitFd(job.fd, C.POLLIN, deadline);
        continue;
      }
      throw err;
    }
    if (n === 0) throw new FdEof(`the sender closed the connection after ${offset} of ${size} bytes`);
    sum.hashWindow(n);
    if (offset + n > reserved) reserved = reserveAhead(fileFd, offset, size, reserveWindow);
    for (let w = 0; w < n; ) w += fs.writeSync(fileFd, window, w, n - w, offset + w);
    offset += n;
    deadline = Date.now() + job.idleTimeoutMs;
    // Read by the main thread for progress lines.
    Atomics.store(progress, 0, BigInt(offset));
  }
}

/** socket → pipe → file with splice(2); the checksum is computed from the file. */
function receiveBySplice(job: ReceiveJob, fileFd: number, size: number, progress: BigInt64Array, verifier: Verifier, reserveWindow: number): void {
  const [pr, pw] = sys.pipe(false);
  try {
    let pipeSize = 64 * 1024;
    try {
      pipeSize = sys.setPipeSize(pw, PIPE_SIZE);
    } catch {
      // above /proc/sys/fs/pipe-max-size for this user: keep the default
    }
    let offset = 0;
    let reserved = reserveWindow === 0 ? size : 0;
    let deadline = Date.now() + job.idleTimeoutMs;
    while (offset < size) {
      checkStop();
      // Non-blocking on both sides: the pipe is empty here, the socket may be.
      const n = sys.splice(job.fd, -1, pw, -1, Math.min(pipeSize, size - offset), C.SPLICE_F_MOVE | C.SPLICE_F_NONBLOCK);
      if (n === null) {
        // The network is behind: hash what has landed instead of idling.
        if (!verifier.idle(offset)) waitFd(job.fd, C.POLLIN, deadline);
        continue;
      }
      if (n === 0) throw new FdEof(`the sender closed the connection after ${offset} of ${size} bytes`);
      if (offset + n > reserved) reserved = reserveAhead(fileFd, offset, size, reserveWindow);
      let left = n;
      while (left > 0) {
        // Blocking pipe → file: the bytes are already in the pipe.
        const m = sys.splice(pr, -1, fileFd, offset, left, C.SPLICE_F_MOVE) ?? 0;
        offset += m;
        left -= m;
      }
      deadline = Date.now() + job.idleTimeoutMs;
      verifier.landed(offset);
      // Read by the main thread for progress lines.
      Atomics.store(progress, 0, BigInt(offset));
    }
  } finally {
    sys.close(pr);
    sys.close(pw);
  }
}

/**
 * Puts the verified temp file under its final name; without --overwrite,
 * never replaces. Returns an O_PATH fd of the file it replaced (-1 if none),
 * for the caller to close after replying: the replaced file's pages are
 * freed at its last reference, and that is then this close, after the
 * sender has its verdict, instead of inside rename(2) before it (a 256 MiB
 * file on tmpfs took ~15 % of a receiver's CPU to free).
 */
function publish(tempPath: string, finalPath: string, job: ReceiveJob): number {
  let replaced = -1;
  if (job.overwrite) {
    try {
      // O_PATH: a reference only, nothing is opened for reading (no side
      // effects on whatever the name is); O_NOFOLLOW holds a symlink itself.
      replaced = fs.openSync(finalPath, C.O_PATH | fs.constants.O_NOFOLLOW);
    } catch {
      // nothing there (or nothing we may hold): nothing to defer
    }
    try {
      fs.renameSync(tempPath, finalPath);
    } catch (err) {
      if (replaced >= 0) fs.closeSync(replaced);
      throw err;
    }
  } else {
    try {
      // link(2) fails with EEXIST atomically, unlike a check followed by rename.
      fs.linkSync(tempPath, finalPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new Refusal(PushStatus.EXISTS, `${path.basename(finalPath)} appeared in the receive directory during the transfer; not replacing it`);
      }
      throw err;
    }
    fs.unlinkSync(tempPath);
  }
  if (job.fsync) {
    try {
      sys.fsyncDir(job.dir);
    } catch (err) {
      if (replaced >= 0) fs.closeSync(replaced);
      throw err;
    }
  }
  return replaced;
}

function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** `awaited`: what the sender failed to send in time, should `err` be a timeout. */
function toRefusal(err: unknown, awaited: string): { status: PushStatusCode; message: string } {
  if (err instanceof Refusal) return { status: err.status, message: err.message };
  if (err instanceof FdEof) return { status: PushStatus.TRUNCATED, message: err.message };
  if (err instanceof FdTimeout) return { status: PushStatus.TIMEOUT, message: `the sender sent nothing for too long: expected ${awaited}` };
  if (err instanceof FdStopped) return { status: PushStatus.BUSY, message: 'the receiver is shutting down; retry with another receiver or later' };
  const code = (err as { code?: string }).code;
  const text = err instanceof Error ? err.message : String(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') return { status: PushStatus.NO_SPACE, message: `the receive directory is full: ${text}` };
  if (code === 'ECONNRESET' || code === 'EPIPE') return { status: PushStatus.TRUNCATED, message: `the sender's connection broke (${code})` };
  return { status: PushStatus.IO_ERROR, message: `receiving failed: ${text}` };
}
