/**
 * An incremental SHA-256 computation.
 *
 * @public
 */
export interface Sha256Hasher {
  /** Feeds more bytes. */
  update(data: Uint8Array): Sha256Hasher;
  /** Finishes and returns the 32-byte digest. The hasher cannot be used afterwards. */
  digest(): Uint8Array;
}

/**
 * A source of SHA-256. `node:crypto` on Node (about an order of magnitude faster), `@noble/hashes`
 * wherever `node:crypto` is missing (browsers, edge runtimes). Both give the same bytes.
 *
 * @public
 */
export interface HashBackend {
  /** A short name for diagnostics: `node:crypto` or `@noble/hashes`. */
  readonly name: string;
  /** Starts an incremental hash. */
  createSha256(): Sha256Hasher;
  /** One-shot SHA-256 of `data`. */
  sha256(data: Uint8Array): Uint8Array;
  /**
   * One-shot SHA-256 of `data` written into `out` at `at` (32 bytes), for backends that can do it
   * without allocating a result per call (hashing many small inputs: leaves, tree nodes). Optional:
   * without it, `sha256` is called and its result copied.
   */
  sha256Into?(data: Uint8Array, out: Uint8Array, at: number): void;
}
