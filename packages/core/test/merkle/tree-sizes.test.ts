import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MerkleTree, inclusionTreeSizes, verifyInclusion } from '@plumbline/core/merkle';

describe('inclusionTreeSizes', () => {
  it('gives 13 to 16 for entry 8 of 13 (the sizes a changed tree_size still verifies with)', () => {
    expect(inclusionTreeSizes(8, 13, 4)).toEqual({ min: 13, max: 16 });
    expect(inclusionTreeSizes(8, 17, 4)).toBeUndefined();
    expect(inclusionTreeSizes(0, 1, 0)).toEqual({ min: 1, max: 1 });
    expect(inclusionTreeSizes(-1, 1, 0)).toBeUndefined();
    expect(inclusionTreeSizes(0, 1, 65)).toBeUndefined();
  });

  it('is exactly the set of sizes the same proof verifies with (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.nat(), (n, pick) => {
        const tree = MerkleTree.fromLeafInputs(
          Array.from({ length: n }, (_, i) => new Uint8Array([i, 7])),
        );
        const index = pick % n;
        const path = tree.inclusionProof(index);
        const range = inclusionTreeSizes(index, n, path.length)!;
        for (let m = 1; m <= 2 * Math.max(range.max, 2) + 2; m++) {
          const ok = verifyInclusion({
            leafHash: tree.leafHash(index),
            index,
            treeSize: m,
            path,
            root: tree.root,
          });
          expect(ok).toBe(m >= range.min && m <= range.max);
        }
      }),
      { seed: 13, numRuns: 150 },
    );
  });
});
