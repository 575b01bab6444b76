/**
 * Broken artifact verifiers: the core key verifier (over DSSE envelopes), with one flaw each.
 * The artifact verifier conformance suite must fail every one (mutation.test.ts).
 */
import {
  DSSE_ENVELOPE_ATTACHMENT,
  createKeySigner,
  createKeyVerifier,
  encodeDsseEnvelope,
  generateSigningKeyPair,
  signDsseEnvelope,
  type SignatureVerdict,
  type Verifier,
} from '@plumbline/core/signer';
import type { ArtifactVerifierHarness } from '@plumbline/core/testing';

/** Each flaw and the contract clause the suite must name when it catches it. */
export const ARTIFACT_VERIFIER_FLAWS = {
  'refuses detached bundles': 'artifact-verifier.accepts',
  'never compares the subject': 'artifact-verifier.subject',
  'reads the payload without checking the signature': 'artifact-verifier.tampered',
  'trusts any key': 'artifact-verifier.untrusted',
  'calls an unsigned artifact valid': 'artifact-verifier.missing',
  'rejects on a malformed document': 'artifact-verifier.hostile',
  'refuses without a code': 'artifact-verifier.hostile',
} as const;

export type ArtifactVerifierFlaw = keyof typeof ARTIFACT_VERIFIER_FLAWS;

const MAX_BYTES = 64 * 1024;

const pairs = (async () => ({
  own: await generateSigningKeyPair({ algorithm: 'ed25519' }),
  other: await generateSigningKeyPair({ algorithm: 'ed25519' }),
}))();

/** A harness with `flaw` built in (a correct one for `undefined`). */
export function flawedArtifactVerifier(
  flaw: ArtifactVerifierFlaw | undefined,
): () => Promise<ArtifactVerifierHarness> {
  return async () => {
    const { own, other } = await pairs;
    const signer = await createKeySigner({ privateKey: own.privateKeyPem });
    const otherSigner = await createKeySigner({ privateKey: other.privateKeyPem });
    const keys =
      flaw === 'trusts any key' ? [own.publicKeyPem, other.publicKeyPem] : [own.publicKeyPem];
    const real = await createKeyVerifier({ publicKeys: keys, maxEnvelopeBytes: MAX_BYTES });
    const verifier: Verifier = {
      name: 'mutant',
      async verify(subject, options) {
        if (flaw === 'refuses detached bundles' && subject.detached) {
          return { present: true, valid: false, code: 'PLB_SIGNATURE_INVALID', reason: 'detached' };
        }
        const bytes = subject.attachments[DSSE_ENVELOPE_ATTACHMENT];
        if (flaw === 'rejects on a malformed document' && bytes !== undefined) {
          JSON.parse(new TextDecoder().decode(bytes));
        }
        const verdict: SignatureVerdict = await real.verify(subject, options);
        switch (flaw) {
          case 'never compares the subject':
            return verdict.code?.startsWith('PLB_ATTESTATION_')
              ? { ...verdict, valid: true }
              : verdict;
          case 'reads the payload without checking the signature':
            return verdict.code === 'PLB_SIGNATURE_INVALID' ? { ...verdict, valid: true } : verdict;
          case 'calls an unsigned artifact valid':
            return verdict.present ? verdict : { present: false, valid: true };
          case 'refuses without a code':
            return verdict.valid ? verdict : { present: verdict.present, valid: false };
          default:
            return verdict;
        }
      },
    };
    const envelope = async (statement: Uint8Array, by: typeof signer) =>
      encodeDsseEnvelope(await signDsseEnvelope({ payload: statement, signers: by }));
    return {
      verifier,
      sign: (statement) => envelope(statement, signer),
      signUntrusted: (statement) => envelope(statement, otherSigner),
      attachmentKey: DSSE_ENVELOPE_ATTACHMENT,
      maxBytes: MAX_BYTES,
    };
  };
}
