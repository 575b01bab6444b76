import { PlumblineError } from '../errors.js';
import { isDigestString, type DigestString } from '../hash/digest.js';
import { isChecked } from '../manifest/checked.js';
import { manifestFromEntries } from '../manifest/from-entries.js';
import type { Manifest } from '../manifest/types.js';
import { parseHeader } from './codec.js';
import { normalizeProvenance, type ProvenanceInput } from './provenance.js';
import { resolveBuildTimestamp } from './timestamp.js';
import { HEADER_FORMAT, type HeaderValue, type ProvenanceHeader } from './types.js';

/**
 * The payload as a caller describes it to {@link createHeader}.
 *
 * @public
 */
export interface PayloadInput {
  /** SHA-256 of the payload bytes. */
  readonly digest: DigestString;
  /** Payload size in bytes. */
  readonly size: number;
  /** Media type. Default `application/octet-stream`. */
  readonly media_type?: string | undefined;
}

/**
 * Options of {@link createHeader}.
 *
 * @public
 */
export interface CreateHeaderOptions {
  /** The inputs' manifest (`root` is checked against the entries when given). */
  readonly manifest: Pick<Manifest, 'entries'> & { readonly root?: DigestString | undefined };
  /** The payload the header describes. */
  readonly payload: PayloadInput;
  /** Where the artifact came from. */
  readonly provenance: ProvenanceInput;
  /** Reverse-DNS namespaced fields (`com.example.gateway.routes`), JSON values without floats. */
  readonly extensions?: Readonly<Record<string, HeaderValue>> | undefined;
  /** The build time when `SOURCE_DATE_EPOCH` is not set. Default: now. */
  readonly buildTimestamp?: Date | number | string | undefined;
  /**
   * `SOURCE_DATE_EPOCH` to honour (it wins over `buildTimestamp`). Omitted: read from the process
   * environment where there is one. `null`: ignore the environment.
   */
  readonly sourceDateEpoch?: string | null | undefined;
}

const EXTENSION_KEY = /^[a-z][a-z0-9-]*(\.[A-Za-z0-9_-]+)+$/;
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;.*)?$/;

function checkExtensionValue(value: unknown, path: string, depth: number): void {
  const fail = (why: string): never => {
    throw new PlumblineError('PLB_EXTENSION_INVALID', `extension ${path}: ${why}`, {
      details: { path },
    });
  };
  if (depth > 16) fail('nested deeper than 16');
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      fail('numbers must be safe integers (no floats in the header)');
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkExtensionValue(v, `${path}[${i}]`, depth + 1));
    return;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) checkExtensionValue(v, `${path}.${k}`, depth + 1);
    return;
  }
  fail(`a ${typeof value} cannot be stored (JSON values only)`);
}

/**
 * Builds a provenance header from a manifest, the payload's digest and size, and provenance.
 * Validates everything at build time (commit, source, ref, builder, extension keys and values,
 * the manifest's root) so invalid values are coded errors, never silently stored.
 * `build_timestamp` honours `SOURCE_DATE_EPOCH`.
 *
 * @example
 * ```ts
 * import { createHeader, encodeHeader } from '@plumbline/core/header';
 * const header = createHeader({
 *   manifest,
 *   payload: { digest: 'sha256:…', size: 1234, media_type: 'application/x-gateway-config' },
 *   provenance: { commit: 'f'.repeat(40), source: 'acme/gateway', builder: { id: 'acme-build', version: '2.1.0' } },
 *   extensions: { 'com.acme.gateway.routes': 42 },
 * });
 * const bytes = encodeHeader(header);
 * ```
 * @throws {@link PlumblineError} `PLB_PROVENANCE_INVALID`, `PLB_EXTENSION_INVALID`,
 *   `PLB_PAYLOAD_INVALID`, `PLB_ROOT_MISMATCH`, `PLB_SOURCE_DATE_EPOCH_INVALID`,
 *   `PLB_TIMESTAMP_INVALID`, and the manifest's path and digest errors.
 * @public
 */
export function createHeader(options: CreateHeaderOptions): ProvenanceHeader {
  // A manifest this process built and checked (buildManifest, manifestFromEntries) is used as is;
  // any other is checked here, its root recomputed from its entries.
  const manifest = isChecked(options.manifest)
    ? options.manifest
    : manifestFromEntries(options.manifest.entries, { maxEntries: Number.MAX_SAFE_INTEGER });
  if (options.manifest.root !== undefined && options.manifest.root !== manifest.root) {
    throw new PlumblineError(
      'PLB_ROOT_MISMATCH',
      `the manifest's root ${options.manifest.root} is not the root of its entries (${manifest.root})`,
      { details: { expected: manifest.root, given: options.manifest.root } },
    );
  }
  const { payload } = options;
  if (!isDigestString(payload.digest)) {
    throw new PlumblineError('PLB_PAYLOAD_INVALID', 'payload digest is not sha256:<64 hex>');
  }
  if (!Number.isSafeInteger(payload.size) || payload.size < 0) {
    throw new PlumblineError('PLB_PAYLOAD_INVALID', 'payload size is not a non-negative integer');
  }
  const mediaType = payload.media_type ?? 'application/octet-stream';
  if (!MEDIA_TYPE.test(mediaType) || mediaType.length > 255) {
    throw new PlumblineError('PLB_PAYLOAD_INVALID', 'payload media_type is not a media type');
  }
  const extensions: Record<string, HeaderValue> = {};
  for (const [key, value] of Object.entries(options.extensions ?? {})) {
    if (!EXTENSION_KEY.test(key) || key.length > 255) {
      throw new PlumblineError(
        'PLB_EXTENSION_INVALID',
        `extension key ${JSON.stringify(key.slice(0, 80))} is not reverse-DNS namespaced (e.g. com.example.gateway.routes)`,
        { details: { key: key.slice(0, 80) } },
      );
    }
    checkExtensionValue(value, key, 0);
    extensions[key] = value;
  }
  const header = {
    format: HEADER_FORMAT,
    artifact_hash: manifest.root,
    hash_alg: 'sha256',
    build_timestamp: resolveBuildTimestamp({
      buildTimestamp: options.buildTimestamp,
      sourceDateEpoch: options.sourceDateEpoch,
    }),
    provenance: normalizeProvenance(options.provenance),
    inputs: manifest.entries,
    payload: { digest: payload.digest, size: payload.size, media_type: mediaType },
    extensions,
  } satisfies ProvenanceHeader;
  return parseHeader(header);
}
