import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicKey } from 'node:crypto';
import fc from 'fast-check';
import { bundleFromJSON, type SerializedBundle } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { encodeStatement } from '@plumbline/core/attest';
import {
  createKeySigner,
  createKeyVerifier,
  generateSigningKeyPair,
  SIGSTORE_BUNDLE_ATTACHMENT,
  type Signer,
} from '@plumbline/core/signer';
import {
  createKeyBundle,
  createKeylessBundle,
  createSigstoreVerifier,
  parseTrustedRoot,
  type SigstoreArtifactVerifier,
} from '../src/index.js';
import { expected, IDENTITY, ISSUER, statement } from './fixtures.js';
import {
  identityToken,
  startMockSigstore,
  type MockSigstore,
} from '@plumbline/testkit/mock-sigstore';

const enc = new TextEncoder();
const bytes = (bundle: unknown) => enc.encode(JSON.stringify(bundle));
const token = identityToken({ iss: ISSUER, sub: IDENTITY });

let mock: MockSigstore;
let keyless: SerializedBundle;
let keylessVerifier: SigstoreArtifactVerifier;

beforeAll(async () => {
  mock = await startMockSigstore();
  keyless = await createKeylessBundle({
    statement,
    identityToken: token,
    fulcioUrl: mock.url,
    rekorUrl: mock.url,
    rekorEntryType: 'intoto',
    tsaUrl: mock.url,
  });
  keylessVerifier = await createSigstoreVerifier({
    trustedRoot: mock.trustedRoot,
    identities: [{ subjectAlternativeName: IDENTITY, issuer: ISSUER }],
  });
});
afterAll(async () => {
  await mock.close();
});

describe('key-based bundles', () => {
  it('round-trips a v0.3 bundle with a DSSE envelope signed by a P-256 key, offline', async () => {
    const pair = await generateSigningKeyPair();
    const bundle = await createKeyBundle({ statement, privateKey: pair.privateKeyPem });
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(bundle.dsseEnvelope?.payloadType).toBe('application/vnd.in-toto+json');
    expect(Buffer.from(bundle.dsseEnvelope!.payload, 'base64')).toEqual(
      Buffer.from(encodeStatement(statement)),
    );
    expect(bundle.verificationMaterial?.publicKey?.hint).toBe(pair.keyId);
    expect(bundle.verificationMaterial?.tlogEntries ?? []).toEqual([]);

    const verifier = await createSigstoreVerifier({ publicKeys: [pair.publicKeyPem] });
    expect(verifier.name).toBe('sigstore:key');
    expect(await verifier.verifyBundle(bytes(bundle), expected)).toEqual({
      present: true,
      valid: true,
      signer: { keyId: pair.keyId },
      predicateType: 'https://slsa.dev/provenance/v1',
    });
    // As the core Verifier, from an attachment or a detached file.
    const subject = {
      ...expected,
      attachments: { [SIGSTORE_BUNDLE_ATTACHMENT]: bytes(bundle) },
    } as const;
    expect(await verifier.verify(subject)).toMatchObject({
      valid: true,
      source: { kind: 'attachment' },
    });
    expect(
      await verifier.verify({ ...expected, attachments: {}, detached: bytes(bundle) }),
    ).toMatchObject({
      valid: true,
      source: { kind: 'detached' },
    });
    expect(await verifier.verify({ ...expected, attachments: {} })).toMatchObject({
      present: false,
      code: 'PLB_SIGNATURE_MISSING',
    });
    // The core key verifier reads the same bundle.
    const core = await createKeyVerifier({ publicKeys: [pair.publicKeyPem] });
    expect(await core.verify(subject)).toMatchObject({ valid: true });
  });

  it('verifies with @sigstore/verify used directly', async () => {
    const pair = await generateSigningKeyPair();
    const bundle = await createKeyBundle({ statement, privateKey: pair.privateKeyPem });
    const root = TrustedRoot.fromJSON({
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [],
      certificateAuthorities: [],
      ctlogs: [],
      timestampAuthorities: [],
    });
    const material = toTrustMaterial(root, (hint) => {
      expect(hint).toBe(pair.keyId);
      return { publicKey: createPublicKey(pair.publicKeyPem), validFor: () => true };
    });
    const verifier = new Verifier(material, {
      tlogThreshold: 0,
      ctlogThreshold: 0,
      timestampThreshold: 0,
    });
    expect(() => verifier.verify(toSignedEntity(bundleFromJSON(bundle)))).not.toThrow();
  });

  it('signs with a user-supplied Signer (a KMS) and records it in Rekor with a timestamp', async () => {
    const pair = await generateSigningKeyPair();
    const local = await createKeySigner({ privateKey: pair.privateKeyPem });
    let calls = 0;
    const kms: Signer = {
      algorithm: 'ecdsa-p256-sha256',
      keyId: 'projects/p/keys/k/1',
      sign: async (data) => {
        calls++;
        return local.sign(data);
      },
    };
    const bundle = await createKeyBundle({
      statement,
      signer: kms,
      publicKeyPem: pair.publicKeyPem,
      rekorUrl: mock.url,
      rekorEntryType: 'intoto',
      tsaUrl: mock.url,
    });
    expect(calls).toBe(1);
    expect(bundle.verificationMaterial?.publicKey?.hint).toBe('projects/p/keys/k/1');
    expect(bundle.verificationMaterial?.tlogEntries).toHaveLength(1);
    expect(bundle.verificationMaterial?.timestampVerificationData?.rfc3161Timestamps).toHaveLength(
      1,
    );
    const verifier = await createSigstoreVerifier({
      publicKeys: [pair.publicKeyPem],
      trustedRoot: mock.trustedRoot,
      identities: [{ subjectAlternativeName: /.*/, issuer: /.*/ }],
      tlogThreshold: 1,
      timestampThreshold: 2,
    });
    const v = await verifier.verifyBundle(bytes(bundle), expected);
    expect(v, JSON.stringify(v)).toMatchObject({ valid: true });
    // Without the log entry, the required threshold fails.
    const stripped = {
      ...bundle,
      verificationMaterial: { ...bundle.verificationMaterial!, tlogEntries: [] },
    };
    expect(await verifier.verifyBundle(bytes(stripped), expected)).toMatchObject({
      valid: false,
      code: 'PLB_SIGSTORE_TIMESTAMP',
    });
  });

  it('refuses to sign without a key and a custom signer log entry without its public key', async () => {
    await expect(createKeyBundle({ statement })).rejects.toMatchObject({
      code: 'PLB_VERIFIER_CONFIG',
    });
    const pair = await generateSigningKeyPair();
    const signer = await createKeySigner({ privateKey: pair.privateKeyPem });
    await expect(
      createKeyBundle({
        statement,
        signer: { algorithm: signer.algorithm, sign: signer.sign },
        rekorUrl: mock.url,
      }),
    ).rejects.toMatchObject({ code: 'PLB_VERIFIER_CONFIG' });
    await expect(
      createKeyBundle({
        payload: encodeStatement(statement),
        privateKey: pair.privateKeyPem,
        signal: AbortSignal.abort(),
      }),
    ).rejects.toMatchObject({
      code: 'PLB_ABORTED',
    });
  });

  it('fails with its own reason for each kind of tampering', async () => {
    const pair = await generateSigningKeyPair();
    const other = await generateSigningKeyPair();
    const verifier = await createSigstoreVerifier({ publicKeys: [pair.publicKeyPem] });
    const bundle = await createKeyBundle({ statement, privateKey: pair.privateKeyPem });
    const env = bundle.dsseEnvelope!;
    const forged = JSON.parse(Buffer.from(env.payload, 'base64').toString()) as typeof statement;
    const cases: [string, unknown, Partial<typeof expected>, string][] = [
      [
        'payload changed',
        bundle,
        { artifactDigest: `sha256:${'00'.repeat(32)}` },
        'PLB_ATTESTATION_PAYLOAD_MISMATCH',
      ],
      [
        'header changed',
        bundle,
        { artifactDigest: `sha256:${'00'.repeat(32)}`, headerDigest: `sha256:${'01'.repeat(32)}` },
        'PLB_ATTESTATION_HEADER_MISMATCH',
      ],
      [
        'bundle for another artifact',
        bundle,
        {
          artifactDigest: `sha256:${'00'.repeat(32)}`,
          headerDigest: `sha256:${'01'.repeat(32)}`,
          artifactHash: `sha256:${'02'.repeat(32)}`,
        },
        'PLB_ATTESTATION_SUBJECT_MISMATCH',
      ],
      [
        'statement changed',
        {
          ...bundle,
          dsseEnvelope: {
            ...env,
            payload: Buffer.from(JSON.stringify({ ...forged, predicateType: 'x' })).toString(
              'base64',
            ),
          },
        },
        {},
        'PLB_SIGNATURE_INVALID',
      ],
      [
        'envelope payload type changed',
        { ...bundle, dsseEnvelope: { ...env, payloadType: 'application/json' } },
        {},
        'PLB_DSSE_PAYLOAD_TYPE',
      ],
      [
        'envelope signature replaced',
        {
          ...bundle,
          dsseEnvelope: {
            ...env,
            signatures: [{ keyid: '', sig: Buffer.alloc(70, 1).toString('base64') }],
          },
        },
        {},
        'PLB_SIGNATURE_INVALID',
      ],
      ['not a bundle', { hello: 'world' }, {}, 'PLB_BUNDLE_MALFORMED'],
    ];
    for (const [name, doc, override, code] of cases) {
      const verdict = await verifier.verifyBundle(bytes(doc), { ...expected, ...override });
      expect(verdict, name).toMatchObject({ present: true, valid: false, code });
    }
    const byOther = await createKeyBundle({ statement, privateKey: other.privateKeyPem });
    expect(await verifier.verifyBundle(bytes(byOther), expected)).toMatchObject({
      code: 'PLB_SIGNATURE_UNKNOWN_KEY',
    });
    expect(await verifier.verifyBundle(enc.encode('{'), expected)).toMatchObject({
      code: 'PLB_BUNDLE_MALFORMED',
    });
    const small = await createSigstoreVerifier({
      publicKeys: [pair.publicKeyPem],
      maxBundleBytes: 100,
    });
    expect(await small.verifyBundle(bytes(bundle), expected)).toMatchObject({
      code: 'PLB_DSSE_TOO_LARGE',
    });
  });
});

describe('keyless bundles', () => {
  it('round-trips: Fulcio certificate, Rekor entry and RFC 3161 timestamp from the mock services', async () => {
    expect(keyless.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(keyless.verificationMaterial?.certificate?.rawBytes).toBeTruthy();
    expect(keyless.verificationMaterial?.tlogEntries).toHaveLength(1);
    expect(keyless.verificationMaterial?.timestampVerificationData?.rfc3161Timestamps).toHaveLength(
      1,
    );
    expect(mock.requests['/api/v2/signingCert']).toBeGreaterThanOrEqual(1);
    const verdict = await keylessVerifier.verifyBundle(bytes(keyless), expected);
    expect(verdict, verdict.reason).toEqual({
      present: true,
      valid: true,
      signer: { identity: IDENTITY, issuer: ISSUER },
      predicateType: 'https://slsa.dev/provenance/v1',
    });
    expect(keylessVerifier.name).toBe('sigstore:keyless');
  });

  it('verifies with @sigstore/verify used directly, identity policy included', () => {
    const material = toTrustMaterial(parseTrustedRoot(mock.trustedRoot));
    const signer = new Verifier(material).verify(toSignedEntity(bundleFromJSON(keyless)), {
      subjectAlternativeName: IDENTITY,
      extensions: { issuer: ISSUER },
    });
    expect(signer.identity?.subjectAlternativeName).toBe(IDENTITY);
  });

  it('accepts identity patterns, anchored', async () => {
    const pattern = await createSigstoreVerifier({
      trustedRoot: JSON.stringify(mock.trustedRoot),
      identities: [
        { subjectAlternativeName: /https:\/\/github\.com\/example\/.*/, issuer: ISSUER },
      ],
    });
    expect(await pattern.verifyBundle(bytes(keyless), expected)).toMatchObject({ valid: true });
    const unanchored = await createSigstoreVerifier({
      trustedRoot: mock.trustedRoot,
      identities: [{ subjectAlternativeName: /github\.com/, issuer: ISSUER }],
    });
    expect(await unanchored.verifyBundle(bytes(keyless), expected)).toMatchObject({
      code: 'PLB_SIGSTORE_IDENTITY',
    });
  });

  it('fails for a wrong identity or issuer', async () => {
    for (const policy of [
      {
        subjectAlternativeName:
          'https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main',
        issuer: ISSUER,
      },
      { subjectAlternativeName: IDENTITY, issuer: 'https://evil.example.com' },
    ]) {
      const verifier = await createSigstoreVerifier({
        trustedRoot: mock.trustedRoot,
        identities: [policy],
      });
      const verdict = await verifier.verifyBundle(bytes(keyless), expected);
      expect(verdict).toMatchObject({ valid: false, code: 'PLB_SIGSTORE_IDENTITY' });
      expect(verdict.reason).toMatch(policy.issuer === ISSUER ? /identity/ : /issuer/);
    }
  });

  it('fails for a tampered statement, envelope, certificate chain or log entry, each with its own reason', async () => {
    const env = keyless.dsseEnvelope!;
    const vm = keyless.verificationMaterial!;
    const entry = vm.tlogEntries[0]!;
    const statementTampered = {
      ...keyless,
      dsseEnvelope: { ...env, payload: Buffer.from('{"_type":"x"}').toString('base64') },
    };
    const envelopeTampered = { ...keyless, dsseEnvelope: { ...env, payloadType: 'text/plain' } };
    const logTampered = {
      ...keyless,
      verificationMaterial: {
        ...vm,
        tlogEntries: [{ ...entry, logIndex: String(Number(entry.logIndex) + 1) }],
      },
    };
    expect(await keylessVerifier.verifyBundle(bytes(statementTampered), expected)).toMatchObject({
      code: 'PLB_SIGNATURE_INVALID',
    });
    expect(await keylessVerifier.verifyBundle(bytes(envelopeTampered), expected)).toMatchObject({
      code: 'PLB_DSSE_PAYLOAD_TYPE',
    });
    expect(await keylessVerifier.verifyBundle(bytes(logTampered), expected)).toMatchObject({
      code: 'PLB_SIGSTORE_TLOG',
    });
    // A certificate chain that does not lead to the trusted CA (another Fulcio's root).
    const rogue = await startMockSigstore();
    try {
      const rootWithOtherCa = {
        ...mock.trustedRoot,
        certificateAuthorities: rogue.trustedRoot.certificateAuthorities,
      };
      const verifier = await createSigstoreVerifier({
        trustedRoot: rootWithOtherCa,
        identities: [{ subjectAlternativeName: IDENTITY, issuer: ISSUER }],
      });
      expect(await verifier.verifyBundle(bytes(keyless), expected)).toMatchObject({
        code: 'PLB_SIGSTORE_CERTIFICATE',
      });
      // A certificate replaced by one from another CA for another key: the signature no longer matches it.
      const other = await createKeylessBundle({
        statement,
        identityToken: token,
        fulcioUrl: rogue.url,
        rekorUrl: false,
      });
      const swapped = {
        ...keyless,
        verificationMaterial: { ...vm, certificate: other.verificationMaterial!.certificate },
      };
      expect(await keylessVerifier.verifyBundle(bytes(swapped), expected)).toMatchObject({
        code: 'PLB_SIGNATURE_INVALID',
      });
      const garbled = {
        ...keyless,
        verificationMaterial: {
          ...vm,
          certificate: { rawBytes: Buffer.from('garbage').toString('base64') },
        },
      };
      expect(await keylessVerifier.verifyBundle(bytes(garbled), expected)).toMatchObject({
        code: 'PLB_SIGSTORE_CERTIFICATE',
      });
    } finally {
      await rogue.close();
    }
  });

  it('fails for a bundle about another artifact', async () => {
    const verdict = await keylessVerifier.verifyBundle(bytes(keyless), {
      artifactDigest: `sha256:${'0a'.repeat(32)}`,
      artifactHash: `sha256:${'0b'.repeat(32)}`,
      headerDigest: `sha256:${'0c'.repeat(32)}`,
    });
    expect(verdict).toMatchObject({ valid: false, code: 'PLB_ATTESTATION_SUBJECT_MISMATCH' });
  });

  it('fails for an expired certificate without a timestamp, and for one the log entry shows was used after expiry', async () => {
    const past = await startMockSigstore({ caClock: new Date(Date.now() - 60 * 60 * 1000) });
    try {
      const verifier = await createSigstoreVerifier({
        trustedRoot: past.trustedRoot,
        identities: [{ subjectAlternativeName: IDENTITY, issuer: ISSUER }],
      });
      const noTimestamp = await createKeylessBundle({
        statement,
        identityToken: token,
        fulcioUrl: past.url,
        rekorUrl: false,
      });
      const verdict = await verifier.verifyBundle(bytes(noTimestamp), expected);
      expect(verdict).toMatchObject({ valid: false, code: 'PLB_SIGSTORE_CERTIFICATE' });
      expect(verdict.reason).toMatch(/expired/);
      const logged = await createKeylessBundle({
        statement,
        identityToken: token,
        fulcioUrl: past.url,
        rekorUrl: past.url,
        rekorEntryType: 'intoto',
      });
      expect(await verifier.verifyBundle(bytes(logged), expected)).toMatchObject({
        valid: false,
        code: 'PLB_SIGSTORE_CERTIFICATE',
      });
    } finally {
      await past.close();
    }
  });

  it('needs a timestamp even for a certificate that is still valid', async () => {
    const noTimestamp = await createKeylessBundle({
      statement,
      identityToken: token,
      fulcioUrl: mock.url,
      rekorUrl: false,
    });
    expect(await keylessVerifier.verifyBundle(bytes(noTimestamp), expected)).toMatchObject({
      code: 'PLB_SIGSTORE_TIMESTAMP',
    });
    const keyOnly = await createSigstoreVerifier({
      publicKeys: [(await generateSigningKeyPair()).publicKeyPem],
    });
    expect(await keyOnly.verifyBundle(bytes(keyless), expected)).toMatchObject({
      code: 'PLB_SIGSTORE_CERTIFICATE',
    });
  });

  it('reports service failures without the token', async () => {
    const error = await createKeylessBundle({
      statement,
      identityToken: token,
      fulcioUrl: `${mock.url}/nowhere`,
      rekorUrl: false,
      retries: 0,
    }).then(
      () => undefined,
      (e: unknown) => e as Error & { code: string },
    );
    expect(error).toMatchObject({ code: 'PLB_SIGSTORE_SIGNING' });
    expect(error!.message).not.toContain(token);
  });
});

describe('robustness', () => {
  it('returns a coded verdict, never throws, for arbitrary or truncated input', async () => {
    const pair = await generateSigningKeyPair();
    const verifier = await createSigstoreVerifier({
      publicKeys: [pair.publicKeyPem],
      trustedRoot: mock.trustedRoot,
      identities: [{ subjectAlternativeName: IDENTITY, issuer: ISSUER }],
    });
    const good = bytes(keyless);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.json().map((text) => enc.encode(text)),
          fc.nat({ max: good.length - 1 }).map((n) => good.subarray(0, n)),
          fc.uint8Array({ maxLength: 200 }),
        ),
        async (input) => {
          const verdict = await verifier.verifyBundle(input, expected);
          expect(verdict.valid).toBe(false);
          expect(verdict.code).toMatch(/^PLB_/);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('configuration', () => {
  it('refuses thresholds and limits that are not whole numbers in range (none fails open)', async () => {
    const base = {
      trustedRoot: mock.trustedRoot,
      identities: [{ subjectAlternativeName: IDENTITY, issuer: ISSUER }],
    };
    for (const [option, value, bound] of [
      ['tlogThreshold', Number.NaN, 'an integer >= 0'],
      ['ctlogThreshold', -1, 'an integer >= 0'],
      ['timestampThreshold', 1.5, 'an integer >= 0'],
      ['maxBundleBytes', 0, 'a positive integer'],
    ] as const) {
      await expect(createSigstoreVerifier({ ...base, [option]: value })).rejects.toMatchObject({
        code: 'PLB_VERIFIER_CONFIG',
        message: `${option} must be ${bound}`,
      });
    }
  });

  it('refuses incomplete or invalid configuration', async () => {
    await expect(createSigstoreVerifier({})).rejects.toMatchObject({ code: 'PLB_VERIFIER_CONFIG' });
    await expect(createSigstoreVerifier({ trustedRoot: mock.trustedRoot })).rejects.toMatchObject({
      code: 'PLB_VERIFIER_CONFIG',
    });
    await expect(
      createSigstoreVerifier({
        trustedRoot: mock.trustedRoot,
        identities: [{ subjectAlternativeName: '', issuer: ISSUER }],
      }),
    ).rejects.toMatchObject({ code: 'PLB_VERIFIER_CONFIG' });
    for (const root of [
      '{',
      '[]',
      '{"mediaType":"x"}',
      JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1' }),
    ]) {
      expect(() => parseTrustedRoot(root)).toThrow(
        expect.objectContaining({ code: 'PLB_SIGSTORE_TRUST_ROOT' }),
      );
    }
    expect(() =>
      parseTrustedRoot(JSON.stringify(mock.trustedRoot), { maxTrustedRootBytes: 10 }),
    ).toThrow(/larger than 10/);
    expect(() =>
      parseTrustedRoot(JSON.stringify(mock.trustedRoot), { maxTrustedRootBytes: Number.NaN }),
    ).toThrow(
      expect.objectContaining({
        code: 'PLB_VERIFIER_CONFIG',
        message: 'maxTrustedRootBytes must be a positive integer',
      }),
    );
    expect(parseTrustedRoot(enc.encode(JSON.stringify(mock.trustedRoot))).tlogs).toHaveLength(1);
    fc.assert(
      fc.property(fc.json(), (text) => {
        try {
          parseTrustedRoot(text);
        } catch (error) {
          expect(error).toMatchObject({ code: 'PLB_SIGSTORE_TRUST_ROOT' });
        }
      }),
    );
  });
});

describe('secrets in signing errors', () => {
  /** Every message along an error's cause chain, joined. */
  const messages = (error: unknown): string => {
    const out: string[] = [];
    for (let e = error as { message?: unknown; cause?: unknown } | undefined; e;) {
      out.push(String(e.message ?? e));
      e = e.cause as typeof e;
    }
    return out.join(' | ');
  };

  it('does not echo an identity token the token parser rejects', async () => {
    const secret = 'opaque-oidc-secret-3f9b8c71d2e4';
    for (const identityToken of [secret, `eyJ${secret}`, `${secret}.${secret}.${secret}`]) {
      const error = await createKeylessBundle({
        statement,
        identityToken,
        fulcioUrl: mock.url,
        rekorUrl: false,
      }).catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe('PLB_SIGSTORE_SIGNING');
      expect(messages(error)).not.toContain(secret);
      expect(messages(error)).toContain('invalid identity token');
    }
  });

  it('does not echo a token a token provider put in its own error', async () => {
    const secret = 'provider-secret-81c4a9e07b';
    const error = await createKeylessBundle({
      statement,
      identityToken: () => Promise.reject(new Error(`cannot refresh password=${secret}`)),
      fulcioUrl: mock.url,
      rekorUrl: false,
    }).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('PLB_SIGSTORE_SIGNING');
    expect(messages(error)).not.toContain(secret);
  });
});
