/**
 * DSSE verification survives a misbehaving signature verifier (integrator code: a KMS or HSM
 * verifier passed as a trusted key): one that throws or rejects counts as a failed check, one
 * that resolves something other than `true` never accepts, and the artifact verifier built on it
 * still answers with a coded verdict.
 */
import { describe, expect, it } from 'vitest';
import {
  DSSE_ENVELOPE_ATTACHMENT,
  createKeySigner,
  createKeyVerifier,
  encodeDsseEnvelope,
  generateSigningKeyPair,
  signDsseEnvelope,
  verifyDsseEnvelope,
  type SignatureVerifier,
} from '@plumbline/core/signer';

const payload = new TextEncoder().encode('{"_type":"https://in-toto.io/Statement/v1"}');

async function envelope() {
  const signer = await createKeySigner({
    privateKey: (await generateSigningKeyPair()).privateKeyPem,
  });
  return signDsseEnvelope({ payload, signers: signer });
}

const throwing: SignatureVerifier = {
  algorithm: 'ecdsa-p256-sha256',
  verify() {
    throw new Error('HSM session lost');
  },
};
const rejecting: SignatureVerifier = {
  algorithm: 'ecdsa-p256-sha256',
  verify: () => Promise.reject(new Error('KMS timeout')),
};
const truthy = {
  algorithm: 'ecdsa-p256-sha256',
  verify: () => Promise.resolve('false'),
} as unknown as SignatureVerifier;

describe('verifyDsseEnvelope with a misbehaving signature verifier', () => {
  it('counts a throwing or rejecting verifier as a failed check', async () => {
    const env = await envelope();
    for (const verifier of [throwing, rejecting]) {
      await expect(verifyDsseEnvelope(env, { verifiers: [verifier] })).resolves.toMatchObject({
        valid: false,
        code: expect.stringMatching(/^PLB_SIGNATURE_(INVALID|UNKNOWN_KEY)$/),
      });
    }
  });

  it('accepts only a verdict of true', async () => {
    await expect(
      verifyDsseEnvelope(await envelope(), { verifiers: [truthy] }),
    ).resolves.toMatchObject({
      valid: false,
      code: expect.stringMatching(/^PLB_SIGNATURE_(INVALID|UNKNOWN_KEY)$/),
    });
  });

  it('lets the artifact verifier answer with a coded verdict', async () => {
    const verifier = await createKeyVerifier({ publicKeys: [throwing] });
    const verdict = await verifier.verify({
      artifactDigest: `sha256:${'a'.repeat(64)}`,
      artifactHash: `sha256:${'b'.repeat(64)}`,
      headerDigest: `sha256:${'c'.repeat(64)}`,
      attachments: { [DSSE_ENVELOPE_ATTACHMENT]: encodeDsseEnvelope(await envelope()) },
    });
    expect(verdict).toMatchObject({
      present: true,
      valid: false,
      code: expect.stringMatching(/^PLB_SIGNATURE_(INVALID|UNKNOWN_KEY)$/),
    });
  });
});
