import {
  diffManifests,
  parseManifest,
  type Manifest,
  type ManifestEntry,
} from '@plumbline/core/manifest';

/**
 * Limits of a {@link ManifestCatalog}. Every limit is finite.
 *
 * @internal
 */
export interface ManifestCatalogOptions {
  /** Most manifests kept; the least recently used one is dropped beyond it. Default 64. */
  readonly maxManifests?: number;
  /** Most bytes of one manifest document. Default 8 MiB. */
  readonly maxBytes?: number;
  /** Most entries of one manifest. Default 100,000. */
  readonly maxEntries?: number;
  /** Most entries of all the manifests together. Default 1,000,000. */
  readonly maxTotalEntries?: number;
}

/** One listed entry of a manifest diff. */
export interface DiffEntry {
  readonly path: string;
  readonly digest: string;
  readonly size: number;
}

/** One file whose content differs between what a node should run and what it runs. */
export interface DiffChange {
  readonly path: string;
  readonly desired: { readonly digest: string; readonly size: number };
  readonly reported: { readonly digest: string; readonly size: number };
}

/**
 * The per-file difference between the desired manifest and the one a node runs, as
 * `GET /v1/fleet/nodes/{id}/diff` answers it. Each list holds at most `limit` entries;
 * `truncated` says when one was cut.
 *
 * @internal
 */
export interface NodeManifestDiff {
  readonly node_id: string;
  readonly desired_hash: string;
  readonly reported_hash: string;
  /** Files the node runs that the desired artifact does not have. */
  readonly added: readonly DiffEntry[];
  /** Files of the desired artifact missing on the node. */
  readonly removed: readonly DiffEntry[];
  /** Files in both with different content. */
  readonly changed: readonly DiffChange[];
  readonly unchanged: number;
  readonly truncated: boolean;
}

/**
 * The manifests the control plane knows, by artifact hash (their Merkle root), held in memory
 * with a least-recently-used bound.
 *
 * @internal
 */
export interface ManifestCatalog {
  /**
   * Parses and verifies a manifest document (root recomputed) and keeps it.
   *
   * @throws {@link @plumbline/core!PlumblineError} as `parseManifest`.
   */
  add(document: Uint8Array): Manifest;
  /** The manifest of an artifact hash, if known. */
  get(hash: string): Manifest | undefined;
  /** Number of manifests kept. */
  size(): number;
  /** The artifact hashes of the manifests kept. */
  hashes(): string[];
  /** The most bytes one document may have. */
  readonly maxBytes: number;
}

/**
 * Creates an in-memory manifest catalog.
 *
 * @example
 * ```ts
 * const catalog = createManifestCatalog({ maxManifests: 16 });
 * catalog.add(await readFile('manifest.json'));
 * ```
 * @internal
 */
export function createManifestCatalog(options: ManifestCatalogOptions = {}): ManifestCatalog {
  const maxManifests = Math.max(1, options.maxManifests ?? 64);
  const maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
  const maxEntries = options.maxEntries ?? 100_000;
  const maxTotal = options.maxTotalEntries ?? 1_000_000;
  // Map iteration order is insertion order: re-inserting on use makes the first key the LRU one.
  const manifests = new Map<string, Manifest>();
  let total = 0;
  const evict = (): void => {
    while (manifests.size > maxManifests || (total > maxTotal && manifests.size > 1)) {
      const [oldest, manifest] = manifests.entries().next().value as [string, Manifest];
      manifests.delete(oldest);
      total -= manifest.entries.length;
    }
  };
  return {
    maxBytes,
    add(document) {
      const manifest = parseManifest(document, { maxBytes, maxEntries });
      const before = manifests.get(manifest.root);
      if (before !== undefined) {
        manifests.delete(manifest.root);
        total -= before.entries.length;
      }
      manifests.set(manifest.root, manifest);
      total += manifest.entries.length;
      evict();
      return manifest;
    },
    hashes: () => [...manifests.keys()],
    get(hash) {
      const manifest = manifests.get(hash);
      if (manifest !== undefined) {
        manifests.delete(hash);
        manifests.set(hash, manifest);
      }
      return manifest;
    },
    size: () => manifests.size,
  };
}

const entry = (e: ManifestEntry): DiffEntry => ({ path: e.path, digest: e.digest, size: e.size });

/**
 * The per-file diff from the desired manifest to the reported one, each list cut at `limit`.
 *
 * @example
 * ```ts
 * const diff = nodeManifestDiff('gw-1', desired, reported, 500);
 * ```
 * @internal
 */
export function nodeManifestDiff(
  nodeId: string,
  desired: Manifest,
  reported: Manifest,
  limit: number,
): NodeManifestDiff {
  const d = diffManifests(desired, reported);
  const truncated = d.added.length > limit || d.removed.length > limit || d.changed.length > limit;
  return {
    node_id: nodeId,
    desired_hash: desired.root,
    reported_hash: reported.root,
    added: d.added.slice(0, limit).map(entry),
    removed: d.removed.slice(0, limit).map(entry),
    changed: d.changed.slice(0, limit).map((c) => ({
      path: c.path,
      desired: c.before,
      reported: c.after,
    })),
    unchanged: d.unchanged,
    truncated,
  };
}
