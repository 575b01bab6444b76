/**
 * Manifests: entries, path rules, and the Merkle root (`artifact_hash`).
 * Building a manifest from the file system lives in `@plumbline/core/node`.
 *
 * @packageDocumentation
 */
export { MANIFEST_FORMAT, type Manifest, type ManifestEntry, type InputRole } from './types.js';
export { validateManifestPath, caseFoldKey } from './path.js';
export {
  manifestFromEntries,
  manifestTree,
  leafInputOf,
  sortEntries,
  type ManifestFromEntriesOptions,
} from './from-entries.js';
export {
  parseManifest,
  manifestFromDocument,
  serializeManifest,
  manifestSchema,
  manifestEntrySchema,
  manifestJsonSchema,
  MANIFEST_SCHEMA_ID,
  DEFAULT_MANIFEST_MAX_BYTES,
  DEFAULT_MANIFEST_MAX_ENTRIES,
  MANIFEST_MAX_PATH_LENGTH,
  MANIFEST_MAX_MEDIA_TYPE_LENGTH,
  type ManifestParseOptions,
  type ManifestSerializeOptions,
} from './json.js';
export {
  diffManifests,
  type ManifestDiff,
  type ManifestChange,
  type ManifestEntryVersion,
} from './diff.js';
export {
  proveEntry,
  parseEntryProof,
  verifyEntryProof,
  entryProofSchema,
  MAX_AUDIT_PATH,
  type EntryProof,
  type VerifyEntryProofOptions,
} from './proof.js';
