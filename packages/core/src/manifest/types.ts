import type { DigestString } from '../hash/digest.js';

/**
 * What an input is to the gateway. Metadata only: it is not hashed.
 *
 * @public
 */
export type InputRole = 'spec' | 'config' | 'plugin' | 'other';

/**
 * One input file of a configuration.
 *
 * @public
 */
export interface ManifestEntry {
  /** Relative, `/`-separated, NFC path (see docs/formats.md "Entries"). */
  readonly path: string;
  /** Size in bytes. */
  readonly size: number;
  /** SHA-256 of the exact bytes. */
  readonly digest: DigestString;
  /** What the input is (not hashed). */
  readonly role?: InputRole;
  /** Media type such as `application/wasm` (not hashed). */
  readonly media_type?: string;
}

/**
 * A manifest document: the sorted entries and their RFC 9162 root (`artifact_hash`).
 *
 * @public
 */
export interface Manifest {
  /** The document format identifier, {@link MANIFEST_FORMAT}. */
  readonly format: 'plumbline.manifest/v1';
  /** The hash algorithm of every digest and of the tree: always `sha256`. */
  readonly hash_alg: 'sha256';
  /** The RFC 9162 Merkle root over `entries` (the configuration's `artifact_hash`), as a digest string. */
  readonly root: DigestString;
  /** The input files, sorted by the UTF-8 bytes of their paths. */
  readonly entries: readonly ManifestEntry[];
}

/** The manifest document format identifier. @public */
export const MANIFEST_FORMAT = 'plumbline.manifest/v1';
