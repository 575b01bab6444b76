import { emptyRoot, leafHash, nodeHash, splitPoint } from '../merkle/hashes.js';
import { rootFromLeafHashes } from '../merkle/tree.js';

/**
 * The compact range of a Merkle tree's first `size` leaves: the roots of its maximal perfect
 * subtrees, left to right (at most log2(n) hashes). Appending a leaf and computing the RFC 9162
 * root are O(log n), so an append-only log never needs the whole tree in memory.
 *
 * @internal
 */
export class CompactRange {
  #size = 0;
  readonly #hashes: Uint8Array[] = [];
  readonly #sizes: number[] = [];

  /** Number of leaves covered. */
  get size(): number {
    return this.#size;
  }

  /** Appends a leaf hash. */
  append(hash: Uint8Array): void {
    let h = hash;
    let s = 1;
    while (this.#sizes.length > 0 && this.#sizes[this.#sizes.length - 1] === s) {
      h = nodeHash(this.#hashes.pop()!, h);
      this.#sizes.pop();
      s *= 2;
    }
    this.#hashes.push(h);
    this.#sizes.push(s);
    this.#size++;
  }

  /** Appends the leaf hash of `leafInput`. */
  appendInput(leafInput: Uint8Array): Uint8Array {
    const h = leafHash(leafInput);
    this.append(h);
    return h;
  }

  /** The RFC 9162 root over the leaves so far. */
  root(): Uint8Array {
    if (this.#hashes.length === 0) return emptyRoot();
    let r = this.#hashes[this.#hashes.length - 1]!;
    for (let i = this.#hashes.length - 2; i >= 0; i--) r = nodeHash(this.#hashes[i]!, r);
    return r;
  }

  /** A copy. */
  clone(): CompactRange {
    const c = new CompactRange();
    c.#size = this.#size;
    c.#hashes.push(...this.#hashes);
    c.#sizes.push(...this.#sizes);
    return c;
  }

  /** The perfect subtrees as `[start, end, hash]`. */
  nodes(): [number, number, Uint8Array][] {
    const out: [number, number, Uint8Array][] = [];
    let start = 0;
    for (let i = 0; i < this.#hashes.length; i++) {
      out.push([start, start + this.#sizes[i]!, this.#hashes[i]!]);
      start += this.#sizes[i]!;
    }
    return out;
  }
}

/**
 * The RFC 9162 §2.1.4.1 consistency proof from `old` (the compact range at the old size) to the
 * tree of `old` followed by `newLeaves`. Every node of such a proof is either a node of the old
 * compact range or a subtree of the new leaves, so nothing else is needed.
 *
 * @internal
 */
export function consistencyProofFromRange(
  old: CompactRange,
  newLeaves: readonly Uint8Array[],
): Uint8Array[] {
  const m = old.size;
  const n = m + newLeaves.length;
  if (m === 0 || m === n) return [];
  const known = new Map<string, Uint8Array>();
  for (const [s, e, h] of old.nodes()) known.set(`${s}:${e}`, h);
  const hashOf = (start: number, end: number): Uint8Array => {
    const k = known.get(`${start}:${end}`);
    if (k) return k;
    if (start >= m) return rootFromLeafHashes(newLeaves.slice(start - m, end - m));
    const split = splitPoint(end - start);
    return nodeHash(hashOf(start, start + split), hashOf(start + split, end));
  };
  const proof: Uint8Array[] = [];
  const sub = (mm: number, start: number, end: number, complete: boolean): void => {
    const size = end - start;
    if (mm === size) {
      if (!complete) proof.push(hashOf(start, end));
      return;
    }
    const k = splitPoint(size);
    if (mm <= k) {
      sub(mm, start, start + k, complete);
      proof.push(hashOf(start + k, end));
    } else {
      sub(mm - k, start + k, end, false);
      proof.push(hashOf(start, start + k));
    }
  };
  sub(m, 0, n, true);
  return proof;
}
