import { describe, expect, it } from 'vitest';
import {
  createKeySigner,
  createKeyVerifier,
  DSSE_ENVELOPE_ATTACHMENT,
  encodeDsseEnvelope,
  generateSigningKeyPair,
  parseSignatureDocument,
  SIGSTORE_BUNDLE_ATTACHMENT,
  signDsseEnvelope,
  type DsseEnvelope,
  type SignatureSubject,
} from '../../src/signer/index.js';
import { ARTIFACT_HASH_DIGEST_KEY, IN_TOTO_STATEMENT_TYPE } from '../../src/attest/statement.js';
import { PlumblineError } from '../../src/errors.js';

const enc = new TextEncoder();
const artifactDigest = `sha256:${'a1'.repeat(32)}` as const;
const artifactHash = `sha256:${'b2'.repeat(32)}` as const;

function statement(digest = artifactDigest, merkle: string = artifactHash): Uint8Array {
  return enc.encode(
    JSON.stringify({
      _type: IN_TOTO_STATEMENT_TYPE,
      subject: [
        {
          name: 'config.plb',
          digest: { sha256: digest.slice(7), [ARTIFACT_HASH_DIGEST_KEY]: merkle.slice(7) },
        },
      ],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {},
    }),
  );
}

function bundle(envelope: DsseEnvelope): Uint8Array {
  return enc.encode(
    JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: {
        publicKey: { hint: envelope.signatures[0]?.keyid ?? '' },
        tlogEntries: [],
      },
      dsseEnvelope: envelope,
    }),
  );
}

function subject(extra: Partial<SignatureSubject> = {}): SignatureSubject {
  return {
    artifactDigest,
    artifactHash,
    headerDigest: `sha256:${'c3'.repeat(32)}`,
    attachments: {},
    ...extra,
  };
}

async function setup() {
  const pair = await generateSigningKeyPair();
  const signer = await createKeySigner({ privateKey: pair.privateKeyPem });
  const verifier = await createKeyVerifier({ publicKeys: [pair.publicKeyPem] });
  return { pair, signer, verifier };
}

describe('createKeyVerifier', () => {
  it('accepts a bundle attachment, a DSSE attachment and a detached bundle', async () => {
    const { signer, verifier } = await setup();
    expect(verifier.name).toBe('key:ecdsa-p256-sha256');
    const envelope = await signDsseEnvelope({ payload: statement(), signers: signer });
    const viaBundle = await verifier.verify(
      subject({ attachments: { [SIGSTORE_BUNDLE_ATTACHMENT]: bundle(envelope) } }),
    );
    expect(viaBundle).toEqual({
      present: true,
      valid: true,
      source: { kind: 'attachment', key: SIGSTORE_BUNDLE_ATTACHMENT },
      predicateType: 'https://slsa.dev/provenance/v1',
      signer: { keyId: signer.keyId },
    });
    const viaEnvelope = await verifier.verify(
      subject({ attachments: { [DSSE_ENVELOPE_ATTACHMENT]: encodeDsseEnvelope(envelope) } }),
    );
    expect(viaEnvelope).toMatchObject({
      valid: true,
      source: { kind: 'attachment', key: DSSE_ENVELOPE_ATTACHMENT },
    });
    const detached = await verifier.verify(subject({ detached: bundle(envelope) }));
    expect(detached).toMatchObject({ valid: true, source: { kind: 'detached' } });
  });

  it('names a changed header or payload when the statement has the header digest annotation', async () => {
    const { signer, verifier } = await setup();
    const headerDigest = `sha256:${'c3'.repeat(32)}`;
    const annotated = enc.encode(
      JSON.stringify({
        _type: IN_TOTO_STATEMENT_TYPE,
        subject: [
          {
            digest: { sha256: 'ff'.repeat(32), [ARTIFACT_HASH_DIGEST_KEY]: artifactHash.slice(7) },
            annotations: { 'dev.plumbline.header_digest': headerDigest },
          },
        ],
        predicateType: 'x',
      }),
    );
    const doc = bundle(await signDsseEnvelope({ payload: annotated, signers: signer }));
    const payloadChanged = await verifier.verify(subject({ detached: doc }));
    expect(payloadChanged).toMatchObject({
      valid: false,
      code: 'PLB_ATTESTATION_PAYLOAD_MISMATCH',
    });
    const headerChanged = await verifier.verify(
      subject({ detached: doc, headerDigest: `sha256:${'00'.repeat(32)}` }),
    );
    expect(headerChanged).toMatchObject({ valid: false, code: 'PLB_ATTESTATION_HEADER_MISMATCH' });
  });

  it('reports an unsigned artifact as not present', async () => {
    const { verifier } = await setup();
    expect(
      await verifier.verify(subject({ attachments: { other: new Uint8Array([1]) } })),
    ).toMatchObject({
      present: false,
      valid: false,
      code: 'PLB_SIGNATURE_MISSING',
    });
  });

  it('fails with its own reason for each kind of problem', async () => {
    const { signer, verifier } = await setup();
    const other = await setup();
    const good = await signDsseEnvelope({ payload: statement(), signers: signer });
    const cases: [string, Uint8Array, string][] = [
      [
        'bundle for another artifact',
        bundle(
          await signDsseEnvelope({
            payload: statement(`sha256:${'dd'.repeat(32)}`),
            signers: signer,
          }),
        ),
        'PLB_ATTESTATION_SUBJECT_MISMATCH',
      ],
      [
        'statement with another artifact_hash',
        bundle(
          await signDsseEnvelope({
            payload: statement(artifactDigest, `sha256:${'ee'.repeat(32)}`),
            signers: signer,
          }),
        ),
        'PLB_ATTESTATION_ARTIFACT_HASH_MISMATCH',
      ],
      [
        'signed by another key',
        bundle(await signDsseEnvelope({ payload: statement(), signers: other.signer })),
        'PLB_SIGNATURE_UNKNOWN_KEY',
      ],
      [
        'tampered payload',
        bundle({
          ...good,
          payload: Buffer.from(statement(`sha256:${'dd'.repeat(32)}`)).toString('base64'),
        }),
        'PLB_SIGNATURE_INVALID',
      ],
      [
        'wrong payload type',
        bundle({ ...good, payloadType: 'application/json' }),
        'PLB_DSSE_PAYLOAD_TYPE',
      ],
      [
        'payload not a statement',
        bundle(await signDsseEnvelope({ payload: enc.encode('{"_type":"x"}'), signers: signer })),
        'PLB_ATTESTATION_MALFORMED',
      ],
      ['envelope without signatures', bundle({ ...good, signatures: [] }), 'PLB_DSSE_MALFORMED'],
      [
        'bundle without envelope',
        enc.encode(
          '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":{}}',
        ),
        'PLB_BUNDLE_MALFORMED',
      ],
      [
        'unknown bundle media type',
        enc.encode('{"mediaType":"application/x","dsseEnvelope":{}}'),
        'PLB_BUNDLE_MALFORMED',
      ],
      ['not JSON', enc.encode('garbage'), 'PLB_BUNDLE_MALFORMED'],
      ['JSON array', enc.encode('[]'), 'PLB_BUNDLE_MALFORMED'],
    ];
    for (const [name, bytes, code] of cases) {
      const verdict = await verifier.verify(
        subject({ attachments: { [SIGSTORE_BUNDLE_ATTACHMENT]: bytes } }),
      );
      expect(verdict, name).toMatchObject({ present: true, valid: false, code });
      expect(verdict.reason, name).toBeTruthy();
    }
  });

  it('prefers a valid signature over an invalid one and reports the first failure otherwise', async () => {
    const { signer, verifier } = await setup();
    const good = bundle(await signDsseEnvelope({ payload: statement(), signers: signer }));
    const bad = enc.encode('garbage');
    expect(
      await verifier.verify(
        subject({ attachments: { [SIGSTORE_BUNDLE_ATTACHMENT]: bad }, detached: good }),
      ),
    ).toMatchObject({
      valid: true,
      source: { kind: 'detached' },
    });
    expect(
      await verifier.verify(
        subject({ attachments: { [SIGSTORE_BUNDLE_ATTACHMENT]: bad }, detached: bad }),
      ),
    ).toMatchObject({
      valid: false,
      source: { kind: 'attachment' },
    });
  });

  it('takes ready verifiers, thresholds and custom attachment keys', async () => {
    const a = await setup();
    const b = await setup();
    const envelope = await signDsseEnvelope({
      payload: statement(),
      signers: [a.signer, b.signer],
    });
    const verifier = await createKeyVerifier({
      publicKeys: [a.signer.verifier(), b.pair.publicKeyPem],
      threshold: 2,
      attachmentKeys: ['custom'],
    });
    expect(
      await verifier.verify(subject({ attachments: { custom: encodeDsseEnvelope(envelope) } })),
    ).toMatchObject({ valid: true });
    const single = await signDsseEnvelope({ payload: statement(), signers: a.signer });
    expect(
      await verifier.verify(subject({ attachments: { custom: encodeDsseEnvelope(single) } })),
    ).toMatchObject({
      valid: false,
      code: 'PLB_SIGNATURE_INVALID',
    });
  });

  it('refuses an impossible configuration', async () => {
    const { pair } = await setup();
    for (const options of [
      { publicKeys: [] },
      { publicKeys: [pair.publicKeyPem], threshold: 2 },
      { publicKeys: [pair.publicKeyPem], threshold: 0 },
    ]) {
      const error = await createKeyVerifier(options).catch((e: unknown) => e);
      expect(PlumblineError.is(error, 'PLB_VERIFIER_CONFIG')).toBe(true);
    }
  });

  it('stops on an aborted signal', async () => {
    const { signer, verifier } = await setup();
    const good = bundle(await signDsseEnvelope({ payload: statement(), signers: signer }));
    await expect(
      verifier.verify(subject({ detached: good }), { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({
      code: 'PLB_ABORTED',
    });
  });

  it('parses bundles and bare envelopes, refusing oversized documents', () => {
    const envelope = { payload: 'AA==', payloadType: 't', signatures: [{ sig: 'AA==' }] };
    expect(parseSignatureDocument(enc.encode(JSON.stringify(envelope))).kind).toBe('dsse-envelope');
    expect(parseSignatureDocument(bundle(envelope)).kind).toBe('sigstore-bundle');
    expect(() => parseSignatureDocument(bundle(envelope), { maxEnvelopeBytes: 10 })).toThrow(
      /larger than 10 bytes/,
    );
  });
});
