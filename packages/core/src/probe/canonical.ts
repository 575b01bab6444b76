import { PlumblineError } from '../errors.js';
import { formatDigest } from '../hash/digest.js';
import { sha256 } from '../hash/select.js';
import { decodeUtf8, utf8 } from '../encoding/utf8.js';
import { canonicalJson, parseJsonBounded, type JsonValue } from './jcs.js';
import type { SecretRedactor } from './redact.js';
import { normaliseConfigText, type ConfigTextDialect } from './text-config.js';
import { DEFAULT_PROBE_LIMITS, type CanonicalConfig, type CanonicalFormat } from './probe.js';

/**
 * Options of the canonicalize functions.
 *
 * @public
 */
export interface CanonicalizeOptions {
  /** Replaces secrets before the digest is taken. Default: nothing is redacted. */
  readonly redactor?: SecretRedactor;
  /** Largest input, in bytes, checked before decoding. Default 16 MiB. */
  readonly maxBytes?: number;
  /** Deepest JSON nesting. Default 256. */
  readonly maxDepth?: number;
}

/**
 * A {@link CanonicalConfig} of canonical bytes already written.
 *
 * @internal
 */
export function canonicalOf(format: CanonicalFormat, bytes: Uint8Array): CanonicalConfig {
  return { format, bytes, digest: formatDigest(sha256(bytes)) };
}

/** @internal */
export function checkSize(size: number, maxBytes: number): void {
  if (size > maxBytes) {
    throw new PlumblineError(
      'PLB_PROBE_TOO_LARGE',
      `the configuration is larger than the limit of ${maxBytes} bytes`,
      { details: { limit: maxBytes, size } },
    );
  }
}

function text(bytes: Uint8Array, options: CanonicalizeOptions): string {
  checkSize(bytes.length, options.maxBytes ?? DEFAULT_PROBE_LIMITS.maxBytes);
  try {
    return decodeUtf8(bytes);
  } catch (cause) {
    throw new PlumblineError('PLB_PROBE_MALFORMED', 'the configuration is not valid UTF-8', {
      cause,
    });
  }
}

/**
 * The RFC 8785 canonical form of a JSON value (secrets redacted when a redactor is given).
 *
 * @example
 * ```ts
 * canonicalizeJsonValue({ apps: {} }).digest; // 'sha256:…'
 * ```
 * @throws {@link PlumblineError} `PLB_PROBE_MALFORMED` for values outside I-JSON.
 * @public
 */
export function canonicalizeJsonValue(
  value: JsonValue,
  options: CanonicalizeOptions = {},
): CanonicalConfig {
  return canonicalOf('json', utf8(canonicalJson(value, options.redactor)));
}

/**
 * The RFC 8785 canonical form of JSON text, so that member order, whitespace and number spelling
 * do not change the digest.
 *
 * @example
 * ```ts
 * canonicalizeJson(new TextEncoder().encode('{ "b": 1, "a": 2 }')); // bytes {"a":2,"b":1}
 * ```
 * @throws {@link PlumblineError} `PLB_PROBE_TOO_LARGE` over `maxBytes`; `PLB_PROBE_MALFORMED` for
 *   text that is not UTF-8 JSON or nests deeper than `maxDepth`.
 * @public
 */
export function canonicalizeJson(
  bytes: Uint8Array,
  options: CanonicalizeOptions = {},
): CanonicalConfig {
  const value = parseJsonBounded(
    text(bytes, options),
    options.maxDepth ?? DEFAULT_PROBE_LIMITS.maxDepth,
  );
  return canonicalizeJsonValue(value, options);
}

/**
 * The normalised form of NGINX or HAProxy configuration text (see {@link normaliseConfigText}).
 *
 * @example
 * ```ts
 * canonicalizeText(new TextEncoder().encode('global\n  maxconn 100 # x\n'), 'haproxy');
 * ```
 * @throws {@link PlumblineError} `PLB_PROBE_TOO_LARGE` over `maxBytes`; `PLB_PROBE_MALFORMED` for
 *   text that is not UTF-8 or does not tokenize.
 * @public
 */
export function canonicalizeText(
  bytes: Uint8Array,
  dialect: ConfigTextDialect,
  options: CanonicalizeOptions = {},
): CanonicalConfig {
  return canonicalOf(
    'text',
    utf8(normaliseConfigText(text(bytes, options), dialect, options.redactor)),
  );
}

/**
 * The bytes as given, for configurations with no known canonical form (no redaction is possible).
 *
 * @example
 * ```ts
 * canonicalizeBytes(new Uint8Array([1, 2])).format; // 'bytes'
 * ```
 * @throws {@link PlumblineError} `PLB_PROBE_TOO_LARGE` over `maxBytes`.
 * @public
 */
export function canonicalizeBytes(
  bytes: Uint8Array,
  options: CanonicalizeOptions = {},
): CanonicalConfig {
  checkSize(bytes.length, options.maxBytes ?? DEFAULT_PROBE_LIMITS.maxBytes);
  return canonicalOf('bytes', bytes);
}
