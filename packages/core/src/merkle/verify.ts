import { bytesEqual } from '../encoding/hex.js';
import { leafHash, nodeHash } from './hashes.js';

/**
 * Limits for proof verification; hostile proofs longer than these are refused before any hashing.
 *
 * @public
 */
export interface ProofLimits {
  /** Largest accepted tree size. Default 2^48. */
  readonly maxTreeSize?: number;
  /** Longest accepted audit or consistency path. Default 64 (enough for any 2^63-leaf tree). */
  readonly maxPathLength?: number;
}

const DEFAULT_MAX_TREE = 2 ** 48;
const DEFAULT_MAX_PATH = 64;

function sane(size: number, limits: ProofLimits): boolean {
  return (
    Number.isSafeInteger(size) && size >= 0 && size <= (limits.maxTreeSize ?? DEFAULT_MAX_TREE)
  );
}

function hashes32(path: readonly Uint8Array[], limits: ProofLimits): boolean {
  if (!Array.isArray(path) || path.length > (limits.maxPathLength ?? DEFAULT_MAX_PATH))
    return false;
  return path.every((p) => p instanceof Uint8Array && p.length === 32);
}

/**
 * Verifies an RFC 9162 §2.1.3.2 inclusion proof, given the leaf hash. Never throws: a malformed or
 * hostile proof (wrong hash length, index outside the tree, path too long or too short) is `false`.
 *
 * @example
 * ```ts
 * import { MerkleTree, verifyInclusion } from '@plumbline/core/merkle';
 * const tree = MerkleTree.fromLeafInputs([new Uint8Array([1]), new Uint8Array([2])]);
 * verifyInclusion({ leafHash: tree.leafHash(0), index: 0, treeSize: 2, path: tree.inclusionProof(0), root: tree.root }); // true
 * ```
 * @public
 */
export function verifyInclusion(
  proof: {
    readonly leafHash: Uint8Array;
    readonly index: number;
    readonly treeSize: number;
    readonly path: readonly Uint8Array[];
    readonly root: Uint8Array;
  },
  limits: ProofLimits = {},
): boolean {
  const { index, treeSize, path, root } = proof;
  if (!sane(treeSize, limits) || !Number.isSafeInteger(index) || index < 0 || index >= treeSize) {
    return false;
  }
  if (!(proof.leafHash instanceof Uint8Array) || proof.leafHash.length !== 32) return false;
  if (!(root instanceof Uint8Array) || root.length !== 32 || !hashes32(path, limits)) return false;
  // Shifts use arithmetic division so trees beyond 2^31 leaves stay exact.
  let fn = index;
  let sn = treeSize - 1;
  let r = proof.leafHash;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesEqual(r, root);
}

/**
 * Verifies an inclusion proof from the leaf input (hashed with the 0x00 prefix first).
 *
 * @public
 */
export function verifyInclusionOfInput(
  proof: {
    readonly leafInput: Uint8Array;
    readonly index: number;
    readonly treeSize: number;
    readonly path: readonly Uint8Array[];
    readonly root: Uint8Array;
  },
  limits: ProofLimits = {},
): boolean {
  if (!(proof.leafInput instanceof Uint8Array)) return false;
  return verifyInclusion({ ...proof, leafHash: leafHash(proof.leafInput) }, limits);
}

/**
 * Verifies an RFC 9162 §2.1.4.2 consistency proof between two tree heads. Never throws.
 * Size 0 is a prefix of every tree (with an empty proof); equal sizes need an empty proof and
 * equal roots.
 *
 * @public
 */
export function verifyConsistency(
  proof: {
    readonly oldSize: number;
    readonly newSize: number;
    readonly oldRoot: Uint8Array;
    readonly newRoot: Uint8Array;
    readonly path: readonly Uint8Array[];
  },
  limits: ProofLimits = {},
): boolean {
  const { oldSize, newSize, oldRoot, newRoot, path } = proof;
  if (!sane(oldSize, limits) || !sane(newSize, limits) || oldSize > newSize) return false;
  if (!(oldRoot instanceof Uint8Array) || oldRoot.length !== 32) return false;
  if (!(newRoot instanceof Uint8Array) || newRoot.length !== 32 || !hashes32(path, limits))
    return false;
  if (oldSize === 0) return path.length === 0;
  if (oldSize === newSize) return path.length === 0 && bytesEqual(oldRoot, newRoot);
  if (path.length === 0) return false;
  const nodes: Uint8Array[] = [...path];
  if (isPowerOfTwo(oldSize)) nodes.unshift(oldRoot);
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = nodes[0]!;
  let sr = nodes[0]!;
  for (let i = 1; i < nodes.length; i++) {
    const c = nodes[i]!;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesEqual(fr, oldRoot) && bytesEqual(sr, newRoot);
}

function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

/** The left/right sequence the RFC 9162 verifier follows, or `null` when the path does not fit. */
function inclusionShape(index: number, treeSize: number, pathLength: number): string | null {
  let fn = index;
  let sn = treeSize - 1;
  let shape = '';
  for (let k = 0; k < pathLength; k++) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      shape += 'R';
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      shape += 'L';
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? shape : null;
}

/**
 * The tree sizes an inclusion proof fits: every size in `[min, max]` makes the same audit path
 * verify against the same root, so an inclusion proof alone proves the leaf's index but not the
 * tree's size. `undefined` when the path does not fit `treeSize`. Bind the size with a signed
 * checkpoint or a size from a trusted source.
 *
 * @example
 * ```ts
 * inclusionTreeSizes(8, 13, 4); // { min: 13, max: 16 }
 * ```
 * @public
 */
export function inclusionTreeSizes(
  index: number,
  treeSize: number,
  pathLength: number,
): { readonly min: number; readonly max: number } | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0)
    return undefined;
  if (index >= treeSize || !Number.isInteger(pathLength) || pathLength < 0 || pathLength > 64) {
    return undefined;
  }
  const shape = inclusionShape(index, treeSize, pathLength);
  if (shape === null) return undefined;
  // The sizes that fit are one contiguous run around treeSize (a property test checks it), so
  // each end is found by bisection.
  let lo = index + 1;
  let hi = treeSize;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (inclusionShape(index, mid, pathLength) === shape) hi = mid;
    else lo = mid + 1;
  }
  const min = lo;
  // Gallop up from treeSize to the first size that does not fit, then bisect.
  let good = treeSize;
  let step = 1;
  let bad = Number.NaN;
  while (Number.isNaN(bad)) {
    const next = treeSize + step;
    if (next > Number.MAX_SAFE_INTEGER / 2) break;
    if (inclusionShape(index, next, pathLength) === shape) good = next;
    else bad = next;
    step *= 2;
  }
  lo = good;
  hi = Number.isNaN(bad) ? good : bad - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (inclusionShape(index, mid, pathLength) === shape) lo = mid;
    else hi = mid - 1;
  }
  return { min, max: lo };
}
