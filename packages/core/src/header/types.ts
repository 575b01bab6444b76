import type { DigestString } from '../hash/digest.js';
import type { ManifestEntry } from '../manifest/types.js';

/**
 * A value the header can carry in `extensions` (and in unknown fields): JSON without
 * non-integer numbers. Deterministic CBOR has no floats and no tags, so neither does the header.
 *
 * @public
 */
export type HeaderValue =
  | null
  | boolean
  | number
  | string
  | readonly HeaderValue[]
  | { readonly [key: string]: HeaderValue };

/**
 * The tool that built an artifact.
 *
 * @public
 */
export interface BuilderInfo {
  /** The builder's identity, e.g. `@plumbline/cli` or a CI workflow URL. */
  readonly id: string;
  /** The builder's version. */
  readonly version: string;
}

/**
 * Where an artifact came from. `commit`, `source` and `ref` are optional: a build outside version
 * control has none, and a policy can require them ("commit present").
 *
 * @public
 */
export interface Provenance {
  /** Git object id (40 or 64 lowercase hex). */
  readonly commit?: string;
  /** Repository URL (without credentials) or `owner/repo`. */
  readonly source?: string;
  /** Git ref such as `refs/heads/main`. */
  readonly ref?: string;
  /** The tool that built the artifact. */
  readonly builder: BuilderInfo;
  /** A link to the build (CI job) that produced the artifact. */
  readonly build_url?: string;
}

/**
 * The compiled bytes the header describes.
 *
 * @public
 */
export interface PayloadInfo {
  /** SHA-256 of the payload bytes. */
  readonly digest: DigestString;
  /** Payload size in bytes. */
  readonly size: number;
  /** Media type of the payload, e.g. `application/octet-stream`. */
  readonly media_type: string;
}

/**
 * The header format identifiers this version reads: `plumbline.header/v1` and its minor
 * revisions (`plumbline.header/v1.N`), whose unknown fields readers keep.
 *
 * @public
 */
export type HeaderFormat = 'plumbline.header/v1' | `plumbline.header/v1.${number}`;

/**
 * The provenance header (`plumbline.header/v1`), see docs/formats.md "Provenance header".
 * Readers keep unknown fields of the same major version: a decoded header may carry more
 * properties than listed here, and encoding it again keeps them.
 *
 * @public
 */
export interface ProvenanceHeader {
  /** `plumbline.header/v1`. */
  readonly format: HeaderFormat;
  /** The manifest root of the inputs. */
  readonly artifact_hash: DigestString;
  /** `sha256`. */
  readonly hash_alg: 'sha256';
  /** RFC 3339 UTC with `Z`, whole seconds. */
  readonly build_timestamp: string;
  /** Where the artifact came from. */
  readonly provenance: Provenance;
  /** The manifest entries, sorted by the UTF-8 bytes of their path. */
  readonly inputs: readonly ManifestEntry[];
  /** The payload the header describes. */
  readonly payload: PayloadInfo;
  /** Reverse-DNS namespaced, gateway-specific fields. */
  readonly extensions: Readonly<Record<string, HeaderValue>>;
}

/** The header format identifier written by this version. @public */
export const HEADER_FORMAT = 'plumbline.header/v1';
