/**
 * What `plumbline manifest` needs, and nothing more: building a manifest from the file system and
 * writing it. This entry imports no schema library and no other Node-side module, so a process
 * that only builds manifests starts quickly. Not a public API: use `@plumbline/core/node` and
 * `@plumbline/core/manifest`.
 *
 * @internal
 * @packageDocumentation
 */
import { PlumblineError } from '../errors.js';
import { isChecked } from '../manifest/checked.js';
import type { ManifestSerializeOptions } from '../manifest/json.js';
import { manifestText } from '../manifest/text.js';
import type { Manifest } from '../manifest/types.js';

export { PlumblineError } from '../errors.js';
export { buildManifest, buildManifestRoot } from '../node/manifest-fs.js';

/**
 * Serializes a manifest that this process built and checked (by `buildManifest` or
 * `manifestFromEntries`), byte for byte as `serializeManifest` does, without loading the schema:
 * a checked manifest is frozen and already matches it.
 *
 * @throws {@link PlumblineError} `PLB_MANIFEST_INVALID` for any other manifest (check it with
 *   `serializeManifest` instead).
 * @internal
 */
export function serializeBuiltManifest(
  manifest: Manifest,
  options: ManifestSerializeOptions = {},
): string {
  if (!isChecked(manifest)) {
    throw new PlumblineError(
      'PLB_MANIFEST_INVALID',
      'only a manifest built and checked by this process can be serialized without the schema',
    );
  }
  return manifestText(manifest, options);
}
