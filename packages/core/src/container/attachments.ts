import { PlumblineError } from '../errors.js';
import { decodeCanonical } from '../cbor/decode.js';
import { encodeCanonical } from '../cbor/encode.js';
import type { CborLimits } from '../cbor/limits.js';

/**
 * Attachments of a container: signatures and bundles that are not covered by the header.
 * A map from a reverse-DNS key to bytes.
 *
 * @public
 */
export type Attachments = Readonly<Record<string, Uint8Array>>;

/**
 * Well-known attachment keys (see docs/formats.md "Attachments").
 *
 * @public
 */
export const ATTACHMENT_KEYS = Object.freeze({
  /** A Sigstore bundle (JSON, `application/vnd.dev.sigstore.bundle.v0.3+json`). */
  sigstoreBundle: 'dev.plumbline.sigstore.bundle',
  /** A DSSE envelope (JSON) signed with a key, e.g. an in-toto statement. */
  dsseEnvelope: 'dev.plumbline.dsse.envelope',
  /** An in-toto attestation bundle (JSON lines of DSSE envelopes). */
  intotoAttestations: 'dev.plumbline.intoto.attestations',
});

const KEY = /^[a-z][a-z0-9-]*(\.[A-Za-z0-9_-]+)+$/;

/** Default limits for attachments: 16 MiB in all, 256 keys. @public */
export const DEFAULT_ATTACHMENT_LIMITS = Object.freeze({
  maxAttachmentsBytes: 16 * 1024 * 1024,
  maxAttachments: 256,
});

/**
 * Checks an attachment key: reverse-DNS namespaced, at most 255 characters.
 *
 * @throws {@link PlumblineError} `PLB_ATTACHMENT_INVALID`.
 * @internal
 */
export function checkAttachmentKey(key: string): void {
  if (!KEY.test(key) || key.length > 255) {
    throw new PlumblineError(
      'PLB_ATTACHMENT_INVALID',
      `attachment key ${JSON.stringify(key.slice(0, 80))} is not reverse-DNS namespaced (e.g. dev.plumbline.sigstore.bundle)`,
      { details: { key: key.slice(0, 80) } },
    );
  }
}

/**
 * Encodes attachments as a deterministic CBOR map of text keys to byte strings. No attachments is
 * the empty map, the single byte `a0`.
 *
 * @example
 * ```ts
 * encodeAttachments({ 'dev.plumbline.sigstore.bundle': bundleBytes });
 * ```
 * @throws {@link PlumblineError} `PLB_ATTACHMENT_INVALID`.
 * @public
 */
export function encodeAttachments(attachments: Attachments = {}): Uint8Array {
  const map: Record<string, Uint8Array> = {};
  for (const [key, value] of Object.entries(attachments)) {
    checkAttachmentKey(key);
    if (!(value instanceof Uint8Array)) {
      throw new PlumblineError('PLB_ATTACHMENT_INVALID', `attachment ${key} is not bytes`, {
        details: { key },
      });
    }
    map[key] = value;
  }
  return encodeCanonical(map);
}

/**
 * Options of {@link decodeAttachments}.
 *
 * @public
 */
export interface AttachmentLimits {
  /** Largest attachments section in bytes. Default 16 MiB. */
  readonly maxAttachmentsBytes?: number;
  /** Largest number of attachments. Default 256. */
  readonly maxAttachments?: number;
}

/**
 * Strictly decodes an attachments section: a deterministic CBOR map of reverse-DNS text keys to
 * byte strings, within the limits.
 *
 * @example
 * ```ts
 * const attachments = decodeAttachments(new Uint8Array([0xa0])); // {}
 * ```
 * @throws {@link PlumblineError} `PLB_TRUNCATED`, `PLB_CBOR_*`, `PLB_LIMIT_*`, `PLB_ATTACHMENT_INVALID`.
 * @public
 */
export function decodeAttachments(
  bytes: Uint8Array,
  limits: AttachmentLimits & { readonly baseOffset?: number } = {},
): Attachments {
  const cborLimits: CborLimits = {
    maxBytes: limits.maxAttachmentsBytes ?? DEFAULT_ATTACHMENT_LIMITS.maxAttachmentsBytes,
    maxEntries: limits.maxAttachments ?? DEFAULT_ATTACHMENT_LIMITS.maxAttachments,
    maxStringLength: limits.maxAttachmentsBytes ?? DEFAULT_ATTACHMENT_LIMITS.maxAttachmentsBytes,
    maxDepth: 1,
  };
  const value = decodeCanonical(bytes, {
    ...cborLimits,
    allowBytes: true,
    ...(limits.baseOffset === undefined ? {} : { baseOffset: limits.baseOffset }),
  });
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    value instanceof Uint8Array
  ) {
    throw new PlumblineError('PLB_ATTACHMENT_INVALID', 'the attachments section is not a map', {
      details: { offset: limits.baseOffset ?? 0 },
    });
  }
  const out: Record<string, Uint8Array> = {};
  for (const [key, v] of Object.entries(value)) {
    checkAttachmentKey(key);
    if (!(v instanceof Uint8Array)) {
      throw new PlumblineError('PLB_ATTACHMENT_INVALID', `attachment ${key} is not a byte string`, {
        details: { key },
      });
    }
    out[key] = v;
  }
  return out;
}
