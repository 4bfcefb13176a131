// The other process of a two-process benchmark. Roles print "ready" once
// attached and "done" when finished. The shared memfd arrives as fd 3.
import net from 'node:net';

import { SharedFd } from '@shmkit/shm-fd';

import { MpmcQueue, Mutex, SpscQueue } from './lib';

const [role, ...args] = process.argv.slice(2);
const say = (s: string) => process.stdout.write(`${s}\n`);

let opened: SharedFd | undefined;
function mapShared() {
  const fd = (opened = new SharedFd(3));
  return { fd, map: fd.map() };
}

/** Reads length-prefixed frames from a stream socket. */
function frames(sock: net.Socket, onFrame: (f: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  sock.on('data', (d: Buffer) => {
    let buf = pending.length === 0 ? d : Buffer.concat([pending, d]);
    let at = 0;
    while (buf.length - at >= 4) {
      const len = buf.readUInt32LE(at);
      if (buf.length - at - 4 < len) break;
      onFrame(buf.subarray(at + 4, at + 4 + len));
      at += 4 + len;
    }
    pending = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
    buf = pending;
  });
}

const roles: Record<string, () => void | Promise<void>> = {
  'spsc-sink'() {
    const count = Number(args[0]);
    const { map } = mapShared();
    const q = SpscQueue.open(map.buffer);
    say('ready');
    let bytes = 0;
    let n = 0;
    const onMessage = (m: Buffer) => {
      bytes += m.length;
    };
    while (n < count) {
      const k = q.drain(onMessage, count - n);
      if (k > 0) {
        n += k;
        continue;
      }
      // Empty: block until the next message, then go back to batches.
      const m = q.popSync();
      if (m === null) continue;
      bytes += m.length;
      n++;
    }
    say(`done ${bytes}`);
  },
  'sock-sink'() {
    const [path, countStr] = args as [string, string];
    const count = Number(countStr);
    let n = 0;
    let bytes = 0;
    const sock = net.connect(path, () => say('ready'));
    frames(sock, (f) => {
      bytes += f.length;
      if (++n === count) {
        say(`done ${bytes}`);
        sock.destroy();
      }
    });
  },
  async 'spsc-echo'() {
    const mode = args[0] as 'block' | 'spin' | 'async' | 'default';
    const { map } = mapShared();
    const a = SpscQueue.open(map.buffer, { offset: 0 });
    const b = SpscQueue.open(map.buffer, { offset: Number(args[1]) });
    say('ready');
    for (;;) {
      let m: Buffer | null;
      if (mode === 'spin') {
        do m = a.tryPop();
        while (m === null);
      } else if (mode === 'async') {
        m = await a.pop();
      } else {
        m = a.popSync({ spinUs: mode === 'block' ? 0 : undefined });
      }
      if (m === null) continue;
      if (m.length === 0) break;
      b.tryPush(m);
    }
    say('done');
  },
  'sock-echo'() {
    const sock = net.connect(args[0] as string, () => say('ready'));
    sock.setNoDelay(true);
    sock.on('data', (d) => sock.write(d));
    sock.on('end', () => sock.destroy());
  },
  'mpmc-worker'() {
    const ops = Number(args[0]);
    const { map } = mapShared();
    const q = MpmcQueue.open(map.buffer);
    const msg = Buffer.alloc(64, 7);
    say('ready');
    // Start together: the parent flips word 0 of the control page.
    const go = new Int32Array(map.buffer.buffer, map.buffer.byteOffset + Number(args[1]), 1);
    while (Atomics.load(go, 0) === 0);
    const t0 = performance.now();
    for (let i = 0; i < ops; i++) {
      q.pushSync(msg);
      q.popSync();
    }
    say(`done ${performance.now() - t0}`);
  },
  'mutex-hold'() {
    const { map } = mapShared();
    Mutex.open(map.buffer);
    say('ready');
  },
};

void Promise.resolve(roles[role as string]?.()).then(() => {
  opened?.close(); // closes its mappings too
  if (roles[role as string] === undefined) {
    process.stderr.write(`unknown role ${role}\n`);
    process.exitCode = 2;
  }
});
