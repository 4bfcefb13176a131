// Pushing one file to many receivers (the P2PKP idea, docs/PUSH.md): the file
// is opened once, its checksum computed once, and one worker thread moves the
// bytes to every socket with sendfile(2), hashing while the sockets are full.
import fs from 'node:fs';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

import { codeOf, type PushCode, PushStatus, errorCodeOf } from './codes';
import { ReceiverConnection, type ConnEvent } from './connection';
import { checksumId, CHECKSUMS, DEFAULT_CHECKSUM, MAX_TOKEN_LEN, type ChecksumName } from './constants';
import { parseDestination, type Destination } from './destination';
import { debug, pushChannels } from './diagnostics';
import { PushError, systemCode } from './errors';
import { checksumAvailable } from './hash';
import { nameProblem } from './names';
import { SendfilePool } from './sendfile-pool';
import { encodeHeader, encodeTrailer } from './wire';

export interface PushOptions {
  /** Name stored at the receivers; defaults to the file's base name. */
  name?: string;
  /**
   * 'xxh64' (the default; `xxhsum -H1` prints the same digest), 'crc32'
   * (zlib's; Node 20.15+) or 'sha256' (slower; also resists tampering).
   */
  checksum?: ChecksumName;
  /** The receivers' shared secret, if they were started with one. */
  token?: string | Buffer;
  connectTimeoutMs?: number;
  /** A receiver that takes no data for this long fails (others go on). */
  idleTimeoutMs?: number;
  /** How long to wait for a receiver's verdict after the data. */
  replyTimeoutMs?: number;
  /** Largest byte count per sendfile call. */
  chunk?: number;
  /**
   * sendfile threads: 1 (default) drives every socket from one poll loop;
   * more split the receivers among threads (see docs/PUSH.md for figures).
   */
  senderThreads?: number;
  /** Called every `progressIntervalMs` and once at the end. */
  onProgress?: (receivers: readonly ReceiverProgress[]) => void;
  progressIntervalMs?: number;
  signal?: AbortSignal;
}

export type ReceiverPhase = 'connecting' | 'sending' | 'verifying' | 'stored' | 'failed';

export interface ReceiverProgress {
  destination: string;
  phase: ReceiverPhase;
  sent: number;
  size: number;
}

export interface ReceiverResult {
  destination: string;
  ok: boolean;
  /** Bytes handed to the receiver's socket. */
  sent: number;
  /** From connect to the receiver's verdict. */
  ms: number;
  /** Set when ok is false: an ERR_RMMAP_PUSH_* code or an errno name. */
  code?: PushCode;
  message?: string;
}

export interface PushResult {
  name: string;
  size: number;
  /** "xxh64:<hex>", "crc32:<hex>" or "sha256:<hex>" */
  digest: string;
  ok: boolean;
  receivers: ReceiverResult[];
}

/**
 * Pushes `file` to every destination ("HOST:PORT" or parsed). Resolves with
 * one result per receiver, in order; a dead or refusing receiver does not
 * stop the others. Rejects only for problems on this side (no such file, a
 * malformed destination, a name no receiver could store).
 */
export async function pushFile(file: string, destinations: ReadonlyArray<string | Destination>, options: PushOptions = {}): Promise<PushResult> {
  const dests = destinations.map((d) => (typeof d === 'string' ? parseDestination(d) : d));
  if (dests.length === 0) throw new PushError('ERR_RMMAP_PUSH_BAD_DESTINATION', 'no destination given: pass at least one HOST:PORT');
  const name = options.name ?? path.basename(file);
  const problem = nameProblem(name);
  if (problem !== null) throw new PushError('ERR_RMMAP_PUSH_BAD_NAME', `cannot push under the name ${JSON.stringify(name)}: ${problem}; pass another name`);

  const token = options.token === undefined ? undefined : Buffer.from(options.token);
  if (token !== undefined && (token.length < 1 || token.length > MAX_TOKEN_LEN)) {
    throw new PushError('ERR_RMMAP_PUSH_BAD_TOKEN', `the token must be 1 to ${MAX_TOKEN_LEN} bytes`);
  }
  const checksum = options.checksum === undefined ? DEFAULT_CHECKSUM : checksumId(options.checksum);
  if (checksum === undefined || !checksumAvailable(checksum)) {
    throw new PushError('ERR_RMMAP_PUSH_BAD_CHECKSUM', `checksum ${JSON.stringify(options.checksum)} is not available; use xxh64, sha256 or crc32 (Node 20.15+)`);
  }

  // libuv opens with O_CLOEXEC, so no child inherits the file.
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY);
  } catch (err) {
    throw new PushError(systemCode(err, 'EIO'), `cannot open ${file} for pushing: ${(err as Error).message}`, { cause: err });
  }
  const conns: ReceiverConnection[] = [];
  let ticker: NodeJS.Timeout | undefined;
  let pool: SendfilePool | undefined;
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new PushError('ERR_RMMAP_PUSH_NOT_A_FILE', `${file} is not a regular file; only regular files can be pushed`);
    const size = st.size;

    const progressBuf = new SharedArrayBuffer(8 * dests.length);
    const progress = new BigInt64Array(progressBuf);
    const threads = Math.max(1, Math.min(dests.length, options.senderThreads ?? 1));
    pool = new SendfilePool({ fileFd: fd, size, progress: progressBuf, chunk: options.chunk ?? 16 * 1024 * 1024, idleTimeoutMs: options.idleTimeoutMs ?? 30_000, checksum }, threads);
    const sender = pool;
    const digest = pool.digest;

    const phases: ReceiverPhase[] = dests.map(() => 'connecting');
    const snapshot = (): ReceiverProgress[] =>
      // Written by the worker with Atomics.store; a lone counter, read for display only.
      dests.map((d, i) => ({ destination: d.label, phase: phases[i] ?? 'failed', sent: Number(Atomics.load(progress, i)), size }));
    if (options.onProgress !== undefined) {
      const report = options.onProgress;
      ticker = setInterval(() => report(snapshot()), options.progressIntervalMs ?? 250);
    }

    const one = async (i: number, d: Destination): Promise<ReceiverResult> => {
      const t0 = performance.now();
      const fail = (code: PushCode, message: string): ReceiverResult => {
        phases[i] = 'failed';
        return { destination: d.label, ok: false, sent: Number(Atomics.load(progress, i)), ms: performance.now() - t0, code, message };
      };
      const failWith = (e: ConnEvent): ReceiverResult => {
        if (e.kind === 'error') {
          const code = codeOf(e.error, 'EIO');
          return fail(code, e.error instanceof PushError ? e.error.message : `${d.label}: ${e.error.message}`);
        }
        return fail(errorCodeOf(e.reply.status), `${d.label} refused: ${e.reply.message}`);
      };
      let conn: ReceiverConnection;
      try {
        conn = await ReceiverConnection.connect(d.host, d.port, d.label, options.connectTimeoutMs ?? 10_000);
      } catch (err) {
        const code = codeOf(err, 'EIO');
        return fail(code, err instanceof PushError ? err.message : `cannot connect to ${d.label}: ${(err as Error).message}`);
      }
      conns.push(conn);
      if (options.signal?.aborted === true) conn.close('the push was aborted');
      try {
        const replyTimeout = options.replyTimeoutMs ?? 120_000;
        await conn.write(encodeHeader({ name, size, checksum, ...(token === undefined ? {} : { token }) }));
        const ready = await conn.next(replyTimeout, 'accept the header');
        if (ready.kind !== 'reply' || ready.reply.status !== PushStatus.READY) return failWith(ready);

        debug('%s: ready after %d ms', d.label, Math.round(performance.now() - t0));
        phases[i] = 'sending';
        // The thread gets its own dup: Node may close the socket's fd (peer
        // died) while the thread still uses the number, and a reused number
        // would send file bytes to an unrelated fd.
        const sent = sender.send(i, sys.dup(conn.fd()));
        const pending = conn.next();
        const first = await Promise.race([sent, pending]);
        if ('slot' in first) {
          if (first.type === 'failed') return fail(first.code, `${d.label}: ${first.message}`);
        } else {
          sender.abort(i);
          return failWith(first);
        }

        debug('%s: data sent after %d ms', d.label, Math.round(performance.now() - t0));
        phases[i] = 'verifying';
        const sum = await digest;
        debug('%s: digest ready after %d ms', d.label, Math.round(performance.now() - t0));
        if (sum === null) return fail('ERR_RMMAP_PUSH_FILE_CHANGED', `${file} changed size while it was being pushed`);
        await conn.write(encodeTrailer(sum));
        const verdict = await Promise.race([pending, timeout(replyTimeout, `${d.label} gave no verdict within ${replyTimeout} ms after the data`)]);
        if (verdict.kind !== 'reply' || verdict.reply.status !== PushStatus.STORED) return failWith(verdict);
        debug('%s: stored after %d ms', d.label, Math.round(performance.now() - t0));
        phases[i] = 'stored';
        return { destination: d.label, ok: true, sent: size, ms: performance.now() - t0 };
      } catch (err) {
        const code = codeOf(err, 'EIO');
        return fail(code, `${d.label}: ${(err as Error).message}`);
      } finally {
        conn.close();
      }
    };

    const onAbort = () => {
      for (const c of conns) c.close('the push was aborted');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const receivers = await Promise.all(
      dests.map(async (d, i) => {
        const r = await one(i, d);
        if (pushChannels.result.hasSubscribers) pushChannels.result.publish({ name, ...r });
        return r;
      }),
    );
    options.signal?.removeEventListener('abort', onAbort);
    const sum = await digest.catch(() => null);
    options.onProgress?.(snapshot());
    return {
      name,
      size,
      digest: sum === null ? '' : `${CHECKSUMS[checksum].name}:${sum.toString('hex')}`,
      ok: receivers.every((r) => r.ok),
      receivers,
    };
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
    for (const c of conns) c.close();
    await Promise.all(conns.map((c) => c.closed));
    // Slot dups still held by the sender (aborted receivers) are closed by
    // the worker itself before it is terminated.
    await pool?.close();
    fs.closeSync(fd);
  }
}

function timeout(ms: number, message: string): Promise<ConnEvent> {
  return new Promise((resolve) => {
    setTimeout(() => resolve({ kind: 'error', error: new PushError('ERR_RMMAP_PUSH_TIMEOUT', message) }), ms).unref();
  });
}
