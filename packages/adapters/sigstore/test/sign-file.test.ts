import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import { formatDigest, sha256, utf8 } from '@plumbline/core/hash';
import { loadVerifiedFile, readHeader, sealArtifactFile } from '@plumbline/core/node';
import { generateSigningKeyPair, SIGSTORE_BUNDLE_ATTACHMENT } from '@plumbline/core/signer';
import {
  identityToken,
  startMockSigstore,
  type MockSigstore,
} from '@plumbline/testkit/mock-sigstore';
import { createSigstoreVerifier, signArtifactFileWithSigstore } from '../src/index.js';
import { IDENTITY, ISSUER } from './fixtures.js';

const payload = utf8('{"routes":["/v2"]}');
let mock: MockSigstore;
let dir: string;
let artifact: string;

beforeAll(async () => {
  mock = await startMockSigstore();
});
afterAll(async () => {
  await mock.close();
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plb-sigstore-file-'));
  await writeFile(join(dir, 'routes.bin'), payload);
  artifact = join(dir, 'gateway.plb');
  await sealArtifactFile({
    manifest: {
      entries: [
        { path: 'routes.json', size: payload.length, digest: formatDigest(sha256(payload)) },
      ],
    },
    payload: join(dir, 'routes.bin'),
    out: artifact,
    provenance: {
      commit: 'b'.repeat(40),
      source: 'https://github.com/acme/cfg',
      builder: { id: 'acme-compiler', version: '1' },
    },
    sourceDateEpoch: '1790000000',
  });
  return () => rm(dir, { recursive: true, force: true });
});

describe('signArtifactFileWithSigstore', () => {
  it('signs keylessly and attaches in one call; the Sigstore verifier loads it', async () => {
    const before = await readHeader(artifact, { artifactDigest: true });
    const signed = await signArtifactFileWithSigstore(artifact, {
      keyless: {
        identityToken: identityToken({ iss: ISSUER, sub: IDENTITY }),
        fulcioUrl: mock.url,
        rekorUrl: mock.url,
        rekorEntryType: 'intoto',
      },
    });
    expect(signed.attached).toBe(true);
    expect(signed.detachedPath).toBeUndefined();
    expect(signed.artifactDigest).toBe(before.artifactDigest);
    expect(signed.artifactHash).toBe(before.header.artifact_hash);
    expect(signed.headerDigest).toBe(before.headerDigest);
    expect(signed.bundle.verificationMaterial?.tlogEntries).toHaveLength(1);
    const after = await readHeader(artifact, { artifactDigest: true });
    expect(after.artifactDigest).toBe(before.artifactDigest);
    expect(after.attachments[SIGSTORE_BUNDLE_ATTACHMENT]).toEqual(signed.bundleBytes);

    const policy = (subjectAlternativeName: string) =>
      createSigstoreVerifier({
        trustedRoot: mock.trustedRoot,
        identities: [{ subjectAlternativeName, issuer: ISSUER }],
      });
    const loaded = await loadVerifiedFile(artifact, {
      mode: 'enforce',
      requireSignature: true,
      verifier: await policy(IDENTITY),
    });
    expect(loaded.payload).toEqual(payload);
    expect(loaded.artifactDigest).toBe(signed.artifactDigest);
    const refused = await loadVerifiedFile(artifact, {
      mode: 'enforce',
      requireSignature: true,
      verifier: await policy(
        'https://github.com/mallory/evil/.github/workflows/x.yml@refs/heads/main',
      ),
    }).catch((error: unknown) => error);
    expect(PlumblineError.is(refused, 'PLB_LOAD_REJECTED')).toBe(true);
  });

  it('writes a detached bundle with a key when not attaching, and leaves the file untouched', async () => {
    const keys = await generateSigningKeyPair();
    const before = await readFile(artifact);
    const signed = await signArtifactFileWithSigstore(artifact, {
      key: { privateKey: keys.privateKeyPem },
      attach: false,
    });
    expect(signed.detachedPath).toBe(`${artifact}.sigstore.json`);
    expect(await readFile(`${artifact}.sigstore.json`)).toEqual(Buffer.from(signed.bundleBytes));
    expect(signed.bundle.verificationMaterial?.publicKey?.hint).toBe(keys.keyId);
    expect(await readFile(artifact)).toEqual(before);
    const loaded = await loadVerifiedFile(
      artifact,
      {
        mode: 'enforce',
        requireSignature: true,
        verifier: await createSigstoreVerifier({ publicKeys: [keys.publicKeyPem] }),
      },
      { detachedPath: signed.detachedPath! },
    );
    expect(loaded.payload).toEqual(payload);
  });

  it('needs exactly one of key and keyless', async () => {
    const keys = await generateSigningKeyPair();
    for (const options of [
      {},
      { key: { privateKey: keys.privateKeyPem }, keyless: { identityToken: 'x' } },
    ]) {
      const error = await signArtifactFileWithSigstore(artifact, options).catch((e: unknown) => e);
      expect(PlumblineError.is(error, 'PLB_SIGNER_CONFIG')).toBe(true);
    }
  });
});
