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
  /** Relative, `/`-separated, NFC path (see DESIGN.md "Manifest and Merkle root"). */
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
  readonly format: 'plumbline.manifest/v1';
  readonly hash_alg: 'sha256';
  readonly root: DigestString;
  readonly entries: readonly ManifestEntry[];
}

/** The manifest document format identifier. @public */
export const MANIFEST_FORMAT = 'plumbline.manifest/v1';
