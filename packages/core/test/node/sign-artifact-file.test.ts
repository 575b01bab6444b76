import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import { formatDigest, sha256, utf8 } from '@plumbline/core/hash';
import { headerDigest } from '@plumbline/core/header';
import {
  attestArtifactFile,
  loadVerifiedFile,
  readHeader,
  sealArtifactFile,
  signArtifactFile,
} from '@plumbline/core/node';
import {
  createKeySigner,
  createKeyVerifier,
  DSSE_ENVELOPE_ATTACHMENT,
  generateSigningKeyPair,
  parseDsseEnvelope,
} from '@plumbline/core/signer';
import { LoadedArtifactRegistry } from '@plumbline/core/verify';

let dir: string;
let artifact: string;
const payload = utf8('{"routes":["/v1"]}');

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plb-sign-file-'));
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
      commit: 'a'.repeat(40),
      source: 'https://github.com/acme/cfg',
      builder: { id: 'acme-compiler', version: '1' },
    },
    sourceDateEpoch: '1790000000',
  });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('attestArtifactFile', () => {
  it('names the three digests apart and makes the artifact digest the subject', async () => {
    const info = await readHeader(artifact, { artifactDigest: true });
    const attested = await attestArtifactFile(artifact);
    expect(attested.artifactHash).toBe(info.header.artifact_hash);
    expect(attested.artifactDigest).toBe(info.artifactDigest);
    expect(attested.headerDigest).toBe(headerDigest(info.headerBytes));
    expect(
      new Set([attested.artifactHash, attested.artifactDigest, attested.headerDigest]).size,
    ).toBe(3);
    expect(attested.statement.subject[0]).toMatchObject({
      name: 'gateway.plb',
      digest: { sha256: attested.artifactDigest.slice('sha256:'.length) },
    });
  });
});

describe('signArtifactFile', () => {
  it('signs and attaches in one call; the trusted key loads it, another key is refused', async () => {
    const trusted = await generateSigningKeyPair();
    const other = await generateSigningKeyPair({ algorithm: 'ed25519' });
    const before = await readHeader(artifact, { artifactDigest: true });
    const signed = await signArtifactFile(artifact, { privateKey: trusted.privateKeyPem });
    expect(signed.attached).toBe(true);
    expect(signed.keyId).toBe(trusted.keyId);
    const after = await readHeader(artifact, { artifactDigest: true });
    expect(after.artifactDigest).toBe(before.artifactDigest);
    expect(after.attachments[DSSE_ENVELOPE_ATTACHMENT]).toEqual(signed.envelopeBytes);
    expect(parseDsseEnvelope(signed.envelopeBytes).signatures[0]?.keyid).toBe(trusted.keyId);

    const registry = new LoadedArtifactRegistry();
    const verifier = await createKeyVerifier({ publicKeys: [trusted.publicKeyPem] });
    const loaded = await loadVerifiedFile(
      artifact,
      { mode: 'enforce', requireSignature: true, verifier },
      { registry },
    );
    expect(loaded.payload).toEqual(payload);
    expect(loaded.artifactHash).toBe(signed.artifactHash);
    expect(loaded.artifactDigest).toBe(signed.artifactDigest);
    expect(loaded.headerDigest).toBe(signed.headerDigest);
    expect(loaded.artifact.verification.signature).toMatchObject({ valid: true });
    expect(registry.snapshot().artifact_hash).toBe(signed.artifactHash);

    const wrong = await createKeyVerifier({ publicKeys: [other.publicKeyPem] });
    const refused = await loadVerifiedFile(artifact, {
      mode: 'enforce',
      requireSignature: true,
      verifier: wrong,
    }).catch((error: unknown) => error);
    expect(PlumblineError.is(refused, 'PLB_LOAD_REJECTED')).toBe(true);
  });

  it('refuses a payload changed after signing', async () => {
    const keys = await generateSigningKeyPair();
    await signArtifactFile(artifact, { privateKey: keys.privateKeyPem });
    const bytes = await readFile(artifact);
    const last = bytes.length - 2;
    bytes[last] = bytes[last]! ^ 1;
    await writeFile(artifact, bytes);
    const verifier = await createKeyVerifier({ publicKeys: [keys.publicKeyPem] });
    const refused = await loadVerifiedFile(artifact, {
      mode: 'enforce',
      requireSignature: true,
      verifier,
    }).catch((error: unknown) => error);
    expect(PlumblineError.is(refused, 'PLB_LOAD_REJECTED')).toBe(true);
  });

  it('takes a caller signer and can leave the file untouched', async () => {
    const keys = await generateSigningKeyPair({ algorithm: 'ed25519' });
    const before = await readFile(artifact);
    const signed = await signArtifactFile(artifact, {
      signer: await createKeySigner({ privateKey: keys.privateKeyPem }),
      attach: false,
      subjectName: 'edge.plb',
    });
    expect(signed.attached).toBe(false);
    expect(signed.statement.subject[0]?.name).toBe('edge.plb');
    expect(await readFile(artifact)).toEqual(before);
  });

  it('needs exactly one of a private key and a signer', async () => {
    const keys = await generateSigningKeyPair();
    const signer = await createKeySigner({ privateKey: keys.privateKeyPem });
    for (const options of [{}, { privateKey: keys.privateKeyPem, signer }]) {
      const error = await signArtifactFile(artifact, options).catch((e: unknown) => e);
      expect(PlumblineError.is(error, 'PLB_SIGNER_CONFIG')).toBe(true);
    }
  });
});

describe('loadVerifiedFile', () => {
  it('hands out no payload for a damaged container loaded under warn', async () => {
    const bytes = await readFile(artifact);
    await writeFile(artifact, bytes.subarray(0, 20));
    const error = await loadVerifiedFile(artifact, { mode: 'warn' }).catch((e: unknown) => e);
    expect(PlumblineError.is(error, 'PLB_PAYLOAD_UNAVAILABLE')).toBe(true);
  });
});
