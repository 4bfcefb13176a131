import type net from 'node:net';

import * as sys from '@shmkit/shm-fd/sys';
import { Notifier, SpscQueue } from '@shmkit/shm-state';

import type { SlotRequest } from './serve';
import { ANSWER_NOTIFIER_AT, QUEUE_CAPACITY, REQUEST_QUEUE_AT, RESPONSE_QUEUE_AT } from '../protocol/layout';
import { SlotHeader } from '../protocol/slot-header';

/** tinyd's record of one registered client. It owns the channel memfd and the daemon's mapping of it. */
export class ClientConn {
  readonly id: number;
  /** The client's pid as the kernel gave it at connect (SO_PEERCRED); 0 if unknown. Only its doorbells are rung. */
  readonly pid: number;
  readonly priority: number;
  readonly socket: net.Socket;
  /** The channel memfd; closed in release(). */
  readonly fd: number;
  readonly mapping: sys.Mapping;
  readonly words: Int32Array;
  /** Each slot's header words, typed (one accessor per slot, made once). */
  readonly headers: readonly SlotHeader[];
  /** Slot numbers the client submits, and the ones we hand back. */
  readonly requests: SpscQueue;
  readonly responses: SpscQueue;
  /** Signalled after each answer, for the client's event-loop waits. */
  readonly answers: Notifier;
  readonly slots: number;
  readonly connectedAt = Date.now();
  /** Slots handed to an executor and not finished; the daemon's own view, whatever the client writes. */
  readonly inFlight: boolean[];
  /** Slots seen in REQUEST and waiting for an executor, oldest first. */
  readonly ready: number[] = [];
  readonly queued: boolean[];
  readonly seenAt: number[];
  /** Request words of a queued slot, loaded once when first considered for dispatch. */
  readonly request: Array<SlotRequest | undefined> = [];
  /** S_GROUP of each queued or running slot, as read when it was submitted. */
  readonly group: number[];
  /** Input bytes of the chunk a worker is serving, per slot, for the byte counters. */
  readonly pendingIn: number[] = [];
  /** Finished slots whose numbers are not yet on the response queue (tinyd batches them per pass). */
  readonly answered: number[] = [];
  inFlightCount = 0;
  dead = false;
  released = false;
  bytesIn = 0;
  bytesOut = 0;
  chunks = 0;
  failures = 0;

  constructor(init: { id: number; pid: number; priority: number; socket: net.Socket; fd: number; mapping: sys.Mapping; slots: number }) {
    this.id = init.id;
    this.pid = init.pid;
    this.priority = init.priority;
    this.socket = init.socket;
    this.fd = init.fd;
    this.mapping = init.mapping;
    this.slots = init.slots;
    this.words = init.mapping.int32(0, init.mapping.length >>> 2);
    this.headers = SlotHeader.forChannel(this.words, init.slots);
    // The client can write any doorbell address into its channel: our wakeups
    // only ever ring the process at the other end of its socket (SO_PEERCRED).
    const allowPeer = (pid: number) => pid === init.pid;
    this.requests = SpscQueue.create(init.mapping.buffer, { offset: REQUEST_QUEUE_AT, capacity: QUEUE_CAPACITY, allowPeer });
    this.responses = SpscQueue.create(init.mapping.buffer, { offset: RESPONSE_QUEUE_AT, capacity: QUEUE_CAPACITY, allowPeer });
    Notifier.init(init.mapping.buffer, ANSWER_NOTIFIER_AT);
    this.answers = new Notifier(init.mapping.buffer, ANSWER_NOTIFIER_AT, { allowPeer });
    this.inFlight = new Array<boolean>(init.slots).fill(false);
    this.queued = new Array<boolean>(init.slots).fill(false);
    this.seenAt = new Array<number>(init.slots).fill(0);
    this.group = new Array<number>(init.slots).fill(0);
  }

  /** Unmaps and closes the channel. The client's own mapping keeps the memory alive until it exits. */
  release(): void {
    if (this.released) return;
    this.released = true;
    // Structures before the memory under them (shm-state's rule).
    this.requests.close();
    this.responses.close();
    this.mapping.close();
    sys.close(this.fd);
  }
}
