import { describe, expect, it } from 'vitest';
import { createMemoryAuditLogger } from '@plumbline/core/audit';
import { utf8 } from '@plumbline/core/hash';
import { loadAuditHook, verifyOnLoad } from '@plumbline/core/verify';
import {
  ARTIFACT_DIGEST,
  ARTIFACT_HASH,
  ed25519Keys,
  ed25519Verifier,
  makeCandidate,
  signDigest,
} from './candidates.js';

describe('loadAuditHook', () => {
  it('records loads, warnings and refusals as catalogue events', async () => {
    const { logger, sink } = createMemoryAuditLogger();
    const onAudit = loadAuditHook(logger, { nodeId: 'gw-1', path: '/etc/gw/gateway.plb' });
    const keys = ed25519Keys();
    const verifier = ed25519Verifier(keys.publicKey);
    await verifyOnLoad(
      makeCandidate({ attachments: { sig: signDigest(keys.privateKey, ARTIFACT_DIGEST) } }),
      { mode: 'enforce', requireSignature: true, verifier },
      { onAudit },
    );
    await verifyOnLoad(makeCandidate(), { mode: 'enforce', verifier }, { onAudit });
    await verifyOnLoad(makeCandidate(), { mode: 'enforce' }, { onAudit });
    await verifyOnLoad(makeCandidate(), { mode: 'off' }, { onAudit });
    await verifyOnLoad(makeCandidate({ payload: utf8('x') }), { mode: 'warn' }, { onAudit });
    await verifyOnLoad(
      makeCandidate({ payload: utf8('x') }),
      { mode: 'enforce' },
      { onAudit },
    ).catch(() => undefined);
    await verifyOnLoad(
      { kind: 'legacy', artifactDigest: ARTIFACT_DIGEST },
      { mode: 'warn', requireHeader: false },
      { onAudit },
    );
    // A legacy load without any digest has nothing to name, so it is not recorded.
    await verifyOnLoad({ kind: 'legacy' }, { mode: 'warn', requireHeader: false }, { onAudit });
    await logger.flush();
    const events = sink.events;
    expect(
      events.map((e) => [
        e.type,
        e.outcome,
        (e.details as { signature?: string }).signature ?? (e.details as { stage?: string }).stage,
      ]),
    ).toEqual([
      ['artifact.loaded', 'success', 'valid'],
      ['artifact.loaded', 'success', 'absent'],
      ['artifact.loaded', 'success', 'not_required'],
      ['artifact.loaded', 'success', 'unverified'],
      ['artifact.verification_failed', 'failure', 'payload'],
      ['artifact.loaded', 'success', 'not_required'],
      ['artifact.verification_failed', 'failure', 'payload'],
      ['artifact.loaded', 'success', 'not_required'],
    ]);
    expect(events[0]?.details).toMatchObject({
      artifact_hash: ARTIFACT_HASH,
      artifact_digest: ARTIFACT_DIGEST,
      path: '/etc/gw/gateway.plb',
      signer: 'test-key',
    });
    expect(events[0]?.actor).toEqual({ type: 'node', id: 'gw-1' });
    expect(events[6]?.details).toMatchObject({ code: 'PLB_VERIFY_PAYLOAD_MISMATCH' });
    expect(events[6]?.reason).toBe('load refused (mode enforce)');
    expect(events[7]?.details).toMatchObject({ artifact_hash: ARTIFACT_DIGEST, legacy: true });
    await logger.close();
  });

  it('reports delivery failures to onError', async () => {
    const { logger } = createMemoryAuditLogger();
    await logger.close();
    const errors: unknown[] = [];
    await verifyOnLoad(
      makeCandidate(),
      { mode: 'enforce' },
      { onAudit: loadAuditHook(logger, { onError: (e) => errors.push(e) }) },
    );
    await new Promise((r) => setTimeout(r, 10));
    expect(errors).toHaveLength(1);
  });
});
