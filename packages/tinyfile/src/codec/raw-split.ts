// Cuts a raw snappy block into pieces that decode independently, so that
// tinyd's workers can decode one block in parallel. Compressors (snappy's
// own, snappyjs, ours) compress each 64 KiB fragment on its own, so no copy
// reaches back across a fragment boundary; this walks the elements (tags
// only, no byte is copied) and cuts at element boundaries, merging a piece
// into the one before whenever one of its copies reaches back past its
// start. Anything unexpected (a truncated tag, a zero or impossible offset,
// more or less output than declared) returns null: the caller then decodes
// sequentially, which reports the problem with its input offset.

export interface RawPiece {
  /** Input bytes [inStart, inEnd) of the block, element-aligned. */
  inStart: number;
  inEnd: number;
  /** The output bytes [outStart, outEnd) they decode to, with no reference before outStart. */
  outStart: number;
  outEnd: number;
}

export interface SplitLimits {
  /** Cut once a piece has decoded to at least this many bytes. */
  target: number;
  /** Give up (null) if a piece's input or output would exceed these. */
  maxIn: number;
  maxOut: number;
}

/**
 * Pieces of `block[start, end)` (the elements after the length varint),
 * which declares `declared` output bytes; null when it cannot be split.
 */
export function splitRawBlock(block: Uint8Array, start: number, declared: number, limits: SplitLimits): RawPiece[] | null {
  const end = block.length;
  // Tags near the end are bounds-checked one by one; before it, every tag's
  // extra bytes (at most 4) are known to be there.
  const safeEnd = end - 5;
  const pieces: RawPiece[] = [];
  let curIn = start;
  let curOut = 0;
  let ip = start;
  let op = 0;
  while (ip < end) {
    if (op - curOut >= limits.target) {
      pieces.push({ inStart: curIn, inEnd: ip, outStart: curOut, outEnd: op });
      curIn = ip;
      curOut = op;
    }
    const tag = block[ip]!;
    const type = tag & 3;
    if (type === 0) {
      let len = tag >>> 2;
      let head = 1;
      if (len >= 60) {
        const extra = len - 59;
        if (ip + 1 + extra > end) return null;
        len = 0;
        for (let k = extra; k >= 1; k--) len = len * 256 + block[ip + k]!;
        head += extra;
      }
      ip += head + len + 1;
      op += len + 1;
      continue;
    }
    if (ip > safeEnd && ip + (type === 1 ? 2 : type === 2 ? 3 : 5) > end) return null;
    let len: number;
    let offset: number;
    if (type === 1) {
      len = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | block[ip + 1]!;
      ip += 2;
    } else if (type === 2) {
      len = 1 + (tag >>> 2);
      offset = block[ip + 1]! | (block[ip + 2]! << 8);
      ip += 3;
    } else {
      len = 1 + (tag >>> 2);
      offset = (block[ip + 1]! | (block[ip + 2]! << 8) | (block[ip + 3]! << 16)) + block[ip + 4]! * 0x1000000;
      ip += 5;
    }
    if (offset === 0 || offset > op) return null;
    // The copy reads output from before this piece: it cannot start here.
    while (op - offset < curOut) {
      const prev = pieces.pop();
      if (prev === undefined) return null;
      curIn = prev.inStart;
      curOut = prev.outStart;
    }
    op += len;
  }
  // A literal may have run past the input; the output must be exactly as declared.
  if (ip !== end || op !== declared) return null;
  pieces.push({ inStart: curIn, inEnd: end, outStart: curOut, outEnd: op });
  for (const p of pieces) if (p.inEnd - p.inStart > limits.maxIn || p.outEnd - p.outStart > limits.maxOut) return null;
  return pieces;
}
