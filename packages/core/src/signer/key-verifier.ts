import { PlumblineError } from '../errors.js';
import {
  checkStatementSubject,
  parseStatement,
  type StatementLimits,
} from '../attest/statement.js';
import { DSSE_ENVELOPE_ATTACHMENT, SIGSTORE_BUNDLE_ATTACHMENT } from './attachments.js';
import { verifyDsseEnvelope, type DsseLimits } from './dsse.js';
import { createKeySignatureVerifier } from './key-signer.js';
import type { CryptoRuntime, KeyInput } from './keys.js';
import { firstValidSignature } from './first-valid.js';
import { parseSignatureDocument } from './signature-document.js';
import type { SignatureSubject, SignatureVerdict, SignatureVerifier, Verifier } from './types.js';
import type { SignatureSource } from './first-valid.js';

/**
 * Options for {@link createKeyVerifier}.
 *
 * @public
 */
export interface KeyVerifierOptions extends DsseLimits, StatementLimits {
  /** Trusted public keys (PEM, DER SPKI, JWK, KeyObject, CryptoKey) or ready {@link SignatureVerifier}s. */
  readonly publicKeys: readonly (KeyInput | SignatureVerifier)[];
  /** How many distinct trusted keys must have signed (default 1). */
  readonly threshold?: number;
  /** Attachment keys to look at, in order (default: the Sigstore bundle, then the bare DSSE envelope). */
  readonly attachmentKeys?: readonly string[];
  /** Crypto implementation for loading `publicKeys`; `auto` (default) prefers node:crypto and falls back to WebCrypto. */
  readonly runtime?: CryptoRuntime;
}

function isSignatureVerifier(value: unknown): value is SignatureVerifier {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as SignatureVerifier).verify === 'function' &&
    'algorithm' in value
  );
}

type Source = SignatureSource;

/**
 * Creates the key-based artifact {@link Verifier}: it finds a Sigstore bundle or DSSE envelope
 * in the artifact's attachments (`dev.plumbline.sigstore.bundle`, `dev.plumbline.dsse.envelope`)
 * or its detached bundle, checks the DSSE signature against the trusted keys, then checks that
 * the signed in-toto statement's subject is this artifact (`sha256` = artifact digest, and the
 * `artifact_hash` digest key, when present, equals the header's). Transparency-log entries and
 * certificates in a bundle are not checked here; use `@plumbline/sigstore` for those.
 *
 * @example
 * ```ts
 * import { createKeyVerifier } from '@plumbline/core/signer';
 * const verifier = await createKeyVerifier({ publicKeys: [await readFile('signing.pub.pem', 'utf8')] });
 * const verdict = await verifier.verify(subject);
 * if (!verdict.valid) console.error(verdict.code, verdict.reason);
 * ```
 * @throws {@link PlumblineError} `PLB_KEY_INVALID` / `PLB_KEY_UNSUPPORTED` for an unusable key,
 *   `PLB_VERIFIER_CONFIG` without keys or with an impossible threshold.
 * @public
 */
export async function createKeyVerifier(options: KeyVerifierOptions): Promise<Verifier> {
  if (options.publicKeys.length === 0) {
    throw new PlumblineError('PLB_VERIFIER_CONFIG', 'a key verifier needs at least one public key');
  }
  const threshold = options.threshold ?? 1;
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > options.publicKeys.length) {
    throw new PlumblineError(
      'PLB_VERIFIER_CONFIG',
      'threshold must be an integer between 1 and the number of keys',
      {
        details: { threshold, keys: options.publicKeys.length },
      },
    );
  }
  const verifiers: SignatureVerifier[] = [];
  for (const key of options.publicKeys) {
    verifiers.push(
      isSignatureVerifier(key)
        ? key
        : await createKeySignatureVerifier({
            publicKey: key,
            ...(options.runtime ? { runtime: options.runtime } : {}),
          }),
    );
  }
  const algorithms = [...new Set(verifiers.map((v) => v.algorithm))].join(',');
  const attachmentKeys = options.attachmentKeys ?? [
    SIGSTORE_BUNDLE_ATTACHMENT,
    DSSE_ENVELOPE_ATTACHMENT,
  ];

  async function check(
    bytes: Uint8Array,
    source: Source,
    subject: SignatureSubject,
    signal?: AbortSignal,
  ): Promise<SignatureVerdict> {
    const fail = (
      code: PlumblineError['code'],
      reason: string,
      extra: Partial<SignatureVerdict> = {},
    ): SignatureVerdict => ({
      present: true,
      valid: false,
      code,
      reason,
      source,
      ...extra,
    });
    let document;
    try {
      document = parseSignatureDocument(bytes, options);
    } catch (error) {
      if (PlumblineError.is(error)) return fail(error.code, error.message);
      throw error;
    }
    const result = await verifyDsseEnvelope(document.envelope, {
      ...options,
      verifiers,
      threshold,
      ...(signal ? { signal } : {}),
    });
    if (!result.valid) return fail(result.code, result.reason);
    let statement;
    try {
      statement = parseStatement(result.payload, options);
    } catch (error) {
      if (PlumblineError.is(error)) return fail(error.code, error.message);
      throw error;
    }
    const keyId = result.keyIds[0];
    const signer = keyId ? { keyId } : {};
    const mismatch = checkStatementSubject(statement, {
      artifactDigest: subject.artifactDigest,
      artifactHash: subject.artifactHash,
      headerDigest: subject.headerDigest,
    });
    if (mismatch)
      return fail(mismatch.code, mismatch.reason, {
        predicateType: statement.predicateType,
        signer,
      });
    return { present: true, valid: true, source, predicateType: statement.predicateType, signer };
  }

  return {
    name: `key:${algorithms}`,
    async verify(subject, verifyOptions = {}) {
      const signal = verifyOptions.signal;
      return await firstValidSignature(
        subject,
        attachmentKeys,
        (bytes, source) => check(bytes, source, subject, signal),
        signal,
      );
    },
  };
}
