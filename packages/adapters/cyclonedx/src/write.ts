/**
 * Writes a file atomically: the bytes go to a temporary file beside it, are flushed to disk, and
 * the temporary file is renamed over the target (core's `writeFileAtomic`, re-exported so SBOM
 * writers need no second import).
 *
 * @example
 * ```ts
 * await writeFileAtomic('sbom.cdx.json', await toCycloneDX(header));
 * ```
 * @public
 */
export { writeFileAtomic } from '@plumbline/core/node';
