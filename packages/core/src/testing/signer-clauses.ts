import type { ContractClause } from './api.js';

/**
 * The rules of the signer contract that `describeSignerConformance` checks, each named in the
 * failures it causes.
 *
 * @public
 */
export const SIGNER_CLAUSES = {
  roundTrip: {
    id: 'signer.round-trip',
    text:
      'a signature made by sign verifies with the matching public key, for any bytes (empty, ' +
      'large, binary), directly and inside a DSSE envelope',
  },
  exactBytes: {
    id: 'signer.exact-bytes',
    text:
      'the signature covers exactly the bytes given: a changed, added or removed byte anywhere ' +
      'makes it fail',
  },
  payloadType: {
    id: 'signer.payload-type',
    text:
      'inside a DSSE envelope the signature covers the payload type too (the whole ' +
      'pre-authentication encoding): the same payload under another type does not verify',
  },
  concurrent: {
    id: 'signer.concurrent',
    text: 'concurrent sign calls each sign their own bytes, and the bytes given are never changed',
  },
  keyId: {
    id: 'signer.key-id',
    text:
      "keyId is stable, names the signer's key (the matching verifier's keyId when both have " +
      'one) and is what DSSE envelopes carry',
  },
} as const satisfies Record<string, ContractClause>;

/**
 * The rules of the signature verifier contract that `describeVerifierConformance` checks, each
 * named in the failures it causes.
 *
 * @public
 */
export const VERIFIER_CLAUSES = {
  accepts: {
    id: 'verifier.accepts',
    text: 'a valid signature by its key verifies (true), for any bytes: empty, large, binary',
  },
  exactBytes: {
    id: 'verifier.exact-bytes',
    text:
      'the bytes are checked whole: a changed byte anywhere, an added or a removed byte makes ' +
      'the signature fail, and a verdict is never reused for other bytes',
  },
  tamperedSignature: {
    id: 'verifier.tampered-signature',
    text: 'a changed, truncated, extended or empty signature fails',
  },
  wrongKey: {
    id: 'verifier.wrong-key',
    text: 'a signature by any other key fails',
  },
  payloadType: {
    id: 'verifier.payload-type',
    text:
      'in a DSSE envelope, a signature over one payload type does not verify the same payload ' +
      'under another type',
  },
  neverThrows: {
    id: 'verifier.never-throws',
    text:
      'hostile input (random, empty or oversized bytes and signatures) resolves to false: ' +
      'verify never throws or rejects, and resolves to a boolean',
  },
  keyId: {
    id: 'verifier.key-id',
    text: "keyId is stable and names the key the verifier checks with (the signer's key id)",
  },
} as const satisfies Record<string, ContractClause>;

/**
 * The rules of the artifact verifier contract that `describeArtifactVerifierConformance` checks,
 * each named in the failures it causes.
 *
 * @public
 */
export const ARTIFACT_VERIFIER_CLAUSES = {
  accepts: {
    id: 'artifact-verifier.accepts',
    text:
      'a trusted signature over a statement naming this artifact is valid, attached or ' +
      'detached',
  },
  subject: {
    id: 'artifact-verifier.subject',
    text: 'a valid signature over a statement about another artifact is refused, with a PLB_ code',
  },
  tampered: {
    id: 'artifact-verifier.tampered',
    text:
      'a changed payload, signature or payload type, or a document without signatures, is ' +
      'refused with a PLB_ code',
  },
  untrusted: {
    id: 'artifact-verifier.untrusted',
    text: 'a signature by a key or identity the verifier does not trust is refused, with a PLB_ code',
  },
  missing: {
    id: 'artifact-verifier.missing',
    text: 'an artifact with no signature is reported present: false, with PLB_SIGNATURE_MISSING',
  },
  hostile: {
    id: 'artifact-verifier.hostile',
    text:
      'hostile or oversized documents resolve to an invalid verdict with a PLB_ code and a ' +
      'reason: verify never rejects for bad input',
  },
} as const satisfies Record<string, ContractClause>;
