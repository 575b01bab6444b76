import { describe, expect, it } from 'vitest';
import { sealArtifact } from '@plumbline/core/container';
import { formatDigest, sha256, utf8 } from '@plumbline/core/hash';
import {
  createKeySigner,
  createKeyVerifier,
  DSSE_ENVELOPE_ATTACHMENT,
  encodeDsseEnvelope,
  generateSigningKeyPair,
  signDsseEnvelope,
} from '@plumbline/core/signer';
import { ARTIFACT_HASH_DIGEST_KEY, IN_TOTO_STATEMENT_TYPE } from '../../src/attest/statement.js';
import { candidateFromBytes, verifyOnLoad } from '@plumbline/core/verify';

async function sealed(attachments: Record<string, Uint8Array> = {}): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const payload = utf8('{"routes":[]}');
  await sealArtifact(
    {
      payload,
      manifest: {
        entries: [
          { path: 'routes.json', size: payload.length, digest: formatDigest(sha256(payload)) },
        ],
      },
      provenance: {
        commit: 'e'.repeat(40),
        source: 'github.com/acme/cfg',
        builder: { id: 'b', version: '1' },
      },
      buildTimestamp: '2026-10-01T00:00:00Z',
      sourceDateEpoch: null,
      attachments,
    },
    new WritableStream({ write: (c) => void chunks.push(c) }),
  );
  return new Uint8Array(Buffer.concat(chunks));
}

describe('verifyOnLoad with the key-based verifier', () => {
  it('loads a container signed by a trusted key and refuses one signed by another key', async () => {
    const unsigned = await candidateFromBytes(await sealed());
    const statement = (digest: string, root: string) =>
      utf8(
        JSON.stringify({
          _type: IN_TOTO_STATEMENT_TYPE,
          subject: [
            {
              name: 'gateway.plb',
              digest: { sha256: digest.slice(7), [ARTIFACT_HASH_DIGEST_KEY]: root.slice(7) },
            },
          ],
          predicateType: 'https://slsa.dev/provenance/v1',
          predicate: {},
        }),
      );
    const trusted = await generateSigningKeyPair({ algorithm: 'ed25519' });
    const other = await generateSigningKeyPair();
    const verifier = await createKeyVerifier({ publicKeys: [trusted.publicKeyPem] });
    const sign = async (privateKey: string) =>
      encodeDsseEnvelope(
        await signDsseEnvelope({
          payload: statement(unsigned.artifactDigest!, unsigned.header!.artifact_hash),
          signers: await createKeySigner({ privateKey }),
        }),
      );
    const good = await candidateFromBytes(
      await sealed({ [DSSE_ENVELOPE_ATTACHMENT]: await sign(trusted.privateKeyPem) }),
    );
    expect(good.artifactDigest).toBe(unsigned.artifactDigest);
    const loaded = await verifyOnLoad(good, { mode: 'enforce', requireSignature: true, verifier });
    expect(loaded.verification.signature).toMatchObject({
      verifier: verifier.name,
      present: true,
      valid: true,
    });

    const bad = await candidateFromBytes(
      await sealed({ [DSSE_ENVELOPE_ATTACHMENT]: await sign(other.privateKeyPem) }),
    );
    await expect(
      verifyOnLoad(bad, { mode: 'enforce', requireSignature: true, verifier }),
    ).rejects.toMatchObject({
      code: 'PLB_LOAD_REJECTED',
      details: {
        reasons: [
          expect.objectContaining({ rule: 'signature', code: 'PLB_VERIFY_SIGNATURE_INVALID' }),
        ],
      },
    });
    await expect(
      verifyOnLoad(unsigned, { mode: 'enforce', requireSignature: true, verifier }),
    ).rejects.toMatchObject({
      details: { reasons: [expect.objectContaining({ code: 'PLB_VERIFY_SIGNATURE_MISSING' })] },
    });
  });
});
