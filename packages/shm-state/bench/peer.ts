// The other process of a two-process benchmark. Roles print "ready" once
// attached and "done …" when finished: receivers report how many messages
// they got, their checksum (see checksum.ts) and the CPU µs they spent from
// "ready" on. The shared memfd arrives as fd 3.
import net from 'node:net';

import { SharedFd } from '@shmkit/shm-fd';

import { addTo } from './checksum';
import { FrameParser } from './frames';
import { mapOps } from './map-ops';
import { HashMap, MpmcQueue, Mutex, SpscQueue } from './lib';
import { cpuSince } from './util';

const [role, ...args] = process.argv.slice(2);
const say = (s: string) => process.stdout.write(`${s}\n`);

let opened: SharedFd | undefined;
function mapShared() {
  const fd = (opened = new SharedFd(3));
  return { fd, map: fd.map() };
}

async function loadZmq(): Promise<typeof import('zeromq')> {
  return import('zeromq');
}

const roles: Record<string, () => void | Promise<void>> = {
  // q-sink <block|batch|records|records-await> <count>: pops `count` messages (drain + popSync, for await over batches, or drainRecords + popSync / await waitNotEmpty).
  async 'q-sink'() {
    const [mode, countStr] = args as [string, string];
    const count = Number(countStr);
    const { map } = mapShared();
    const q = SpscQueue.open(map.buffer);
    let sum = 0;
    let n = 0;
    const c0 = process.cpuUsage();
    say('ready');
    if (mode === 'batch') {
      for await (const batch of q) {
        for (const m of batch) sum = addTo(sum, m, 0, m.length);
        n += batch.length;
        if (n >= count) break;
      }
    } else {
      const onRecord = (data: Buffer, offset: number, length: number) => {
        sum = addTo(sum, data, offset, length);
      };
      const onMessage = (m: Buffer) => onRecord(m, 0, m.length);
      const records = mode !== 'block';
      while (n < count) {
        const k = records ? q.drainRecords(onRecord, count - n) : q.drain(onMessage, count - n);
        if (k > 0) {
          n += k;
          continue;
        }
        // Empty: wait for the next message, then go back to batches.
        if (mode === 'records-await') {
          await q.waitNotEmpty();
          continue;
        }
        const m = q.popSync();
        if (m === null) continue;
        onMessage(m);
        n++;
      }
    }
    say(`done ${n} ${sum} ${cpuSince(c0)}`);
    q.close();
  },
  // sock-sink <path> <count> <maxFrame>
  'sock-sink'() {
    const [path, countStr, maxStr] = args as [string, string, string];
    const count = Number(countStr);
    let n = 0;
    let sum = 0;
    const c0 = process.cpuUsage();
    const sock = net.connect(path, () => say('ready'));
    const parser = new FrameParser(Number(maxStr), (buf, start, len) => {
      sum = addTo(sum, buf, start, len);
      if (++n === count) {
        say(`done ${n} ${sum} ${cpuSince(c0)}`);
        sock.destroy();
      }
    });
    sock.on('data', (d: Buffer) => parser.push(d));
  },
  // zmq-sink <endpoint> <count>: a PULL socket connected to the parent's PUSH.
  async 'zmq-sink'() {
    const [endpoint, countStr] = args as [string, string];
    const count = Number(countStr);
    const zmq = await loadZmq();
    const pull = new zmq.Pull();
    pull.connect(endpoint);
    let n = 0;
    let sum = 0;
    const c0 = process.cpuUsage();
    say('ready');
    for await (const [m] of pull) {
      sum = addTo(sum, m as Buffer, 0, (m as Buffer).length);
      if (++n === count) break;
    }
    say(`done ${n} ${sum} ${cpuSince(c0)}`);
    pull.close();
  },
  // q-echo <async|block> <offset of the reply queue> <spinUs, 0 for the default>: sends every message back until an empty one.
  async 'q-echo'() {
    const [mode, second, spinUs] = args as [string, string, string];
    const popOptions = Number(spinUs) > 0 ? { spinUs: Number(spinUs) } : {};
    const { map } = mapShared();
    const a = SpscQueue.open(map.buffer, { offset: 0 });
    const b = SpscQueue.open(map.buffer, { offset: Number(second) });
    const c0 = process.cpuUsage();
    say('ready');
    for (;;) {
      const m = mode === 'async' ? await a.pop(popOptions) : a.popSync();
      if (m === null) continue;
      if (m.length === 0) break;
      if (!b.tryPush(m)) throw new Error('reply queue full');
    }
    say(`done ${cpuSince(c0)}`);
    a.close();
    b.close();
  },
  // sock-echo <path>: sends every frame back as it is parsed; ends on an empty frame.
  'sock-echo'() {
    const sock = net.connect(args[0] as string, () => say('ready'));
    sock.setNoDelay(true);
    const c0 = process.cpuUsage();
    const parser = new FrameParser(1 << 16, (buf, start, len) => {
      if (len === 0) {
        say(`done ${cpuSince(c0)}`);
        sock.destroy();
        return;
      }
      sock.write(buf.subarray(start - 4, start + len));
    });
    sock.on('data', (d: Buffer) => parser.push(d));
  },
  // zmq-echo <endpoint>: a PAIR socket; ends on an empty message.
  async 'zmq-echo'() {
    const zmq = await loadZmq();
    const pair = new zmq.Pair();
    pair.connect(args[0] as string);
    const c0 = process.cpuUsage();
    say('ready');
    for await (const [m] of pair) {
      if ((m as Buffer).length === 0) break;
      await pair.send(m as Buffer);
    }
    say(`done ${cpuSince(c0)}`);
    pair.close();
  },
  // map-ops <keys> <ops> <seed> <setPercent>: gets/sets on the shared HashMap.
  async 'map-ops'() {
    const [keysStr, opsStr, seedStr, setStr] = args as [string, string, string, string];
    const { map } = mapShared();
    const h = HashMap.open(map.buffer);
    const line = await mapOps(Number(keysStr), Number(opsStr), Number(seedStr), Number(setStr), {
      get: (k) => h.get(k),
      set: (k, v) => h.set(k, v),
      finish: () => undefined,
    }, () => say('ready'));
    say(line);
    h.close();
  },
  // lmdb-ops <path> <keys> <ops> <seed> <setPercent>: the same against an lmdb file.
  async 'lmdb-ops'() {
    const [path, keysStr, opsStr, seedStr, setStr] = args as [string, string, string, string, string];
    const { open } = await import('lmdb');
    const db = open<Buffer, string>({ path, noSync: true, encoding: 'binary' });
    let last: Promise<boolean> | undefined;
    const line = await mapOps(Number(keysStr), Number(opsStr), Number(seedStr), Number(setStr), {
      get: (k) => db.get(k),
      set: (k, v) => {
        // put() reads a binary value when its batch commits, after it
        // returned: each put needs a buffer of its own.
        last = db.put(k, Buffer.from(v));
      },
      finish: async () => {
        await last;
      },
    }, () => say('ready'));
    say(line);
    await db.close();
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
  if (roles[role as string] === undefined) {
    process.stderr.write(`unknown role ${role}\n`);
    process.exitCode = 2;
  }
});
process.on('exit', () => opened?.close()); // closes its mappings too
