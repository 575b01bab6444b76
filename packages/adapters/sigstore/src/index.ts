/**
 * `@plumbline/sigstore`: sign Plumbline attestations into Sigstore bundles (with a key, a KMS
 * `Signer`, or keylessly through Fulcio and Rekor) and verify them offline against given keys or
 * a `trusted_root.json`, as the core `Verifier` that load-time verification uses.
 *
 * @packageDocumentation
 */
export {
  createKeyBundle,
  createKeylessBundle,
  DEFAULT_FULCIO_URL,
  DEFAULT_REKOR_URL,
  DEFAULT_TSA_URL,
  type AttestationInput,
  type KeyBundleOptions,
  type KeylessBundleOptions,
  type SigstoreServiceOptions,
} from './sign.js';
export {
  signArtifactFileWithSigstore,
  type SigstoreArtifactFileOptions,
  type SigstoreSignedArtifactFile,
} from './sign-file.js';
export {
  createSigstoreVerifier,
  type SigstoreVerifierOptions,
  type SigstoreArtifactVerifier,
  type BundleExpectation,
} from './verify.js';
export type { IdentityPolicy } from './identity.js';
export {
  parseTrustedRoot,
  TRUSTED_ROOT_MEDIA_TYPE_PREFIX,
  type TrustedRootLimits,
} from './trust.js';
export type { SerializedBundle } from '@sigstore/bundle';
