import { describe, expect, it } from 'vitest';
import { createMemoryAuditLogger } from '@plumbline/core/audit';
import { adminAuditHook, createAdminHandler, hashAdminToken } from '@plumbline/core/admin';
import { LoadedArtifactRegistry, verifyOnLoad } from '@plumbline/core/verify';
import { makeCandidate, makeHeader } from '../verify/candidates.js';

const TOKEN = 'audit-hook-token-1';

describe('adminAuditHook', () => {
  it('records provenance reads with the principal and outcome, never the token', async () => {
    const { logger, sink } = createMemoryAuditLogger();
    const registry = new LoadedArtifactRegistry();
    await verifyOnLoad(makeCandidate(), { mode: 'enforce' }, { registry });
    const handler = createAdminHandler({
      source: registry,
      auth: {
        tokens: [{ id: 'ops', sha256: hashAdminToken(TOKEN) }],
        spiffeIds: ['spiffe://example.org/ops/a'],
      },
      onRequest: adminAuditHook(logger, { nodeId: 'gw-1' }),
    });
    const url = 'http://127.0.0.1/_admin/provenance';
    await handler(new Request(url, { headers: { authorization: `Bearer ${TOKEN}` } }), {
      remoteAddress: '127.0.0.1',
    });
    await handler(new Request(url, { headers: { authorization: 'Bearer wrong' } }));
    await handler(new Request(url), {
      clientCertificate: { verified: true, uris: ['spiffe://example.org/ops/a'] },
    });
    await handler(new Request('http://127.0.0.1/_admin/health'));
    await handler(
      new Request(url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } }),
    );
    await logger.flush();
    const events = sink.events;
    expect(events.map((e) => [e.type, e.outcome, e.actor.id])).toEqual([
      ['provenance.read', 'success', 'token/ops'],
      ['provenance.read', 'deny', 'anonymous'],
      ['provenance.read', 'success', 'spiffe://example.org/ops/a'],
      ['provenance.read', 'failure', 'anonymous'],
    ]);
    expect(events[0]?.details).toEqual({
      node_id: 'gw-1',
      artifact_hash: makeHeader().artifact_hash,
      path: '/_admin/provenance',
      status: 200,
    });
    expect(events[0]?.actor.address).toBe('127.0.0.1');
    expect(events[2]?.actor.spiffe_id).toBe('spiffe://example.org/ops/a');
    expect(JSON.stringify(events)).not.toContain(TOKEN);
    await logger.close();
  });

  it('can record every route and reports delivery failures to onError', async () => {
    const { logger, sink } = createMemoryAuditLogger();
    const errors: unknown[] = [];
    const handler = createAdminHandler({
      source: new LoadedArtifactRegistry(),
      auth: { allowUnauthenticated: true },
      onRequest: adminAuditHook(logger, { allRoutes: true, onError: (e) => errors.push(e) }),
    });
    await handler(new Request('http://127.0.0.1/_admin/health'));
    await logger.flush();
    expect(sink.events[0]?.details).toMatchObject({
      path: '/_admin/health',
      status: 200,
      artifact_hash: null,
    });
    await logger.close();
    await handler(new Request('http://127.0.0.1/_admin/health'));
    await new Promise((r) => setTimeout(r, 10));
    expect(errors).toHaveLength(1);
  });
});
