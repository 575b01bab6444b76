import { PlumblineError } from '../errors.js';
import { formatDigest, isDigestString, parseDigest } from '../hash/digest.js';
import { compareUtf8, utf8 } from '../encoding/utf8.js';
import { concatBytes } from '../encoding/hex.js';
import { leafHash, rootFromLeafHashes, MerkleTree } from '../merkle/index.js';
import { markChecked } from './checked.js';
import { caseFoldKey, validateManifestPath } from './path.js';
import { MANIFEST_FORMAT, type Manifest, type ManifestEntry } from './types.js';

/**
 * Options for {@link manifestFromEntries}.
 *
 * @public
 */
export interface ManifestFromEntriesOptions {
  /** `'error'` (default) refuses two paths that differ only by case; `'allow'` keeps both. */
  readonly caseCollisions?: 'error' | 'allow';
  /** Largest number of entries accepted. Default 1,000,000. */
  readonly maxEntries?: number;
}

/**
 * The leaf input of an entry: the 32 raw digest bytes followed by the UTF-8 bytes of `path`.
 *
 * @public
 */
export function leafInputOf(entry: Pick<ManifestEntry, 'path' | 'digest'>): Uint8Array {
  return concatBytes(parseDigest(entry.digest), utf8(entry.path));
}

/**
 * Sorts entries by the UTF-8 bytes of their path (a new array).
 *
 * @public
 */
export function sortEntries<T extends Pick<ManifestEntry, 'path'>>(entries: readonly T[]): T[] {
  return [...entries].sort((a, b) => compareUtf8(a.path, b.path));
}

/**
 * Builds a manifest from entries that already carry digests (no file system): validates every
 * path, refuses duplicates and (by default) case collisions, sorts, and computes the root.
 *
 * @example
 * ```ts
 * import { manifestFromEntries } from '@plumbline/core/manifest';
 * const manifest = manifestFromEntries([
 *   { path: 'specs/users.yaml', size: 3, digest: `sha256:${'ab'.repeat(32)}`, role: 'spec' },
 * ]);
 * console.log(manifest.root);
 * ```
 * @throws {@link PlumblineError} `PLB_PATH_INVALID`, `PLB_PATH_ESCAPE`, `PLB_PATH_DUPLICATE`,
 *   `PLB_PATH_CASE_COLLISION`, `PLB_INVALID_DIGEST`, `PLB_INVALID_SIZE`, `PLB_LIMIT_ENTRIES`.
 * @public
 */
export function manifestFromEntries(
  entries: readonly ManifestEntry[],
  options: ManifestFromEntriesOptions = {},
): Manifest {
  const maxEntries = options.maxEntries ?? 1_000_000;
  if (entries.length > maxEntries) {
    throw new PlumblineError(
      'PLB_LIMIT_ENTRIES',
      `${entries.length} entries exceed the limit of ${maxEntries}`,
      {
        details: { count: entries.length, limit: maxEntries },
      },
    );
  }
  for (const entry of entries) {
    validateManifestPath(entry.path);
    if (!isDigestString(entry.digest)) {
      throw new PlumblineError(
        'PLB_INVALID_DIGEST',
        `entry ${JSON.stringify(entry.path)} has an invalid digest`,
        {
          details: { path: entry.path },
        },
      );
    }
    if (!Number.isSafeInteger(entry.size) || entry.size < 0) {
      throw new PlumblineError(
        'PLB_INVALID_SIZE',
        `entry ${JSON.stringify(entry.path)} has an invalid size`,
        {
          details: { path: entry.path },
        },
      );
    }
  }
  const sorted = sortEntries(entries).map(normalizeEntry);
  const folded = new Map<string, string>();
  for (let i = 0; i < sorted.length; i++) {
    const path = sorted[i]!.path;
    if (i > 0 && sorted[i - 1]!.path === path) {
      throw new PlumblineError(
        'PLB_PATH_DUPLICATE',
        `path ${JSON.stringify(path)} is given twice`,
        {
          details: { path },
        },
      );
    }
    if (options.caseCollisions !== 'allow') {
      const key = caseFoldKey(path);
      const other = folded.get(key);
      if (other !== undefined) {
        throw new PlumblineError(
          'PLB_PATH_CASE_COLLISION',
          `paths ${JSON.stringify(other)} and ${JSON.stringify(path)} differ only by case`,
          { details: { path, other } },
        );
      }
      folded.set(key, path);
    }
  }
  return markChecked({
    format: MANIFEST_FORMAT,
    hash_alg: 'sha256',
    root: formatDigest(rootFromLeafHashes(sorted.map((e) => leafHash(leafInputOf(e))))),
    entries: sorted,
  });
}

/**
 * A Merkle tree over a manifest's entries (in manifest order), for inclusion proofs.
 *
 * @public
 */
export function manifestTree(manifest: Pick<Manifest, 'entries'>): MerkleTree {
  return MerkleTree.fromLeafInputs(manifest.entries.map(leafInputOf));
}

function normalizeEntry(entry: ManifestEntry): ManifestEntry {
  // A fresh object with a fixed key order and no stray fields.
  return {
    path: entry.path,
    size: entry.size,
    digest: entry.digest,
    ...(entry.role === undefined ? {} : { role: entry.role }),
    ...(entry.media_type === undefined ? {} : { media_type: entry.media_type }),
  };
}
