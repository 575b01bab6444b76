import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import { sha256, toHex } from '@plumbline/core/hash';
import {
  MerkleTree,
  emptyRoot,
  leafHash,
  merkleRoot,
  nodeHash,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
  verifyInclusionOfInput,
} from '@plumbline/core/merkle';
import { rootOfPackedLeaves } from '../../src/merkle/tree.js';

const MAX = 300;
const inputs = Array.from({ length: MAX }, (_, i) => new Uint8Array([i & 0xff, i >> 8, 0x5a]));
// Trees of every size, built once: trees[n] holds the first n leaves.
const trees = Array.from({ length: MAX + 1 }, (_, n) =>
  MerkleTree.fromLeafInputs(inputs.slice(0, n)),
);

/** RFC 9162 §2.1.1 written as literally as possible, as the reference. */
function referenceRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha256(new Uint8Array(0));
  if (leaves.length === 1) return leafHash(leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

function flip(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = bytes.slice();
  copy[(bit >> 3) % copy.length]! ^= 1 << (bit & 7);
  return copy;
}

describe('Merkle tree properties', () => {
  it('computes the RFC 9162 root for every size up to 300', () => {
    for (let n = 0; n <= MAX; n += n < 70 ? 1 : 23) {
      const expected = toHex(referenceRoot(inputs.slice(0, n)));
      expect(toHex(trees[n]!.root)).toBe(expected);
      expect(toHex(merkleRoot(inputs.slice(0, n)))).toBe(expected);
    }
    expect(toHex(emptyRoot())).toBe(toHex(trees[0]!.root));
    expect(toHex(rootFromLeafHashes([]))).toBe(toHex(emptyRoot()));
  });

  it('computes the same root from leaf hashes, and from them packed in one buffer', () => {
    for (let n = 0; n <= MAX; n += n < 70 ? 1 : 23) {
      const leaves = inputs.slice(0, n).map(leafHash);
      const expected = toHex(referenceRoot(inputs.slice(0, n)));
      expect(toHex(rootFromLeafHashes(leaves))).toBe(expected);
      const packed = new Uint8Array(n * 32);
      leaves.forEach((leaf, i) => packed.set(leaf, i * 32));
      expect(toHex(rootOfPackedLeaves(packed))).toBe(expected);
    }
    expect(() => rootOfPackedLeaves(new Uint8Array(33))).toThrow(/not 32 bytes each/);
  });

  it('refuses leaf hashes that are not 32 bytes', () => {
    const error = (() => {
      try {
        rootFromLeafHashes([leafHash(inputs[0]!), new Uint8Array(31)]);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(PlumblineError.is(error) && error.code).toBe('PLB_INVALID_DIGEST');
    expect((error as Error).message).toBe('leaf hash 1 has 31 bytes, not 32');
  });

  it('proves every leaf of every tree size up to 300', () => {
    for (let n = 1; n <= MAX; n++) {
      const tree = trees[n]!;
      const root = tree.root;
      for (let i = 0; i < n; i++) {
        const ok = verifyInclusionOfInput({
          leafInput: inputs[i]!,
          index: i,
          treeSize: n,
          path: tree.inclusionProof(i),
          root,
        });
        if (!ok) expect.fail(`leaf ${i} of ${n} does not verify`);
      }
    }
  });

  it('fails inclusion for any flipped bit in the proof, the leaf or the root', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: MAX })
          .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }))),
        fc.constantFrom('path', 'leaf', 'root'),
        fc.nat(),
        fc.nat(255),
        ([n, i], where, which, bit) => {
          const tree = trees[n]!;
          const proof = {
            leafHash: tree.leafHash(i),
            index: i,
            treeSize: n,
            path: tree.inclusionProof(i),
            root: tree.root,
          };
          expect(verifyInclusion(proof)).toBe(true);
          if (where === 'path') {
            if (proof.path.length === 0) return;
            const k = which % proof.path.length;
            const path = proof.path.map((p, j) => (j === k ? flip(p, bit) : p));
            expect(verifyInclusion({ ...proof, path })).toBe(false);
          } else if (where === 'leaf') {
            expect(verifyInclusion({ ...proof, leafHash: flip(proof.leafHash, bit) })).toBe(false);
          } else {
            expect(verifyInclusion({ ...proof, root: flip(proof.root, bit) })).toBe(false);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('fails inclusion for another index, another size or a truncated or extended path', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: MAX })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.integer({ min: 0, max: n - 1 }),
              fc.integer({ min: 0, max: n - 1 }),
            ),
          ),
        ([n, i, j]) => {
          const tree = trees[n]!;
          const base = {
            leafHash: tree.leafHash(i),
            index: i,
            treeSize: n,
            path: tree.inclusionProof(i),
            root: tree.root,
          };
          if (j !== i) expect(verifyInclusion({ ...base, index: j })).toBe(false);
          expect(verifyInclusion({ ...base, path: base.path.slice(1) })).toBe(false);
          expect(verifyInclusion({ ...base, path: [...base.path, base.root] })).toBe(false);
          expect(verifyInclusion({ ...base, index: n })).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('proves consistency for all m <= n <= 130', () => {
    for (let n = 0; n <= 130; n++) {
      const tree = trees[n]!;
      for (let m = 0; m <= n; m++) {
        const ok = verifyConsistency({
          oldSize: m,
          newSize: n,
          oldRoot: trees[m]!.root,
          newRoot: tree.root,
          path: tree.consistencyProof(m),
        });
        if (!ok) expect.fail(`consistency ${m} -> ${n} does not verify`);
      }
    }
  });

  it('fails consistency for any flipped bit, an empty path or an old size beyond the new', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: 130 })
          .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 1, max: n - 1 }))),
        fc.constantFrom('path', 'old', 'new'),
        fc.nat(),
        fc.nat(255),
        ([n, m], where, which, bit) => {
          const proof = {
            oldSize: m,
            newSize: n,
            oldRoot: trees[m]!.root,
            newRoot: trees[n]!.root,
            path: trees[n]!.consistencyProof(m),
          };
          expect(verifyConsistency(proof)).toBe(true);
          if (where === 'path') {
            const k = which % proof.path.length;
            const path = proof.path.map((p, j) => (j === k ? flip(p, bit) : p));
            expect(verifyConsistency({ ...proof, path })).toBe(false);
          } else if (where === 'old') {
            expect(verifyConsistency({ ...proof, oldRoot: flip(proof.oldRoot, bit) })).toBe(false);
          } else {
            expect(verifyConsistency({ ...proof, newRoot: flip(proof.newRoot, bit) })).toBe(false);
          }
          // (A proof cannot tell a leaf hash from a node hash, so the same path may also fit
          // other sizes with other roots; only impossible combinations are checked here.)
          expect(verifyConsistency({ ...proof, path: [] })).toBe(false);
          expect(verifyConsistency({ ...proof, oldSize: n + 1 })).toBe(false);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('handles the edge cases of consistency', () => {
    const r = trees[5]!.root;
    expect(verifyConsistency({ oldSize: 0, newSize: 5, oldRoot: r, newRoot: r, path: [] })).toBe(
      true,
    );
    expect(verifyConsistency({ oldSize: 0, newSize: 5, oldRoot: r, newRoot: r, path: [r] })).toBe(
      false,
    );
    expect(verifyConsistency({ oldSize: 5, newSize: 5, oldRoot: r, newRoot: r, path: [] })).toBe(
      true,
    );
    expect(
      verifyConsistency({ oldSize: 5, newSize: 5, oldRoot: r, newRoot: trees[4]!.root, path: [] }),
    ).toBe(false);
    expect(trees[5]!.consistencyProof(0)).toEqual([]);
    expect(trees[5]!.consistencyProof(5)).toEqual([]);
  });

  it('never throws on hostile proofs', () => {
    const hostile = fc.oneof(
      fc.anything(),
      fc.uint8Array({ maxLength: 40 }),
      fc.array(fc.uint8Array({ minLength: 31, maxLength: 33 }), { maxLength: 80 }),
      fc.double(),
      fc.integer(),
      fc.constantFrom(Number.NaN, -1, 2 ** 53, 2 ** 60, Infinity),
    );
    fc.assert(
      fc.property(hostile, hostile, hostile, hostile, hostile, (a, b, c, d, e) => {
        const inclusion = { leafHash: a, index: b, treeSize: c, path: d, root: e } as never;
        expect(typeof verifyInclusion(inclusion)).toBe('boolean');
        expect(
          typeof verifyInclusionOfInput({
            leafInput: a,
            index: b,
            treeSize: c,
            path: d,
            root: e,
          } as never),
        ).toBe('boolean');
        const consistency = { oldSize: a, newSize: b, oldRoot: c, newRoot: d, path: e } as never;
        expect(typeof verifyConsistency(consistency)).toBe('boolean');
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses oversized paths and trees before hashing', () => {
    const tree = trees[8]!;
    const proof = {
      leafHash: tree.leafHash(3),
      index: 3,
      treeSize: 8,
      path: tree.inclusionProof(3),
      root: tree.root,
    };
    expect(verifyInclusion(proof, { maxPathLength: 2 })).toBe(false);
    expect(verifyInclusion(proof, { maxTreeSize: 7 })).toBe(false);
    const long = Array.from({ length: 65 }, () => tree.root);
    expect(verifyInclusion({ ...proof, path: long })).toBe(false);
    expect(verifyInclusion({ ...proof, treeSize: 2 ** 49 })).toBe(false);
    expect(
      verifyConsistency({
        oldSize: 3,
        newSize: 8,
        oldRoot: trees[3]!.root,
        newRoot: tree.root,
        path: long,
      }),
    ).toBe(false);
    expect(verifyInclusionOfInput({ ...proof, leafInput: 'x' as never })).toBe(false);
  });

  it('throws a coded error for proofs of leaves outside the tree', () => {
    const tree = trees[4]!;
    for (const bad of [-1, 4, 1.5, Number.NaN]) {
      expect(() => tree.inclusionProof(bad)).toThrow(
        expect.objectContaining({ code: 'PLB_PROOF_INDEX' }),
      );
      expect(() => tree.leafHash(bad)).toThrow(PlumblineError);
    }
    expect(() => tree.consistencyProof(5)).toThrow(
      expect.objectContaining({ code: 'PLB_PROOF_INDEX' }),
    );
    expect(() => trees[0]!.inclusionProof(0)).toThrow(PlumblineError);
    expect(MerkleTree.fromLeafHashes([]).size).toBe(0);
  });

  it('computes range hashes that match roots of sub-arrays', () => {
    const tree = trees[13]!;
    for (let start = 0; start < 13; start++) {
      for (let end = start + 1; end <= 13; end++) {
        expect(toHex(tree.rangeHash(start, end))).toBe(
          toHex(referenceRoot(inputs.slice(start, end))),
        );
      }
    }
  });
});
