import type { HashBackend, Sha256Hasher } from './backend.js';
import { nobleHashBackend } from './noble.js';
import { nodeCryptoHashBackend } from './node-crypto.js';

let current: HashBackend | undefined;

/**
 * The SHA-256 backend in use: `node:crypto` when the runtime has it, else `@noble/hashes`,
 * unless {@link setHashBackend} chose another.
 *
 * @public
 */
export function getHashBackend(): HashBackend {
  current ??= nodeCryptoHashBackend() ?? nobleHashBackend;
  return current;
}

/**
 * Overrides the SHA-256 backend for the whole process (for example to force the portable path in
 * tests, or to plug in a hardware-backed one). Pass `undefined` to return to automatic selection.
 *
 * @example
 * ```ts
 * import { nobleHashBackend, setHashBackend } from '@plumbline/core/hash';
 * setHashBackend(nobleHashBackend);
 * ```
 * @public
 */
export function setHashBackend(backend: HashBackend | undefined): void {
  current = backend;
}

/**
 * One-shot SHA-256 with the selected backend.
 *
 * @public
 */
export function sha256(data: Uint8Array): Uint8Array {
  return getHashBackend().sha256(data);
}

/**
 * One-shot SHA-256 of `data` with the selected backend, written into `out` at `at` (32 bytes).
 *
 * @internal
 */
export function sha256Into(data: Uint8Array, out: Uint8Array, at: number): void {
  const backend = getHashBackend();
  if (backend.sha256Into === undefined) out.set(backend.sha256(data), at);
  else backend.sha256Into(data, out, at);
}

/**
 * Starts an incremental SHA-256 with the selected backend.
 *
 * @public
 */
export function createSha256(): Sha256Hasher {
  return getHashBackend().createSha256();
}
