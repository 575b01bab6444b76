import { encodePem } from './pem.js';
import {
  keyIdOfSpki,
  loadPrivateKey,
  loadPublicKey,
  type CryptoRuntime,
  type KeyInput,
} from './keys.js';
import type { SignatureAlgorithm, SignatureVerifier, Signer } from './types.js';

/**
 * Options for {@link createKeySigner}.
 *
 * @public
 */
export interface KeySignerOptions {
  /** The private key: PEM (PKCS #8, or SEC1 `EC PRIVATE KEY` with node:crypto), DER PKCS #8, JWK, KeyObject or CryptoKey. */
  readonly privateKey: KeyInput;
  /** Passphrase of an encrypted PEM private key (node:crypto only). */
  readonly passphrase?: string;
  /** Overrides the key id (default: {@link computeKeyId} of the public key). Pass `''` to sign without one. */
  readonly keyId?: string;
  /** Crypto implementation; `auto` (default) prefers node:crypto and falls back to WebCrypto. */
  readonly runtime?: CryptoRuntime;
}

/**
 * A {@link Signer} over a local key, which also knows its public half.
 *
 * @public
 */
export interface KeySigner extends Signer {
  /** The key's algorithm, read from the key. */
  readonly algorithm: SignatureAlgorithm;
  /** The key id written as DSSE `keyid`: the `keyId` option, else {@link computeKeyId} of the public key. `''` signs without one. */
  readonly keyId: string;
  /** The public key as SPKI PEM, to hand to verifiers. */
  readonly publicKeyPem: string;
  /** A verifier for this signer's signatures. */
  verifier(): SignatureVerifier;
}

/**
 * Creates a {@link Signer} from an Ed25519 or ECDSA P-256 private key. ECDSA signatures are
 * DER-encoded over SHA-256; Ed25519 signatures are the 64 raw bytes (pure Ed25519).
 *
 * @example
 * ```ts
 * import { createKeySigner } from '@plumbline/core/signer';
 * const signer = await createKeySigner({ privateKey: await readFile('key.pem', 'utf8') });
 * const signature = await signer.sign(new TextEncoder().encode('hello'));
 * ```
 * @throws {@link PlumblineError} `PLB_KEY_INVALID` for an unreadable key, `PLB_KEY_UNSUPPORTED`
 *   for another algorithm or curve, `PLB_CRYPTO_UNAVAILABLE` without crypto.
 * @public
 */
export async function createKeySigner(options: KeySignerOptions): Promise<KeySigner> {
  const key = await loadPrivateKey(options.privateKey, {
    ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
    ...(options.runtime === undefined ? {} : { runtime: options.runtime }),
  });
  const keyId = options.keyId ?? keyIdOfSpki(key.publicKey.spki);
  const publicKeyPem = encodePem('PUBLIC KEY', key.publicKey.spki);
  const verifier: SignatureVerifier = {
    algorithm: key.algorithm,
    keyId,
    verify: (data, signature) => key.publicKey.verify(data, signature),
  };
  return {
    algorithm: key.algorithm,
    keyId,
    publicKeyPem,
    sign: (data) => key.sign(data),
    verifier: () => verifier,
  };
}

/**
 * Options for {@link createKeySignatureVerifier}.
 *
 * @public
 */
export interface KeySignatureVerifierOptions {
  /** The public key: PEM (SPKI), DER SPKI, JWK, KeyObject or CryptoKey (a private key works too). */
  readonly publicKey: KeyInput;
  /** Overrides the key id (default: {@link computeKeyId}). */
  readonly keyId?: string;
  /** Crypto implementation; `auto` (default) prefers node:crypto and falls back to WebCrypto. */
  readonly runtime?: CryptoRuntime;
}

/**
 * A {@link SignatureVerifier} over a public key, which also exposes the key as PEM.
 *
 * @public
 */
export interface KeySignatureVerifier extends SignatureVerifier {
  /** The key's algorithm, read from the key. */
  readonly algorithm: SignatureAlgorithm;
  /** The key id: the `keyId` option, else {@link computeKeyId} of the key. */
  readonly keyId: string;
  /** The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`). */
  readonly publicKeyPem: string;
}

/**
 * Creates a {@link SignatureVerifier} from an Ed25519 or ECDSA P-256 public key. `verify` returns
 * `false` (never throws) for a malformed or wrong signature.
 *
 * @example
 * ```ts
 * import { createKeySignatureVerifier } from '@plumbline/core/signer';
 * const verifier = await createKeySignatureVerifier({ publicKey: publicKeyPem });
 * await verifier.verify(data, signature); // true or false
 * ```
 * @throws {@link PlumblineError} `PLB_KEY_INVALID` / `PLB_KEY_UNSUPPORTED` for an unusable key.
 * @public
 */
export async function createKeySignatureVerifier(
  options: KeySignatureVerifierOptions,
): Promise<KeySignatureVerifier> {
  const key = await loadPublicKey(options.publicKey, options.runtime);
  return {
    algorithm: key.algorithm,
    keyId: options.keyId ?? keyIdOfSpki(key.spki),
    publicKeyPem: encodePem('PUBLIC KEY', key.spki),
    verify: (data, signature) => key.verify(data, signature),
  };
}
