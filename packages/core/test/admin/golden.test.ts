import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SDK_ID } from '@plumbline/core';
import { createAdminHandler, hashAdminToken } from '@plumbline/core/admin';
import { LoadedArtifactRegistry, verifyOnLoad } from '@plumbline/core/verify';
import {
  ARTIFACT_DIGEST,
  ed25519Keys,
  ed25519Verifier,
  makeCandidate,
  signDigest,
} from '../verify/candidates.js';

const golden = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden', 'admin');
const update = process.env['UPDATE_GOLDEN'] === '1';

function check(name: string, actual: string): void {
  const path = join(golden, name);
  if (update) writeFileSync(path, actual);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

describe('admin document golden files', () => {
  it('pins the /_admin/provenance document (with entries, workers and a signature)', async () => {
    const registry = new LoadedArtifactRegistry({
      instanceId: '0b9a6c1e-2f4d-4e8a-9c3b-5d7e1f2a3b4c',
    });
    const keys = ed25519Keys();
    const now = () => new Date('2026-11-23T09:30:00.000Z');
    const candidate = makeCandidate({
      attachments: { sig: signDigest(keys.privateKey, ARTIFACT_DIGEST) },
    });
    const policy = {
      mode: 'enforce' as const,
      requireCommit: true,
      requireSignature: true,
      verifier: ed25519Verifier(keys.publicKey),
    };
    await verifyOnLoad(candidate, policy, { registry, now });
    await verifyOnLoad(candidate, policy, { registry, now, workerId: 'w1' });
    const handler = createAdminHandler({
      source: registry,
      auth: { tokens: [{ id: 'ops', sha256: hashAdminToken('t') }] },
    });
    const response = await handler(
      new Request('http://127.0.0.1/_admin/provenance?entries=1', {
        headers: { authorization: 'Bearer t' },
      }),
    );
    const text = await response.text();
    // The SDK version changes with releases; the golden file names it as a placeholder.
    check(
      'provenance.json',
      `${JSON.stringify(JSON.parse(text.replace(SDK_ID, '@plumbline/core@X.Y.Z')), null, 2)}\n`,
    );
    const headers = [...response.headers.entries()]
      .filter(([k]) => k !== 'content-length')
      .map(([k, v]) => `${k}: ${v}`)
      .sort();
    check('provenance.headers.txt', `${headers.join('\n')}\n`);
  });
});
