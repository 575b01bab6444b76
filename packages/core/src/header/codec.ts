import { PlumblineError } from '../errors.js';
import { decodeCanonical } from '../cbor/decode.js';
import { encodeCanonical, sortKeysCanonical } from '../cbor/encode.js';
import type { CborLimits } from '../cbor/limits.js';
import { formatDigest, type DigestString } from '../hash/digest.js';
import { sha256 } from '../hash/select.js';
import { findHeaderShapeProblem } from './validate.js';
import { isHeaderTimestamp } from './timestamp.js';
import { checkHeaderStrings } from './strings.js';
import type { ProvenanceHeader } from './types.js';

/**
 * Limits for decoding a header, checked before allocating. Defaults: 16 MiB of header bytes,
 * 1,000,000 entries per array or map, 1 MiB per string, nesting depth 32, and a decoded value of
 * at most 6 times the header's size (plus 64 KiB). With these, reading a header peaks at less
 * than 10 times its size above the process's memory, which a 256 MiB container survives.
 *
 * @public
 */
export interface HeaderLimits extends CborLimits {
  /** Largest header, in bytes (the same as `maxBytes`; the smaller wins when both are given). */
  readonly maxHeaderBytes?: number;
}

/** Default header limits. @public */
export const DEFAULT_HEADER_LIMITS = Object.freeze({
  maxHeaderBytes: 16 * 1024 * 1024,
  maxEntries: 1_000_000,
  maxStringLength: 1024 * 1024,
  maxDepth: 32,
});

/** @internal */
export function headerCborLimits(limits: HeaderLimits = {}): CborLimits {
  const maxBytes = Math.min(
    limits.maxHeaderBytes ?? DEFAULT_HEADER_LIMITS.maxHeaderBytes,
    limits.maxBytes ?? Number.POSITIVE_INFINITY,
  );
  return {
    maxBytes,
    maxEntries: limits.maxEntries ?? DEFAULT_HEADER_LIMITS.maxEntries,
    maxStringLength: limits.maxStringLength ?? DEFAULT_HEADER_LIMITS.maxStringLength,
    maxDepth: limits.maxDepth ?? DEFAULT_HEADER_LIMITS.maxDepth,
    ...(limits.maxItems === undefined ? {} : { maxItems: limits.maxItems }),
  };
}

/**
 * Checks the `format` field first (another major version is `PLB_UNSUPPORTED_VERSION`), then the
 * schema (the rules of `headerSchema`, checked in place), and returns the same value typed as a
 * header, not a copy. Unknown fields are kept.
 *
 * @example
 * ```ts
 * const header = parseHeader(JSON.parse(text));
 * ```
 * @throws {@link PlumblineError} `PLB_UNSUPPORTED_VERSION`, `PLB_HEADER_INVALID`.
 * @public
 */
export function parseHeader(value: unknown): ProvenanceHeader {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PlumblineError('PLB_HEADER_INVALID', 'a header is a map');
  }
  const format = (value as { format?: unknown }).format;
  if (typeof format === 'string') {
    const major = /^plumbline\.header\/v(\d+)(?:\.\d+)?$/.exec(format)?.[1];
    if (major !== undefined && major !== '1') {
      throw new PlumblineError(
        'PLB_UNSUPPORTED_VERSION',
        `header format ${format} is another major version; this version reads plumbline.header/v1`,
        { details: { format } },
      );
    }
  }
  // The rules of headerSchema, checked in place (no copy of a large header, no zod in the bundle).
  const problem = findHeaderShapeProblem(value);
  if (problem !== undefined) {
    const { path, message } = problem;
    throw new PlumblineError(
      'PLB_HEADER_INVALID',
      `invalid header${path ? ` at ${path}` : ''}: ${message}`,
      { details: { path } },
    );
  }
  const header = value as unknown as ProvenanceHeader;
  if (!isHeaderTimestamp(header.build_timestamp)) {
    throw new PlumblineError(
      'PLB_HEADER_INVALID',
      'invalid header at build_timestamp: not a real date',
      { details: { path: 'build_timestamp' } },
    );
  }
  checkHeaderStrings(header);
  return header;
}

/**
 * Encodes a header as deterministic CBOR (RFC 8949 §4.2.1). The bytes depend only on the header's
 * content, never on property order, so equal headers encode to equal bytes on every machine.
 *
 * @example
 * ```ts
 * const bytes = encodeHeader(header);
 * const digest = headerDigest(bytes);
 * ```
 * @throws {@link PlumblineError} `PLB_HEADER_INVALID`, `PLB_UNSUPPORTED_VERSION`, `PLB_CBOR_UNSUPPORTED`.
 * @public
 */
export function encodeHeader(header: ProvenanceHeader): Uint8Array {
  parseHeader(header);
  return encodeCanonical(header as unknown as Record<string, unknown>);
}

/**
 * Strictly decodes a header from deterministic CBOR, enforcing the limits before allocating.
 * Refuses duplicate keys, non-canonical bytes, floats, tags, indefinite lengths and another
 * major `format`. Unknown fields of the same major version are kept.
 *
 * @example
 * ```ts
 * const header = decodeHeader(bytes, { maxHeaderBytes: 1 << 20 });
 * console.log(header.artifact_hash);
 * ```
 * @throws {@link PlumblineError} `PLB_TRUNCATED`, `PLB_CBOR_*`, `PLB_LIMIT_*`, `PLB_HEADER_INVALID`,
 *   `PLB_UNSUPPORTED_VERSION`.
 * @public
 */
export function decodeHeader(
  bytes: Uint8Array,
  limits: HeaderLimits & { readonly baseOffset?: number } = {},
): ProvenanceHeader {
  const value = decodeCanonical(bytes, {
    ...headerCborLimits(limits),
    allowBytes: false,
    ...(limits.baseOffset === undefined ? {} : { baseOffset: limits.baseOffset }),
  });
  return parseHeader(value);
}

/**
 * The header digest: `sha256:` + SHA-256 of the encoded header bytes.
 *
 * @example
 * ```ts
 * headerDigest(encodeHeader(header)); // 'sha256:…'
 * ```
 * @public
 */
export function headerDigest(bytes: Uint8Array): DigestString {
  return formatDigest(sha256(bytes));
}

/**
 * The header as JSON text with keys in their deterministic CBOR order (stable output for
 * `plumbline inspect --json` and golden files).
 *
 * @example
 * ```ts
 * console.log(headerToJson(header));
 * ```
 * @public
 */
export function headerToJson(header: ProvenanceHeader, indent = 2): string {
  const sortDeep = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sortDeep);
    if (value !== null && typeof value === 'object') {
      const keys = sortKeysCanonical(Object.keys(value));
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        Object.defineProperty(out, k, {
          value: sortDeep((value as Record<string, unknown>)[k]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    return value;
  };
  return JSON.stringify(sortDeep(header), null, indent);
}
