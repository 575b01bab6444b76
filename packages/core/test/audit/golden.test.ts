import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TransparencyLogAppender, verifyTransparencyLog } from '@plumbline/core/audit';
import { createKeySignatureVerifier, createKeySigner } from '@plumbline/core/signer';

// The transparency-log format pinned byte for byte: fixed events, origin, times and an Ed25519
// test key (Ed25519 signatures are deterministic). The key is a test fixture, never used elsewhere.
const golden = (name: string): string =>
  fileURLToPath(new URL(`../golden/audit/${name}`, import.meta.url));
const update = process.env['UPDATE_GOLDEN'] === '1';

function event(i: number): string {
  return JSON.stringify({
    schema_version: '1.0',
    id: `01900000-0000-7000-8000-${String(i).padStart(12, '0')}`,
    time: `2026-01-01T00:00:0${i}.000Z`,
    type: 'drift.detected',
    outcome: 'success',
    severity: 'high',
    actor: { type: 'system', id: 'fleet-monitor' },
    subject: { type: 'node', id: `gw-${i}` },
    source: { component: 'control-plane', instance: 'cp-1' },
    details: {
      node_id: `gw-${i}`,
      cluster: 'prod-eu',
      reported_hash: null,
      desired_hash: `sha256:${'ab'.repeat(32)}`,
    },
  });
}

describe('transparency-log golden file', () => {
  it('is reproduced byte for byte and verifies with the public key', async () => {
    const signer = await createKeySigner({
      privateKey: readFileSync(golden('test-signing-key.pem'), 'utf8'),
    });
    const log = TransparencyLogAppender.create({ origin: 'plumbline-audit/golden' });
    const at = (s: number): { signer: typeof signer; time: Date } => ({
      signer,
      time: new Date(Date.UTC(2026, 0, 1, 0, 1, s)),
    });
    const lines = [await log.checkpoint(at(0))];
    for (let i = 0; i < 5; i++) {
      lines.push(log.append(event(i)));
      if (i === 2) lines.push(await log.checkpoint(at(1)));
    }
    lines.push(await log.checkpoint(at(2)));
    const actual = `${lines.join('\n')}\n`;
    const path = golden('transparency-log.jsonl');
    if (update) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, actual);
    }
    expect(actual).toBe(readFileSync(path, 'utf8'));
    const verifier = await createKeySignatureVerifier({
      publicKey: readFileSync(golden('test-signing-key.pub.pem'), 'utf8'),
    });
    const report = await verifyTransparencyLog([Buffer.from(actual)], { verifier });
    expect(report).toMatchObject({
      ok: true,
      records: 5,
      checkpoints: 3,
      sealed_size: 5,
      origin: 'plumbline-audit/golden',
    });
  });
});
