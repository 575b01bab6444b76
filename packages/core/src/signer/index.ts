/**
 * Signer and verifier interfaces (the role-named `signer.ts` of docs/architecture.md) and key-based implementations:
 * Ed25519 and ECDSA P-256 signers and verifiers over node:crypto (WebCrypto elsewhere), DSSE
 * envelopes, and the key-based artifact verifier used by load-time verification.
 *
 * @packageDocumentation
 */
export type {
  Signer,
  SignatureVerifier,
  SignatureAlgorithm,
  SignatureSubject,
  SignatureVerdict,
  Verifier,
} from './types.js';
export { encodeBase64, decodeBase64 } from '../encoding/base64.js';
export { decodePem, encodePem, type PemBlock } from './pem.js';
export {
  computeKeyId,
  generateSigningKeyPair,
  type GeneratedKeyPair,
  type KeyInput,
  type KeyObjectLike,
  type CryptoRuntime,
} from './keys.js';
export {
  createKeySigner,
  createKeySignatureVerifier,
  type KeySigner,
  type KeySignerOptions,
  type KeySignatureVerifier,
  type KeySignatureVerifierOptions,
} from './key-signer.js';
export {
  IN_TOTO_PAYLOAD_TYPE,
  preAuthEncoding,
  signDsseEnvelope,
  verifyDsseEnvelope,
  toDsseEnvelope,
  parseDsseEnvelope,
  encodeDsseEnvelope,
  type DsseEnvelope,
  type DsseSignature,
  type DsseLimits,
  type DsseVerification,
  type SignDsseOptions,
  type VerifyDsseOptions,
} from './dsse.js';
export {
  SIGSTORE_BUNDLE_ATTACHMENT,
  DSSE_ENVELOPE_ATTACHMENT,
  DETACHED_BUNDLE_SUFFIX,
} from './attachments.js';
export {
  parseSignatureDocument,
  SIGSTORE_BUNDLE_MEDIA_TYPES,
  type SignatureDocument,
} from './signature-document.js';
export { createKeyVerifier, type KeyVerifierOptions } from './key-verifier.js';
export { firstValidSignature, type SignatureSource } from './first-valid.js';
