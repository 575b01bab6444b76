/**
 * SHA-256 with a fast `node:crypto` path and a portable `@noble/hashes` path, and digest strings.
 *
 * @packageDocumentation
 */
export type { HashBackend, Sha256Hasher } from './backend.js';
export { nobleHashBackend } from './noble.js';
export { nodeCryptoHashBackend } from './node-crypto.js';
export { getHashBackend, setHashBackend, sha256, createSha256 } from './select.js';
export { formatDigest, parseDigest, isDigestString, type DigestString } from './digest.js';
export type { ArtifactHash, ArtifactDigest, HeaderDigest } from './artifact-digests.js';
export { toHex, fromHex, bytesEqual, concatBytes } from '../encoding/hex.js';
export { utf8, decodeUtf8, compareUtf8, isWellFormed } from '../encoding/utf8.js';
