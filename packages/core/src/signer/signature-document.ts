import { PlumblineError } from '../errors.js';
import {
  DSSE_DEFAULTS,
  parseBoundedJson,
  toDsseEnvelope,
  type DsseEnvelope,
  type DsseLimits,
} from './dsse.js';

/** Media types of Sigstore bundles the SDK reads. @public */
export const SIGSTORE_BUNDLE_MEDIA_TYPES = [
  'application/vnd.dev.sigstore.bundle.v0.3+json',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
] as const;

/**
 * A signature document as found next to or inside an artifact: a Sigstore bundle holding a DSSE
 * envelope, or a bare DSSE envelope.
 *
 * @public
 */
export interface SignatureDocument {
  /** `sigstore-bundle` for a Sigstore bundle, `dsse-envelope` for a bare DSSE envelope. */
  readonly kind: 'sigstore-bundle' | 'dsse-envelope';
  /** The DSSE envelope: the bundle's `dsseEnvelope`, or the document itself. */
  readonly envelope: DsseEnvelope;
  /** The whole bundle JSON value, for `kind: 'sigstore-bundle'`. */
  readonly bundle?: Readonly<Record<string, unknown>>;
}

/**
 * Reads a Sigstore bundle or a bare DSSE envelope from JSON bytes, with size limits checked first.
 *
 * @example
 * ```ts
 * const doc = parseSignatureDocument(await readFile('config.plb.sigstore.json'));
 * doc.envelope.payloadType; // 'application/vnd.in-toto+json'
 * ```
 * @throws {@link PlumblineError} `PLB_BUNDLE_MALFORMED` for a bundle without a DSSE envelope or
 *   with an unknown media type, `PLB_DSSE_MALFORMED` / `PLB_DSSE_TOO_LARGE` for the envelope.
 * @public
 */
export function parseSignatureDocument(
  bytes: Uint8Array,
  limits: DsseLimits = {},
): SignatureDocument {
  const value = parseBoundedJson(bytes, {
    maxBytes: limits.maxEnvelopeBytes ?? DSSE_DEFAULTS.maxEnvelopeBytes,
    limitName: 'maxBytes',
    what: 'the signature document',
    malformedCode: 'PLB_BUNDLE_MALFORMED',
  });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PlumblineError('PLB_BUNDLE_MALFORMED', 'the signature document is not a JSON object');
  }
  const record = value as Record<string, unknown>;
  if (typeof record.mediaType === 'string') {
    if (!(SIGSTORE_BUNDLE_MEDIA_TYPES as readonly string[]).includes(record.mediaType)) {
      throw new PlumblineError(
        'PLB_BUNDLE_MALFORMED',
        `unsupported bundle media type "${record.mediaType.slice(0, 100)}"`,
      );
    }
    if (record.dsseEnvelope === undefined) {
      throw new PlumblineError(
        'PLB_BUNDLE_MALFORMED',
        'the Sigstore bundle holds no DSSE envelope (message-signature bundles do not name an artifact statement)',
      );
    }
    return {
      kind: 'sigstore-bundle',
      envelope: toDsseEnvelope(record.dsseEnvelope, limits),
      bundle: record,
    };
  }
  return { kind: 'dsse-envelope', envelope: toDsseEnvelope(record, limits) };
}
