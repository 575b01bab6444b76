import { compareUtf8 } from '../encoding/utf8.js';
import type { DigestString } from '../hash/digest.js';
import type { Manifest, ManifestEntry } from './types.js';

/**
 * One side of a changed entry.
 *
 * @public
 */
export interface ManifestEntryVersion {
  /** The entry's SHA-256 on this side, as a digest string (`sha256:<hex>`). */
  readonly digest: DigestString;
  /** The entry's size in bytes on this side. */
  readonly size: number;
}

/**
 * An entry present in both manifests with different content.
 *
 * @public
 */
export interface ManifestChange {
  /** The entry's path, the same in both manifests. */
  readonly path: string;
  /** The entry in the first manifest. */
  readonly before: ManifestEntryVersion;
  /** The entry in the second manifest. */
  readonly after: ManifestEntryVersion;
}

/**
 * The difference between two manifests. Every list is in manifest order (UTF-8 bytes of the path),
 * so equal inputs always give equal output.
 *
 * @public
 */
export interface ManifestDiff {
  /** Whether the two manifests have the same entries (and hence the same root). */
  readonly equal: boolean;
  /** Entries only in the second manifest. */
  readonly added: readonly ManifestEntry[];
  /** Entries only in the first manifest. */
  readonly removed: readonly ManifestEntry[];
  /** Entries in both whose digest or size differs. */
  readonly changed: readonly ManifestChange[];
  /** Number of entries with the same path, digest and size in both. */
  readonly unchanged: number;
}

/**
 * Compares two manifests entry by entry: what was added, removed and changed (with both digests),
 * and how many entries are unchanged. Metadata that is not hashed (`role`, `media_type`) does not
 * count as a change. O(n log n) at most (O(n) when the inputs are sorted, as manifests are).
 *
 * @example
 * ```ts
 * import { diffManifests } from '@plumbline/core/manifest';
 * const d = diffManifests(built, deployed);
 * for (const c of d.changed) console.log(c.path, c.before.digest, '->', c.after.digest);
 * ```
 * @public
 */
export function diffManifests(
  a: Pick<Manifest, 'entries'>,
  b: Pick<Manifest, 'entries'>,
): ManifestDiff {
  const left = sorted(a.entries);
  const right = sorted(b.entries);
  const added: ManifestEntry[] = [];
  const removed: ManifestEntry[] = [];
  const changed: ManifestChange[] = [];
  let unchanged = 0;
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    const x = left[i];
    const y = right[j];
    const order = x === undefined ? 1 : y === undefined ? -1 : compareUtf8(x.path, y.path);
    if (order < 0) {
      removed.push(x!);
      i++;
    } else if (order > 0) {
      added.push(y!);
      j++;
    } else {
      if (x!.digest === y!.digest && x!.size === y!.size) unchanged++;
      else {
        changed.push({
          path: x!.path,
          before: { digest: x!.digest, size: x!.size },
          after: { digest: y!.digest, size: y!.size },
        });
      }
      i++;
      j++;
    }
  }
  return {
    equal: added.length === 0 && removed.length === 0 && changed.length === 0,
    added,
    removed,
    changed,
    unchanged,
  };
}

function sorted(entries: readonly ManifestEntry[]): readonly ManifestEntry[] {
  for (let i = 1; i < entries.length; i++) {
    if (compareUtf8(entries[i - 1]!.path, entries[i]!.path) > 0) {
      return [...entries].sort((p, q) => compareUtf8(p.path, q.path));
    }
  }
  return entries;
}
