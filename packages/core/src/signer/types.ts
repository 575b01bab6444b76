import type { PlumblineErrorCode } from '../errors.js';
import type { DigestString } from '../hash/digest.js';

/**
 * Signature algorithms the SDK ships implementations for. Custom signers may name others.
 *
 * @public
 */
export type SignatureAlgorithm = 'ed25519' | 'ecdsa-p256-sha256';

/**
 * Signs bytes. Implement it over a KMS, an HSM or a local key; the SDK ships key-based ones.
 *
 * @public
 */
export interface Signer {
  /** The algorithm, such as `ecdsa-p256-sha256` (DER signatures) or `ed25519`. */
  readonly algorithm: SignatureAlgorithm | (string & {});
  /** A key id that verifiers can use to pick the key (for DSSE `keyid`). */
  readonly keyId?: string;
  /** Signs `data` and returns the signature bytes. */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/**
 * Checks a signature over bytes with one key.
 *
 * @public
 */
export interface SignatureVerifier {
  /** The algorithm, such as `ecdsa-p256-sha256` or `ed25519`. */
  readonly algorithm: SignatureAlgorithm | (string & {});
  /** The id of the key it checks with, matched against a DSSE signature's `keyid`; absent when unknown. */
  readonly keyId?: string;
  /** `true` when `signature` is valid for `data`. Never throws on a malformed signature. */
  verify(data: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

/**
 * What an artifact-level {@link Verifier} is asked to check: the artifact's identity and whatever
 * signatures travel with it (container attachments, a detached bundle).
 *
 * @public
 */
export interface SignatureSubject {
  /** SHA-256 of the container with an empty attachments section (the signed subject). */
  readonly artifactDigest: DigestString;
  /** The configuration's manifest root. */
  readonly artifactHash: DigestString;
  /** SHA-256 of the encoded header. */
  readonly headerDigest: DigestString;
  /** Container attachments by key. */
  readonly attachments: Readonly<Record<string, Uint8Array>>;
  /** A detached bundle (for example the bytes of `<artifact>.sigstore.json`), when one was found. */
  readonly detached?: Uint8Array;
}

/**
 * The outcome of checking an artifact's signatures.
 *
 * @public
 */
export interface SignatureVerdict {
  /** Whether any signature was present at all. */
  readonly present: boolean;
  /** Whether a signature was present and valid under the verifier's policy. */
  readonly valid: boolean;
  /** Why it is not valid (no secrets). */
  readonly reason?: string;
  /** The stable code of the failure, such as `PLB_SIGNATURE_INVALID` or `PLB_SIGNATURE_MISSING`. */
  readonly code?: PlumblineErrorCode;
  /** Where the checked signature came from: a container attachment (by key) or a detached bundle. */
  readonly source?:
    { readonly kind: 'attachment'; readonly key: string } | { readonly kind: 'detached' };
  /** The in-toto predicate type of the signed statement, when one was read. */
  readonly predicateType?: string;
  /** Who signed, as far as the verifier can tell. */
  readonly signer?: {
    readonly keyId?: string;
    readonly identity?: string;
    readonly issuer?: string;
  };
}

/**
 * Checks an artifact's signatures. `verifyOnLoad` calls it when a policy requires a signature;
 * core ships a key-based one, `@plumbline/sigstore` a Sigstore one.
 *
 * @public
 */
export interface Verifier {
  /** A name for reports, such as `key:ecdsa-p256` or `sigstore`. */
  readonly name: string;
  /**
   * Checks the subject's signatures. Resolves to a verdict (`present: false` when there is none);
   * rejects only for misuse or an aborted signal, never for a bad signature.
   */
  verify(
    subject: SignatureSubject,
    options?: { readonly signal?: AbortSignal },
  ): Promise<SignatureVerdict>;
}
