import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readHeader, readLoadCandidate } from '@plumbline/core/node';
import { verifyOnLoad } from '@plumbline/core/verify';
import { createSigstoreVerifier } from '@plumbline/sigstore';
import { createKeyVerifier, SIGSTORE_BUNDLE_ATTACHMENT } from '@plumbline/core/signer';
import { runCli } from './helpers.js';
import {
  identityToken,
  startMockSigstore,
  type MockSigstore,
} from '@plumbline/testkit/mock-sigstore';

let dir: string;
let mock: MockSigstore;
const ISSUER = 'https://issuer.example.com';
const IDENTITY = 'https://github.com/acme/gateway/.github/workflows/build.yml@refs/heads/main';

async function cli(args: string[]) {
  return runCli(args, { cwd: dir, env: { SOURCE_DATE_EPOCH: '1700000000' } });
}

async function seal(out: string, payload = 'payload.bin', inputs = 'inputs') {
  const result = await cli([
    'seal',
    '--inputs',
    inputs,
    '--payload',
    payload,
    '--out',
    out,
    '--commit',
    '3f786850e387550fdab836ed7e6dc881de23001b',
    '--source',
    'https://github.com/acme/gateway',
    '--ref',
    'refs/heads/main',
  ]);
  expect(result.code, result.stderr).toBe(0);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plumbline-cli-sign-'));
  await mkdir(join(dir, 'inputs'));
  await writeFile(join(dir, 'inputs', 'gateway.yaml'), 'listen: 0.0.0.0:8080\n');
  await writeFile(join(dir, 'payload.bin'), '{"compiled":true}\n');
  await writeFile(join(dir, 'legacy.bin'), 'not a container\n');
  await seal('gw.plb');
  mock = await startMockSigstore();
});
afterAll(async () => {
  await mock?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('plumbline keygen', () => {
  test('writes a P-256 key pair with a 0600 private key and refuses to overwrite', async () => {
    const result = await cli(['keygen', '--out', 'release', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as {
      key_id: string;
      private_key: string;
      public_key: string;
      algorithm: string;
    };
    expect(out).toMatchObject({
      algorithm: 'ecdsa-p256-sha256',
      private_key: 'release.key.pem',
      public_key: 'release.pub.pem',
    });
    expect(out.key_id).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(join(dir, 'release.key.pem'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, 'release.key.pem'), 'utf8')).toMatch(
      /^-----BEGIN PRIVATE KEY-----/,
    );
    expect(await readFile(join(dir, 'release.pub.pem'), 'utf8')).toMatch(
      /^-----BEGIN PUBLIC KEY-----/,
    );
    const again = await cli(['keygen', '--out', 'release']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/plumbline: PLB_IO: .*already exists/);
    expect((await cli(['keygen', '--out', 'other', '--algorithm', 'ed25519'])).code).toBe(0);
    expect((await cli(['keygen', '--out', 'bad', '--algorithm', 'rsa'])).code).toBe(2);
  });
});

describe('plumbline attest', () => {
  test('prints the SLSA provenance statement about the artifact', async () => {
    const result = await cli(['attest', 'gw.plb']);
    expect(result.code, result.stderr).toBe(0);
    const statement = JSON.parse(result.stdout) as {
      subject: { name: string; digest: Record<string, string> }[];
      predicate: { buildDefinition: { externalParameters: unknown } };
    };
    const info = await readHeader(join(dir, 'gw.plb'), { artifactDigest: true });
    expect(statement.subject[0]).toMatchObject({
      name: 'gw.plb',
      digest: {
        sha256: info.artifactDigest!.slice(7),
        'plumbline-merkle-sha256': info.header.artifact_hash.slice(7),
      },
    });
    expect(statement.predicate.buildDefinition.externalParameters).toEqual({
      source: 'https://github.com/acme/gateway',
      ref: 'refs/heads/main',
    });
    expect((await cli(['attest', 'gw.plb', '--out', 'gw.intoto.json'])).code).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'gw.intoto.json'), 'utf8'))).toEqual(statement);
    const legacy = await cli(['attest', 'legacy.bin']);
    expect(legacy.code).toBe(2);
    expect(legacy.stderr).toContain('PLB_LEGACY_ARTIFACT');
  });

  test('names the builder with a URI (SLSA TypeURI) and refuses a --builder-id that is not one', async () => {
    const result = await cli(['attest', 'gw.plb']);
    const statement = JSON.parse(result.stdout) as {
      predicate: { runDetails: { builder: { id: string } } };
    };
    expect(statement.predicate.runDetails.builder.id).toBe(
      'urn:plumbline:builder:%40plumbline%2Fcli',
    );
    const uri = 'https://github.com/acme/gateway/.github/workflows/seal.yml@refs/heads/main';
    const given = await cli(['attest', 'gw.plb', '--builder-id', uri]);
    expect(given.code, given.stderr).toBe(0);
    expect(JSON.parse(given.stdout)).toMatchObject({
      predicate: { runDetails: { builder: { id: uri } } },
    });
    const refused = await cli(['attest', 'gw.plb', '--builder-id', '@plumbline/cli']);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /^plumbline: PLB_BUILDER_ID_NOT_URI: the builder id must be a URI/,
    );
  });
});

describe('plumbline sign and verify-signature', () => {
  test('key-based: detached bundle round trip, unsigned, tampered and wrong key', async () => {
    await cli(['keygen', '--out', 'k1']);
    await cli(['keygen', '--out', 'k2']);
    const signed = await cli(['sign', 'gw.plb', '--key', 'k1.key.pem', '--json']);
    expect(signed.code, signed.stderr).toBe(0);
    expect(JSON.parse(signed.stdout)).toMatchObject({
      mode: 'key',
      attached: false,
      bundles: ['gw.plb.sigstore.json'],
      tlog_entries: 0,
    });
    const bundle = JSON.parse(await readFile(join(dir, 'gw.plb.sigstore.json'), 'utf8')) as {
      mediaType: string;
    };
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');

    const valid = await cli(['verify-signature', 'gw.plb', '--key', 'k1.pub.pem']);
    expect(valid.code, valid.stdout + valid.stderr).toBe(0);
    expect(valid.stdout).toMatch(/^valid: gw.plb/);
    const wrong = await cli(['verify-signature', 'gw.plb', '--key', 'k2.pub.pem', '--json']);
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.stdout)).toMatchObject({
      status: 'invalid',
      code: 'PLB_SIGNATURE_UNKNOWN_KEY',
    });
    expect(
      (await cli(['verify-signature', 'gw.plb', '--key', 'k2.pub.pem', '--key', 'k1.pub.pem']))
        .code,
    ).toBe(0);

    // Unsigned: another artifact without a bundle.
    await seal('unsigned.plb');
    const unsigned = await cli([
      'verify-signature',
      'unsigned.plb',
      '--key',
      'k1.pub.pem',
      '--json',
    ]);
    expect(unsigned.code).toBe(3);
    expect(JSON.parse(unsigned.stdout)).toMatchObject({
      status: 'unsigned',
      code: 'PLB_SIGNATURE_MISSING',
    });
    expect((await cli(['verify-signature', 'legacy.bin', '--key', 'k1.pub.pem'])).code).toBe(3);

    // A bundle for another artifact.
    await mkdir(join(dir, 'other-inputs'));
    await writeFile(join(dir, 'other-inputs', 'gateway.yaml'), 'listen: 0.0.0.0:9090\n');
    await seal('other.plb', 'payload.bin', 'other-inputs');
    const other = await cli([
      'verify-signature',
      'other.plb',
      '--key',
      'k1.pub.pem',
      '--bundle',
      'gw.plb.sigstore.json',
      '--json',
    ]);
    expect(other.code).toBe(1);
    expect(JSON.parse(other.stdout)).toMatchObject({
      status: 'invalid',
      code: 'PLB_ATTESTATION_SUBJECT_MISMATCH',
    });

    // A tampered header: the commit in the CBOR header changed (still a valid header).
    const original = await readFile(join(dir, 'gw.plb'));
    const commit = Buffer.from('3f786850e387550fdab836ed7e6dc881de23001b');
    const at = original.indexOf(commit);
    expect(at).toBeGreaterThan(0);
    const forgedHeader = Buffer.from(original);
    forgedHeader[at] = 0x34; // '3' -> '4'
    await writeFile(join(dir, 'forged-header.plb'), forgedHeader);
    const headerTampered = await cli([
      'verify-signature',
      'forged-header.plb',
      '--key',
      'k1.pub.pem',
      '--bundle',
      'gw.plb.sigstore.json',
      '--json',
    ]);
    expect(headerTampered.code, headerTampered.stdout + headerTampered.stderr).toBe(1);
    expect(JSON.parse(headerTampered.stdout)).toMatchObject({
      code: 'PLB_ATTESTATION_HEADER_MISMATCH',
    });

    // A tampered payload byte.
    const bytes = await readFile(join(dir, 'gw.plb'));
    bytes[bytes.length - 3]! ^= 1;
    await writeFile(join(dir, 'tampered.plb'), bytes);
    const tampered = await cli([
      'verify-signature',
      'tampered.plb',
      '--key',
      'k1.pub.pem',
      '--bundle',
      'gw.plb.sigstore.json',
      '--json',
    ]);
    expect(tampered.code).toBe(1);
    expect(JSON.parse(tampered.stdout)).toMatchObject({ code: 'PLB_ATTESTATION_PAYLOAD_MISMATCH' });
  });

  test('key-based: attached bundle keeps the artifact digest and verifies from the container', async () => {
    await seal('att.plb');
    const before = await readHeader(join(dir, 'att.plb'), { artifactDigest: true });
    const signed = await cli(['sign', 'att.plb', '--key', 'k1.key.pem', '--attach']);
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toContain(`attached (${SIGSTORE_BUNDLE_ATTACHMENT})`);
    const after = await readHeader(join(dir, 'att.plb'), { artifactDigest: true });
    expect(after.artifactDigest).toBe(before.artifactDigest);
    expect(after.attachments[SIGSTORE_BUNDLE_ATTACHMENT]).toBeDefined();
    const result = await cli(['verify-signature', 'att.plb', '--key', 'k1.pub.pem', '--json']);
    expect(result.code, result.stdout).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      status: 'valid',
      source: { kind: 'attachment', key: SIGSTORE_BUNDLE_ATTACHMENT },
    });
    // The core key verifier (what verifyOnLoad uses without @plumbline/sigstore) accepts it too.
    const verifier = await createKeyVerifier({
      publicKeys: [await readFile(join(dir, 'k1.pub.pem'), 'utf8')],
    });
    const verdict = await verifier.verify({
      artifactDigest: after.artifactDigest!,
      artifactHash: after.header.artifact_hash,
      headerDigest: after.headerDigest,
      attachments: after.attachments,
    });
    expect(verdict).toMatchObject({ valid: true });
  });

  test('verifyOnLoad under enforce loads the signed artifact and refuses unsigned or tampered ones', async () => {
    const verifier = await createSigstoreVerifier({
      publicKeys: [await readFile(join(dir, 'k1.pub.pem'))],
    });
    const policy = { mode: 'enforce', requireSignature: true, verifier } as const;
    const load = async (file: string, detached?: string) =>
      verifyOnLoad(
        await readLoadCandidate(
          join(dir, file),
          detached === undefined ? {} : { detachedPath: join(dir, detached) },
        ),
        policy,
      );
    const loaded = await load('gw.plb', 'gw.plb.sigstore.json');
    expect(loaded.verification.status).toBe('verified');
    expect(loaded.verification.signature).toMatchObject({ verifier: 'sigstore:key' });
    expect((await load('att.plb')).verification.status).toBe('verified');
    await expect(load('unsigned.plb', 'unsigned.plb.sigstore.json')).rejects.toThrow();
    await expect(load('tampered.plb', 'gw.plb.sigstore.json')).rejects.toThrow();
    await expect(load('other.plb', 'gw.plb.sigstore.json')).rejects.toThrow();
  });

  test('keyless against mock Fulcio, Rekor and TSA, with the identity policy', async () => {
    await writeFile(join(dir, 'token'), `${identityToken({ iss: ISSUER, sub: IDENTITY })}\n`);
    await writeFile(join(dir, 'trusted_root.json'), JSON.stringify(mock.trustedRoot));
    await seal('kl.plb');
    const signed = await cli([
      'sign',
      'kl.plb',
      '--keyless',
      '--identity-token-file',
      'token',
      '--fulcio-url',
      mock.url,
      '--rekor-url',
      mock.url,
      '--tsa-url',
      mock.url,
      '--rekor-entry-type',
      'intoto',
      '--json',
    ]);
    expect(signed.code, signed.stderr).toBe(0);
    expect(JSON.parse(signed.stdout)).toMatchObject({
      mode: 'keyless',
      tlog_entries: 1,
      timestamps: 1,
    });
    const base = ['verify-signature', 'kl.plb', '--trusted-root', 'trusted_root.json', '--json'];
    const ok = await cli([
      ...base,
      '--certificate-identity',
      IDENTITY,
      '--certificate-oidc-issuer',
      ISSUER,
    ]);
    expect(ok.code, ok.stdout).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      status: 'valid',
      signer: { identity: IDENTITY, issuer: ISSUER },
    });
    const regexp = await cli([
      ...base,
      '--certificate-identity-regexp',
      'https://github\\.com/acme/.*',
      '--certificate-oidc-issuer',
      ISSUER,
    ]);
    expect(regexp.code).toBe(0);
    const wrong = await cli([
      ...base,
      '--certificate-identity',
      'someone@example.com',
      '--certificate-oidc-issuer',
      ISSUER,
    ]);
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.stdout)).toMatchObject({ code: 'PLB_SIGSTORE_IDENTITY' });
    const wrongIssuer = await cli([
      ...base,
      '--certificate-identity',
      IDENTITY,
      '--certificate-oidc-issuer',
      'https://evil.example.com',
    ]);
    expect(wrongIssuer.code).toBe(1);
  });

  test('usage errors exit 2', async () => {
    expect((await cli(['sign', 'gw.plb'])).code).toBe(2);
    expect((await cli(['sign', 'gw.plb', '--keyless'])).code).toBe(2);
    expect((await cli(['sign', 'gw.plb', '--key', 'k1.key.pem', '--keyless'])).code).toBe(2);
    expect(
      (await cli(['sign', 'gw.plb', '--key', 'k1.key.pem', '--rekor-entry-type', 'x'])).code,
    ).toBe(2);
    expect((await cli(['sign', 'gw.plb', '--key', 'missing.pem'])).code).toBe(2);
    expect((await cli(['verify-signature', 'gw.plb'])).code).toBe(2);
    expect(
      (await cli(['verify-signature', 'gw.plb', '--trusted-root', 'trusted_root.json'])).code,
    ).toBe(2);
    const both = await cli([
      'verify-signature',
      'gw.plb',
      '--trusted-root',
      'trusted_root.json',
      '--certificate-identity',
      'a',
      '--certificate-identity-regexp',
      'b',
      '--certificate-oidc-issuer',
      'c',
    ]);
    expect(both.code).toBe(2);
    const badRe = await cli([
      'verify-signature',
      'gw.plb',
      '--trusted-root',
      'trusted_root.json',
      '--certificate-identity-regexp',
      '(',
      '--certificate-oidc-issuer',
      'c',
    ]);
    expect(badRe.code).toBe(2);
  });
});
