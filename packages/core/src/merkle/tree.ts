import { PlumblineError } from '../errors.js';
import { emptyRoot, leafHash, nodeHash, nodeHashInto, splitPoint } from './hashes.js';

/**
 * The Merkle Tree Hash (RFC 9162 §2.1.1) over already-computed leaf hashes (32 bytes each), in
 * O(n) time and one copy of the leaf hashes as extra memory.
 *
 * Pairing adjacent nodes level by level and carrying an odd last node up unchanged builds the
 * same left-balanced tree as RFC 9162's split at the largest power of two below `n`.
 *
 * @example
 * ```ts
 * import { leafHash, rootFromLeafHashes } from '@plumbline/core/merkle';
 * const root = rootFromLeafHashes([leafHash(new Uint8Array([1]))]);
 * ```
 * @throws {@link PlumblineError} `PLB_INVALID_DIGEST` when a leaf hash is not 32 bytes.
 * @public
 */
export function rootFromLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  const packed = new Uint8Array(leafHashes.length * 32);
  leafHashes.forEach((leaf, i) => {
    if (leaf.length !== 32) {
      throw new PlumblineError(
        'PLB_INVALID_DIGEST',
        `leaf hash ${i} has ${leaf.length} bytes, not 32`,
      );
    }
    packed.set(leaf, i * 32);
  });
  return rootOfPackedLeaves(packed);
}

/**
 * {@link rootFromLeafHashes} over leaf hashes stored one after another in `leaves` (32 bytes each),
 * computed level by level in place (`leaves` is overwritten) with no allocation per node.
 *
 * @internal
 */
export function rootOfPackedLeaves(leaves: Uint8Array): Uint8Array {
  if (leaves.length % 32 !== 0) {
    throw new PlumblineError('PLB_INVALID_DIGEST', 'packed leaf hashes are not 32 bytes each');
  }
  let count = leaves.length / 32;
  if (count === 0) return emptyRoot();
  while (count > 1) {
    const pairs = count >> 1;
    // Node i of the next level is written over leaves 2i and 2i+1 of this one, already read.
    for (let i = 0; i < pairs; i++) nodeHashInto(leaves, i * 64, leaves, i * 32);
    if (count % 2 === 1) leaves.copyWithin(pairs * 32, (count - 1) * 32, count * 32);
    count = pairs + (count % 2);
  }
  return leaves.slice(0, 32);
}

/**
 * The Merkle Tree Hash over leaf inputs (each leaf is hashed with the 0x00 prefix first).
 *
 * @public
 */
export function merkleRoot(leafInputs: readonly Uint8Array[]): Uint8Array {
  return rootFromLeafHashes(leafInputs.map(leafHash));
}

/**
 * A whole Merkle tree kept level by level, for producing many proofs: building it is O(n), every
 * inclusion proof is then O(log n), so proofs for all leaves cost O(n log n) in total.
 *
 * @example
 * ```ts
 * import { MerkleTree } from '@plumbline/core/merkle';
 * const tree = MerkleTree.fromLeafInputs([new Uint8Array([1]), new Uint8Array([2])]);
 * const proof = tree.inclusionProof(1);
 * ```
 * @public
 */
export class MerkleTree {
  /** `levels[0]` holds the leaf hashes; the last level holds the root. */
  readonly #levels: Uint8Array[][];

  private constructor(levels: Uint8Array[][]) {
    this.#levels = levels;
  }

  /** Builds the tree from leaf hashes. */
  static fromLeafHashes(leafHashes: readonly Uint8Array[]): MerkleTree {
    const levels: Uint8Array[][] = [leafHashes.slice()];
    let level = levels[0]!;
    while (level.length > 1) {
      const next: Uint8Array[] = new Array<Uint8Array>(Math.ceil(level.length / 2));
      for (let i = 0; i + 1 < level.length; i += 2)
        next[i >> 1] = nodeHash(level[i]!, level[i + 1]!);
      if (level.length % 2 === 1) next[next.length - 1] = level[level.length - 1]!;
      levels.push(next);
      level = next;
    }
    return new MerkleTree(levels);
  }

  /** Builds the tree from leaf inputs. */
  static fromLeafInputs(leafInputs: readonly Uint8Array[]): MerkleTree {
    return MerkleTree.fromLeafHashes(leafInputs.map(leafHash));
  }

  /** Number of leaves. */
  get size(): number {
    return this.#levels[0]!.length;
  }

  /** The RFC 9162 root (`SHA-256("")` for no leaves). */
  get root(): Uint8Array {
    if (this.size === 0) return emptyRoot();
    return this.#levels[this.#levels.length - 1]![0]!;
  }

  /** The leaf hash at `index`. */
  leafHash(index: number): Uint8Array {
    this.#checkIndex(index);
    return this.#levels[0]![index]!;
  }

  /**
   * The RFC 9162 §2.1.3.1 inclusion proof (audit path, leaf to root) for the leaf at `index`.
   *
   * @throws {@link PlumblineError} `PLB_PROOF_INDEX` when `index` is not a leaf of this tree.
   */
  inclusionProof(index: number): Uint8Array[] {
    this.#checkIndex(index);
    const path: Uint8Array[] = [];
    let i = index;
    for (let depth = 0; depth < this.#levels.length - 1; depth++) {
      const level = this.#levels[depth]!;
      const sibling = i ^ 1;
      if (sibling < level.length) path.push(level[sibling]!);
      i >>= 1;
    }
    return path;
  }

  /**
   * The RFC 9162 §2.1.4.1 consistency proof from the first `oldSize` leaves to the whole tree.
   *
   * @throws {@link PlumblineError} `PLB_PROOF_INDEX` when `oldSize` is larger than the tree.
   */
  consistencyProof(oldSize: number): Uint8Array[] {
    const n = this.size;
    if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize > n) {
      throw new PlumblineError('PLB_PROOF_INDEX', `old size ${oldSize} is not within 0..${n}`);
    }
    if (oldSize === 0 || oldSize === n) return [];
    const proof: Uint8Array[] = [];
    this.#subproof(oldSize, 0, n, true, proof);
    return proof;
  }

  /** Hash of the subtree over leaves [start, end), read from the levels where aligned. */
  rangeHash(start: number, end: number): Uint8Array {
    const size = end - start;
    if (size === 1) return this.#levels[0]![start]!;
    // [start, end) is a node of the level structure when start is aligned to the smallest power
    // of two >= size, which holds for every range RFC 9162's recursion produces.
    let level = 0;
    while (1 << level < size) level++;
    if (start % (1 << level) === 0 && level < this.#levels.length) {
      const node = this.#levels[level]![start >> level];
      const covered = Math.min(start + (1 << level), this.size);
      if (node && covered === end) return node;
    }
    const k = splitPoint(size);
    return nodeHash(this.rangeHash(start, start + k), this.rangeHash(start + k, end));
  }

  #subproof(m: number, start: number, end: number, complete: boolean, out: Uint8Array[]): void {
    const n = end - start;
    if (m === n) {
      if (!complete) out.push(this.rangeHash(start, end));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      this.#subproof(m, start, start + k, complete, out);
      out.push(this.rangeHash(start + k, end));
    } else {
      this.#subproof(m - k, start + k, end, false, out);
      out.push(this.rangeHash(start, start + k));
    }
  }

  #checkIndex(index: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) {
      throw new PlumblineError(
        'PLB_PROOF_INDEX',
        `leaf index ${index} is not within 0..${this.size - 1}`,
      );
    }
  }
}
