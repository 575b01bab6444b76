/**
 * RFC 9162 Merkle Tree Hash, inclusion proofs and consistency proofs.
 *
 * @packageDocumentation
 */
export { leafHash, nodeHash, emptyRoot } from './hashes.js';
export { rootFromLeafHashes, merkleRoot, MerkleTree } from './tree.js';
export {
  verifyInclusion,
  verifyInclusionOfInput,
  verifyConsistency,
  inclusionTreeSizes,
  type ProofLimits,
} from './verify.js';
