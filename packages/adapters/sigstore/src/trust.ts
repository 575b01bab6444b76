import { TrustedRoot } from '@sigstore/protobuf-specs';
import { limitOption, PlumblineError } from '@plumbline/core';

/** Media types of `trusted_root.json` documents the adapter reads. @public */
export const TRUSTED_ROOT_MEDIA_TYPE_PREFIX = 'application/vnd.dev.sigstore.trustedroot';

/**
 * Limits for reading a trusted root.
 *
 * @public
 */
export interface TrustedRootLimits {
  /** Largest `trusted_root.json` in bytes (default 4 MiB). */
  readonly maxTrustedRootBytes?: number;
}

/**
 * Reads a Sigstore `trusted_root.json` (the document `sigstore/root-signing` distributes, or one
 * written for a private deployment): certificate authorities, transparency logs, CT logs and
 * timestamp authorities.
 *
 * @example
 * ```ts
 * const root = parseTrustedRoot(await readFile('trusted_root.json'));
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_SIGSTORE_TRUST_ROOT` for a document that is too large, not
 *   JSON, of another media type or without any authority; `PLB_VERIFIER_CONFIG` for a
 *   `maxTrustedRootBytes` that is not a positive integer.
 * @public
 */
export function parseTrustedRoot(
  input: Uint8Array | string | object,
  limits: TrustedRootLimits = {},
): TrustedRoot {
  const maxBytes = limitOption(limits.maxTrustedRootBytes, {
    name: 'maxTrustedRootBytes',
    code: 'PLB_VERIFIER_CONFIG',
    fallback: 4 * 1024 * 1024,
  });
  let value: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const size = typeof input === 'string' ? input.length : input.byteLength;
    if (size > maxBytes) {
      throw new PlumblineError(
        'PLB_SIGSTORE_TRUST_ROOT',
        `the trusted root is larger than ${maxBytes} bytes`,
        {
          details: { size, maxBytes },
        },
      );
    }
    try {
      value = JSON.parse(
        typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input),
      );
    } catch (error) {
      throw new PlumblineError('PLB_SIGSTORE_TRUST_ROOT', 'the trusted root is not JSON', {
        cause: error,
      });
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PlumblineError('PLB_SIGSTORE_TRUST_ROOT', 'the trusted root is not a JSON object');
  }
  const mediaType = (value as { mediaType?: unknown }).mediaType;
  if (typeof mediaType !== 'string' || !mediaType.startsWith(TRUSTED_ROOT_MEDIA_TYPE_PREFIX)) {
    throw new PlumblineError(
      'PLB_SIGSTORE_TRUST_ROOT',
      'the document is not a Sigstore trusted root (mediaType)',
      {
        details: { mediaType: typeof mediaType === 'string' ? mediaType.slice(0, 100) : null },
      },
    );
  }
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(value);
  } catch (error) {
    throw new PlumblineError(
      'PLB_SIGSTORE_TRUST_ROOT',
      'the trusted root does not follow the Sigstore schema',
      {
        cause: error,
      },
    );
  }
  if (
    root.certificateAuthorities.length === 0 &&
    root.tlogs.length === 0 &&
    root.timestampAuthorities.length === 0
  ) {
    throw new PlumblineError(
      'PLB_SIGSTORE_TRUST_ROOT',
      'the trusted root names no certificate, log or timestamp authority',
    );
  }
  return root;
}

/** An empty trusted root, for key-only verification. @internal */
export function emptyTrustedRoot(): TrustedRoot {
  return TrustedRoot.fromJSON({
    mediaType: `${TRUSTED_ROOT_MEDIA_TYPE_PREFIX}+json;version=0.1`,
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  });
}
