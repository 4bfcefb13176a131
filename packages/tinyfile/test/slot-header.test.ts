// SlotHeader is the typed view of a slot's header words: each accessor must
// touch exactly the word layout.ts documents for it (the wire format both
// processes, and non-Node clients, rely on), and nothing else.
import * as L from '../src/protocol/layout';
import { SlotHeader } from '../src/protocol/slot-header';

const WORDS = L.HEADER_BYTES / 4;

function fresh(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(L.HEADER_BYTES));
}

/** The only word that differs from all zeros, as [index, value]. */
function changed(w: Int32Array): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < WORDS; i++) if (w[i] !== 0) out.push([i, w[i] as number]);
  return out;
}

const scalar: [keyof SlotHeader & string, number][] = [
  ['state', L.S_STATE],
  ['op', L.S_OP],
  ['reqId', L.S_REQ_ID],
  ['inLen', L.S_IN_LEN],
  ['histLen', L.S_HIST_LEN],
  ['outLimit', L.S_OUT_LIMIT],
  ['outLen', L.S_OUT_LEN],
  ['consumed', L.S_CONSUMED],
  ['status', L.S_STATUS],
  ['seenAt', L.S_SEEN_AT],
  ['dispatchedAt', L.S_DISPATCHED_AT],
  ['errOffset', L.S_ERR_OFFSET],
  ['group', L.S_GROUP],
];

describe.each([0, 5, L.MAX_SLOTS - 1])('slot %i', (slot) => {
  const base = L.SLOTS_AT / 4 + slot * L.SLOT_WORDS;

  test.each(scalar)('%s is word %i of the slot header', (name, word) => {
    const w = fresh();
    const h = new SlotHeader(w, slot);
    (h as unknown as Record<string, number>)[name] = 0x1234567;
    expect(changed(w)).toEqual([[base + word, 0x1234567]]);
    if (name !== 'reqId') {
      w[base + word] = -42;
      expect((h as unknown as Record<string, number>)[name]).toBe(-42);
    }
  });

  test('the raw-decode state goes to its five words, produced as low then high word', () => {
    const w = fresh();
    const h = new SlotHeader(w, slot);
    const produced = 3 * 2 ** 32 + 0xfffffffe;
    h.setRawDecode({ literal: 7, copyLeft: 9, copyOffset: 11, produced });
    expect(changed(w)).toEqual([
      [base + L.S_LITERAL, 7],
      [base + L.S_COPY_LEFT, 9],
      [base + L.S_COPY_OFFSET, 11],
      [base + L.S_PRODUCED_LO, 0xfffffffe | 0],
      [base + L.S_PRODUCED_HI, 3],
    ]);
    expect([h.literal, h.copyLeft, h.copyOffset, h.produced]).toEqual([7, 9, 11, produced]);
  });
});

test('produced reads both words as unsigned, up to 2^53 − 1', () => {
  const w = fresh();
  const h = new SlotHeader(w, 0);
  h.setRawDecodeWords(0, 0, 0, Number.MAX_SAFE_INTEGER);
  expect(h.produced).toBe(Number.MAX_SAFE_INTEGER);
  w[L.SLOTS_AT / 4 + L.S_PRODUCED_HI] = -1; // a peer's scribble: read as 2^32 − 1, never negative
  expect(h.produced).toBe((2 ** 32 - 1) * 2 ** 32 + (w[L.SLOTS_AT / 4 + L.S_PRODUCED_LO]! >>> 0));
});

test('forChannel makes one header per slot, each over its own words', () => {
  const w = fresh();
  const headers = SlotHeader.forChannel(w, 3);
  expect(headers).toHaveLength(3);
  headers.forEach((h, i) => (h.inLen = 100 + i));
  expect(changed(w)).toEqual([0, 1, 2].map((i) => [L.SLOTS_AT / 4 + i * L.SLOT_WORDS + L.S_IN_LEN, 100 + i]));
});
