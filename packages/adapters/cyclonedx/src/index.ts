/**
 * `@plumbline/cyclonedx`: deterministic CycloneDX SBOMs (1.5, 1.6, 1.7; JSON and XML) for
 * Plumbline configuration artifacts, strict validation, and merging into image SBOMs.
 * Built on `@cyclonedx/cyclonedx-library`.
 *
 * @packageDocumentation
 */
export { toCycloneDX, type ToCycloneDXOptions } from './to-cyclonedx.js';
export { mergeInto, type MergeIntoOptions } from './merge.js';
export { validateBom, type ValidateBomOptions } from './validate.js';
export { writeFileAtomic } from './write.js';
export { inputBomRef, artifactBomRef, type BuildBomOptions, type SbomArtifact } from './build.js';
export { bomSerialNumber, PLUMBLINE_BOM_NAMESPACE } from './uuid.js';
export {
  parseSpecVersion,
  parseFormat,
  SUPPORTED_SPEC_VERSIONS,
  DEFAULT_SPEC_VERSION,
  type CycloneDXSpecVersion,
  type CycloneDXFormat,
} from './spec.js';
