import { PlumblineError } from '@plumbline/core';

/**
 * CycloneDX specification versions Plumbline writes. `@cyclonedx/cyclonedx-library` 10.3 models
 * 1.0 through 1.7; Plumbline needs 1.5 or later (the `data` component type).
 *
 * @public
 */
export type CycloneDXSpecVersion = '1.5' | '1.6' | '1.7';

/** The spec versions {@link toCycloneDX} accepts, oldest first. @public */
export const SUPPORTED_SPEC_VERSIONS: readonly CycloneDXSpecVersion[] = ['1.5', '1.6', '1.7'];

/** The default spec version. @public */
export const DEFAULT_SPEC_VERSION: CycloneDXSpecVersion = '1.6';

/**
 * Output formats.
 *
 * @public
 */
export type CycloneDXFormat = 'json' | 'xml';

/**
 * Checks a spec version string.
 *
 * @example
 * ```ts
 * parseSpecVersion('1.6'); // '1.6'
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_SBOM_SPEC_VERSION` for a version Plumbline does not write.
 * @public
 */
export function parseSpecVersion(value: string): CycloneDXSpecVersion {
  if ((SUPPORTED_SPEC_VERSIONS as readonly string[]).includes(value)) {
    return value as CycloneDXSpecVersion;
  }
  throw new PlumblineError(
    'PLB_SBOM_SPEC_VERSION',
    `CycloneDX spec version ${JSON.stringify(value)} is not supported (use ${SUPPORTED_SPEC_VERSIONS.join(', ')})`,
    { details: { specVersion: value, supported: SUPPORTED_SPEC_VERSIONS } },
  );
}

/**
 * Checks an output format string.
 *
 * @example
 * ```ts
 * parseFormat('xml'); // 'xml'
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_SBOM_FORMAT` for anything but `json` or `xml`.
 * @public
 */
export function parseFormat(value: string): CycloneDXFormat {
  if (value === 'json' || value === 'xml') return value;
  throw new PlumblineError(
    'PLB_SBOM_FORMAT',
    `SBOM format ${JSON.stringify(value)} is not json or xml`,
    {
      details: { format: value },
    },
  );
}
