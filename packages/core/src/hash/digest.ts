import { PlumblineError } from '../errors.js';
import { fromHex, toHex } from '../encoding/hex.js';

/**
 * A digest string: `sha256:` followed by 64 lowercase hex characters, as in OCI.
 *
 * @public
 */
export type DigestString = `sha256:${string}`;

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/**
 * Whether `value` is a well-formed digest string.
 *
 * @public
 */
export function isDigestString(value: unknown): value is DigestString {
  return typeof value === 'string' && DIGEST_RE.test(value);
}

/**
 * Formats 32 digest bytes as `sha256:<hex>`.
 *
 * @throws {@link PlumblineError} `PLB_INVALID_DIGEST` when the input is not 32 bytes.
 * @public
 */
export function formatDigest(bytes: Uint8Array): DigestString {
  if (bytes.length !== 32) {
    throw new PlumblineError(
      'PLB_INVALID_DIGEST',
      `a SHA-256 digest has 32 bytes, not ${bytes.length}`,
    );
  }
  return `sha256:${toHex(bytes)}`;
}

/**
 * Parses `sha256:<64 lowercase hex>` into its 32 bytes.
 *
 * @example
 * ```ts
 * parseDigest('sha256:' + '00'.repeat(32)).length; // 32
 * ```
 * @throws {@link PlumblineError} `PLB_INVALID_DIGEST` for any other text.
 * @public
 */
export function parseDigest(value: string): Uint8Array {
  if (!DIGEST_RE.test(value)) {
    throw new PlumblineError(
      'PLB_INVALID_DIGEST',
      'a digest is "sha256:" followed by 64 lowercase hex characters',
      { details: { value: value.length > 80 ? `${value.slice(0, 80)}…` : value } },
    );
  }
  return fromHex(value.slice(7));
}
