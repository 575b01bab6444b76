/**
 * The key signer and signature verifier core ships run the signer and verifier conformance
 * suites, for both algorithms and both crypto runtimes.
 */
import {
  DSSE_ENVELOPE_ATTACHMENT,
  createKeyVerifier,
  encodeDsseEnvelope,
  signDsseEnvelope,
  createKeySignatureVerifier,
  createKeySigner,
  generateSigningKeyPair,
  type CryptoRuntime,
  type SignatureAlgorithm,
} from '@plumbline/core/signer';
import {
  describeArtifactVerifierConformance,
  describeSignerConformance,
  describeVerifierConformance,
} from '@plumbline/core/testing';

const runs: [SignatureAlgorithm, CryptoRuntime][] = [
  ['ecdsa-p256-sha256', 'node:crypto'],
  ['ed25519', 'node:crypto'],
  ['ecdsa-p256-sha256', 'webcrypto'],
  ['ed25519', 'webcrypto'],
];

for (const [algorithm, runtime] of runs) {
  const keys = (async () => ({
    own: await generateSigningKeyPair({ algorithm }),
    other: await generateSigningKeyPair({ algorithm }),
  }))();

  await describeSignerConformance(`createKeySigner (${algorithm}, ${runtime})`, async () => {
    const { own } = await keys;
    const signer = await createKeySigner({ privateKey: own.privateKeyPem, runtime });
    // The verifier comes from the public key alone (and the other runtime), not from the signer.
    const verifier = await createKeySignatureVerifier({
      publicKey: own.publicKeyPem,
      runtime: runtime === 'webcrypto' ? 'node:crypto' : 'webcrypto',
    });
    return { signer, verifier };
  });

  await describeVerifierConformance(
    `createKeySignatureVerifier (${algorithm}, ${runtime})`,
    async () => {
      const { own, other } = await keys;
      const verifier = await createKeySignatureVerifier({ publicKey: own.publicKeyPem, runtime });
      const signer = await createKeySigner({ privateKey: own.privateKeyPem });
      const otherSigner = await createKeySigner({ privateKey: other.privateKeyPem });
      return {
        verifier,
        sign: (data) => signer.sign(data),
        signOther: (data) => otherSigner.sign(data),
        keyId: own.keyId,
      };
    },
  );
}

await describeArtifactVerifierConformance(
  'createKeyVerifier (DSSE envelope attachment)',
  async () => {
    const own = await createKeySigner({
      privateKey: (await generateSigningKeyPair()).privateKeyPem,
    });
    const other = await createKeySigner({
      privateKey: (await generateSigningKeyPair()).privateKeyPem,
    });
    const maxBytes = 256 * 1024;
    const verifier = await createKeyVerifier({
      publicKeys: [own.publicKeyPem],
      maxEnvelopeBytes: maxBytes,
    });
    const envelope = async (payload: Uint8Array, signer: typeof own) =>
      encodeDsseEnvelope(await signDsseEnvelope({ payload, signers: signer }));
    return {
      verifier,
      sign: (statement) => envelope(statement, own),
      signUntrusted: (statement) => envelope(statement, other),
      attachmentKey: DSSE_ENVELOPE_ATTACHMENT,
      maxBytes,
    };
  },
);
