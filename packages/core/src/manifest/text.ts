import type { Manifest } from './types.js';
import type { ManifestSerializeOptions } from './json.js';

/**
 * The JSON text of a manifest with the fixed key order of `serializeManifest`, without checking
 * the manifest against the schema (callers check it first, or hold a manifest this process built
 * and froze). No schema library is loaded by this module.
 *
 * @internal
 */
export function manifestText(manifest: Manifest, options: ManifestSerializeOptions = {}): string {
  const document = {
    format: manifest.format,
    hash_alg: manifest.hash_alg,
    root: manifest.root,
    entries: manifest.entries.map((e) => ({
      path: e.path,
      size: e.size,
      digest: e.digest,
      ...(e.role === undefined ? {} : { role: e.role }),
      ...(e.media_type === undefined ? {} : { media_type: e.media_type }),
    })),
  };
  return options.indent === 0 ? JSON.stringify(document) : `${JSON.stringify(document, null, 2)}\n`;
}
