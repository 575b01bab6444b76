import type { ProvenanceHeader } from '@plumbline/core/header';
import { buildBom, type BuildBomOptions } from './build.js';
import { serializeBom } from './serialize.js';
import {
  DEFAULT_SPEC_VERSION,
  parseFormat,
  parseSpecVersion,
  type CycloneDXFormat,
  type CycloneDXSpecVersion,
} from './spec.js';
import { validateBom } from './validate.js';

/**
 * Options for {@link toCycloneDX}.
 *
 * @public
 */
export interface ToCycloneDXOptions extends BuildBomOptions {
  /** `1.6` by default; `1.5` and `1.7` selectable. */
  readonly specVersion?: CycloneDXSpecVersion;
  /** `json` (default) or `xml`. */
  readonly format?: CycloneDXFormat;
  /** Validate the output strictly against the CycloneDX schema before returning it (default false). */
  readonly validate?: boolean;
  /** Indentation (spaces, default 2). */
  readonly space?: number;
  /** The `xmllint` executable for XML validation (see {@link ValidateBomOptions.xmllint}). */
  readonly xmllint?: string;
  /** Stops validation with `PLB_ABORTED`. */
  readonly signal?: AbortSignal;
}

/**
 * A CycloneDX SBOM for a configuration artifact: `metadata.component` is the artifact (type
 * `file`, with its SHA-256), one component per input (specs and config files as `data`, WASM
 * plugins as `file` with `mime-type: application/wasm`) with SHA-256 hashes and `plumbline:*`
 * properties, dependencies from the artifact to its inputs, external references to the VCS source
 * at the commit and to the build, and Plumbline in `metadata.tools`.
 *
 * Deterministic: bom-refs come from content, `serialNumber` is a UUIDv5 of the artifact hash,
 * `metadata.timestamp` is the header's `build_timestamp`, lists are sorted — the same artifact
 * always yields the same bytes.
 *
 * @example
 * ```ts
 * import { toCycloneDX } from '@plumbline/cyclonedx';
 * const json = await toCycloneDX(header, { artifact: { name: 'gateway.plb' }, validate: true });
 * const xml = await toCycloneDX(header, { format: 'xml', specVersion: '1.7' });
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_SBOM_SPEC_VERSION`, `PLB_SBOM_FORMAT`,
 *   `PLB_SBOM_HEADER_INVALID`, `PLB_SBOM_URL_SECRET`, `PLB_SBOM_LIMIT`, and with `validate`
 *   `PLB_SBOM_INVALID` or `PLB_SBOM_VALIDATOR_UNAVAILABLE`.
 * @public
 */
export async function toCycloneDX(
  header: ProvenanceHeader,
  options: ToCycloneDXOptions = {},
): Promise<string> {
  const specVersion = parseSpecVersion(options.specVersion ?? DEFAULT_SPEC_VERSION);
  const format = parseFormat(options.format ?? 'json');
  const built = buildBom(header, options);
  const text = serializeBom(built, format, specVersion, options.space ?? 2);
  if (options.validate === true) {
    await validateBom(text, {
      format,
      specVersion,
      ...(options.xmllint === undefined ? {} : { xmllint: options.xmllint }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }
  return text;
}
