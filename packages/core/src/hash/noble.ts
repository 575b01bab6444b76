import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import type { HashBackend, Sha256Hasher } from './backend.js';

/**
 * The portable SHA-256 backend, on `@noble/hashes` (pure JavaScript, runs anywhere).
 *
 * @public
 */
export const nobleHashBackend: HashBackend = {
  name: '@noble/hashes',
  createSha256(): Sha256Hasher {
    const inner = nobleSha256.create();
    const hasher: Sha256Hasher = {
      update(data) {
        inner.update(data);
        return hasher;
      },
      digest() {
        return inner.digest();
      },
    };
    return hasher;
  },
  sha256(data) {
    return nobleSha256(data);
  },
};
