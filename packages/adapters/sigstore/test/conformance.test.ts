/**
 * The Sigstore verifier runs the artifact verifier conformance suite: with key-based bundles, and
 * with keyless bundles from a mock Fulcio, Rekor and TSA on loopback.
 */
import { afterAll } from 'vitest';
import { generateSigningKeyPair } from '@plumbline/core/signer';
import { describeArtifactVerifierConformance } from '@plumbline/core/testing';
import {
  identityToken,
  startMockSigstore,
  type MockSigstore,
} from '@plumbline/testkit/mock-sigstore';
import { createKeyBundle, createKeylessBundle, createSigstoreVerifier } from '../src/index.js';
import { IDENTITY, ISSUER } from './fixtures.js';

const enc = new TextEncoder();
const json = (value: unknown) => enc.encode(JSON.stringify(value));
const maxBundleBytes = 512 * 1024;

await describeArtifactVerifierConformance('createSigstoreVerifier (key bundles)', async () => {
  const [own, other] = await Promise.all([generateSigningKeyPair(), generateSigningKeyPair()]);
  const verifier = await createSigstoreVerifier({
    publicKeys: [own.publicKeyPem],
    maxBundleBytes,
  });
  return {
    verifier,
    sign: async (payload) =>
      json(await createKeyBundle({ payload, privateKey: own.privateKeyPem })),
    signUntrusted: async (payload) =>
      json(await createKeyBundle({ payload, privateKey: other.privateKeyPem })),
    maxBytes: maxBundleBytes,
  };
});

let mock: MockSigstore | undefined;
const started = (async () => (mock = await startMockSigstore()))();
afterAll(async () => {
  await mock?.close();
});

await describeArtifactVerifierConformance(
  'createSigstoreVerifier (keyless bundles, mock Fulcio and Rekor)',
  async () => {
    const sigstore = await started;
    const verifier = await createSigstoreVerifier({
      trustedRoot: sigstore.trustedRoot,
      identities: [{ subjectAlternativeName: IDENTITY, issuer: ISSUER }],
      maxBundleBytes,
    });
    const sign = async (payload: Uint8Array, subject: string) =>
      json(
        await createKeylessBundle({
          payload,
          identityToken: identityToken({ iss: ISSUER, sub: subject }),
          fulcioUrl: sigstore.url,
          rekorUrl: sigstore.url,
          rekorEntryType: 'intoto',
          tsaUrl: sigstore.url,
        }),
      );
    return {
      verifier,
      sign: (payload) => sign(payload, IDENTITY),
      signUntrusted: (payload) =>
        sign(
          payload,
          'https://github.com/mallory/fork/.github/workflows/build.yml@refs/heads/main',
        ),
      maxBytes: maxBundleBytes,
    };
  },
  { timeoutMs: 30_000 },
);
