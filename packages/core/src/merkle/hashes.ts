import { createSha256, sha256, sha256Into } from '../hash/select.js';

const NODE_PREFIX = new Uint8Array([0x01]);

/**
 * RFC 9162 leaf hash: `SHA-256(0x00 || leafInput)`.
 *
 * @public
 */
export function leafHash(leafInput: Uint8Array): Uint8Array {
  // One contiguous buffer, reused, and a one-shot hash: cheaper than an incremental hasher per leaf.
  if (leafInput.length + 1 > leafScratch.length)
    leafScratch = new Uint8Array(leafInput.length * 2 + 1);
  leafScratch[0] = 0x00;
  leafScratch.set(leafInput, 1);
  return sha256(leafScratch.subarray(0, leafInput.length + 1));
}

/**
 * RFC 9162 interior node hash: `SHA-256(0x01 || left || right)`.
 *
 * @public
 */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== 32 || right.length !== 32) {
    return createSha256().update(NODE_PREFIX).update(left).update(right).digest();
  }
  NODE_INPUT.set(left, 1);
  NODE_INPUT.set(right, 33);
  return sha256(NODE_INPUT);
}

/**
 * {@link nodeHash} of the two 32-byte hashes at `from[at…at+64]`, written into `out` at `outAt`
 * (which may overlap them) without allocating.
 *
 * @internal
 */
export function nodeHashInto(from: Uint8Array, at: number, out: Uint8Array, outAt: number): void {
  for (let k = 0; k < 64; k++) NODE_INPUT[k + 1] = from[at + k]!;
  sha256Into(NODE_INPUT, out, outAt);
}

/** Scratch input of interior node hashes: 0x01 || left || right (hashing copies it out). */
const NODE_INPUT = new Uint8Array(65);
let leafScratch = new Uint8Array(4096);
NODE_INPUT[0] = 0x01;

/**
 * The root of the empty tree: `SHA-256("")`.
 *
 * @public
 */
export function emptyRoot(): Uint8Array {
  return sha256(new Uint8Array(0));
}

/** The largest power of two strictly smaller than `n` (n >= 2). @internal */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
