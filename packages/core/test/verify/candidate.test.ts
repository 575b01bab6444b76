import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sealArtifact } from '@plumbline/core/container';
import { formatDigest, sha256, utf8 } from '@plumbline/core/hash';
import { readLoadCandidate } from '@plumbline/core/node';
import { LoadedArtifactRegistry, candidateFromBytes, verifyOnLoad } from '@plumbline/core/verify';

const PAYLOAD = utf8('{"routes":[{"path":"/v1/pets"}]}');

async function seal(): Promise<{
  bytes: Uint8Array;
  artifactDigest: string;
  headerDigest: string;
}> {
  const chunks: Uint8Array[] = [];
  const result = await sealArtifact(
    {
      payload: PAYLOAD,
      mediaType: 'application/json',
      manifest: {
        entries: [{ path: 'routes.yaml', size: 3, digest: formatDigest(sha256(utf8('abc'))) }],
      },
      provenance: {
        commit: 'b'.repeat(40),
        source: 'github.com/acme/gateway-config',
        ref: 'refs/heads/main',
        builder: { id: 'acme-compiler', version: '1.0.0' },
      },
      buildTimestamp: '2026-11-01T00:00:00Z',
      sourceDateEpoch: null,
    },
    new WritableStream({ write: (chunk) => void chunks.push(chunk) }),
  );
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.length;
  }
  return { bytes, artifactDigest: result.artifactDigest, headerDigest: result.headerDigest };
}

const dir = mkdtempSync(join(tmpdir(), 'plumbline-candidate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('candidateFromBytes and readLoadCandidate', () => {
  it('opens a sealed artifact that then verifies under enforce', async () => {
    const sealed = await seal();
    const candidate = await candidateFromBytes(sealed.bytes);
    expect(candidate.kind).toBe('container');
    expect(candidate.artifactDigest).toBe(sealed.artifactDigest);
    expect(candidate.payload).toEqual(PAYLOAD);
    const registry = new LoadedArtifactRegistry();
    const loaded = await verifyOnLoad(
      candidate,
      { mode: 'enforce', requireCommit: true },
      { registry },
    );
    expect(loaded.header_digest).toBe(sealed.headerDigest);
    expect(loaded.artifact_digest).toBe(sealed.artifactDigest);
    expect(loaded.verification.status).toBe('verified');
  });

  it('refuses a tampered payload under enforce', async () => {
    const sealed = await seal();
    const tampered = sealed.bytes.slice();
    tampered[tampered.length - 3]! ^= 0x01;
    const candidate = await candidateFromBytes(tampered);
    await expect(verifyOnLoad(candidate, { mode: 'enforce' })).rejects.toMatchObject({
      code: 'PLB_LOAD_REJECTED',
      details: {
        reasons: [
          expect.objectContaining({ rule: 'payload', code: 'PLB_VERIFY_PAYLOAD_MISMATCH' }),
        ],
      },
    });
  });

  it('reports a damaged header through the header rule', async () => {
    const sealed = await seal();
    const truncated = sealed.bytes.subarray(0, 30);
    const candidate = await candidateFromBytes(truncated);
    expect(candidate.headerError).toBeDefined();
    const warned = await verifyOnLoad(candidate, { mode: 'warn' });
    expect(warned.verification.reasons[0]).toMatchObject({
      rule: 'header',
      code: 'PLB_VERIFY_HEADER_INVALID',
    });
    expect(warned.verification.reasons[0]?.message).toContain('PLB_TRUNCATED');
  });

  it('treats a file without the magic as legacy', async () => {
    const bytes = utf8('routes: []\n');
    const candidate = await candidateFromBytes(bytes, { detached: utf8('{}') });
    expect(candidate).toMatchObject({
      kind: 'legacy',
      artifactDigest: formatDigest(sha256(bytes)),
      payload: bytes,
    });
    expect(candidate.detached).toEqual(utf8('{}'));
    await expect(verifyOnLoad(candidate, { mode: 'enforce' })).rejects.toMatchObject({
      code: 'PLB_LOAD_REJECTED',
    });
    expect(
      (await verifyOnLoad(candidate, { mode: 'enforce', requireHeader: false })).verification
        .status,
    ).toBe('unverified');
  });

  it('reads files with limits and an optional detached bundle', async () => {
    const sealed = await seal();
    const path = join(dir, 'gateway.plb');
    writeFileSync(path, sealed.bytes);
    const candidate = await readLoadCandidate(path, {
      detachedPath: join(dir, 'missing.sigstore.json'),
    });
    expect(candidate.artifactDigest).toBe(sealed.artifactDigest);
    expect(candidate.detached).toBeUndefined();
    writeFileSync(`${path}.sigstore.json`, '{"x":1}');
    const withBundle = await readLoadCandidate(path, { detachedPath: `${path}.sigstore.json` });
    expect(withBundle.detached).toEqual(utf8('{"x":1}'));
    await expect(readLoadCandidate(path, { maxFileBytes: 10 })).rejects.toMatchObject({
      code: 'PLB_LIMIT_FILE_SIZE',
    });
    await expect(readLoadCandidate(join(dir, 'nope.plb'))).rejects.toMatchObject({
      code: 'PLB_IO',
    });
    const controller = new AbortController();
    controller.abort();
    await expect(readLoadCandidate(path, { signal: controller.signal })).rejects.toMatchObject({
      code: 'PLB_ABORTED',
    });
  });
});
