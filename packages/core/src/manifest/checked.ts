import type { Manifest } from './types.js';

/**
 * Manifests this process built and checked itself (`buildManifest`, `manifestFromEntries`): paths
 * valid, entries sorted and unique, the root computed from the entries. They are frozen when
 * marked, so a marked manifest cannot have changed since; code that would otherwise check a
 * manifest again (recomputing its root) can skip the work for these.
 */
const checked = new WeakSet<object>();

/**
 * Freezes a manifest this process has just built and checked (its entries, each entry and the
 * manifest object) and remembers it as checked. Returns the same manifest.
 *
 * @internal
 */
export function markChecked<T extends Manifest>(manifest: T): T {
  for (const entry of manifest.entries) Object.freeze(entry);
  Object.freeze(manifest.entries);
  Object.freeze(manifest);
  checked.add(manifest);
  return manifest;
}

/**
 * Whether `manifest` was built and checked by this process (see {@link markChecked}): its root is
 * the root of its entries, and its entries are valid, sorted and unique.
 *
 * @internal
 */
export function isChecked(manifest: object): manifest is Manifest {
  return checked.has(manifest);
}
