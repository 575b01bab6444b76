import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminHandler, hashAdminToken, type AdminRequestEvent } from '@plumbline/core/admin';
import { startAdminListener, type AdminListener } from '@plumbline/core/node';
import { LoadedArtifactRegistry, verifyOnLoad } from '@plumbline/core/verify';
import { makeCandidate } from '../verify/candidates.js';
import { makeTestPki, type KeyPair, type TestPki } from '@plumbline/testkit/pki';
import { request, type Reply } from './admin-listener-client.js';

const TOKEN = 'tls-admin-token-0c7e55';
const ALLOWED = 'spiffe://example.org/ops/alice';

describe('startAdminListener with TLS and client certificates', () => {
  let pki: TestPki;
  let registry: LoadedArtifactRegistry;
  const events: AdminRequestEvent[] = [];
  const replies: Reply[] = [];
  const listeners: AdminListener[] = [];

  const handler = () =>
    createAdminHandler({
      source: registry,
      auth: { tokens: [{ id: 'ops', sha256: hashAdminToken(TOKEN) }], spiffeIds: [ALLOWED] },
      onRequest: (e) => events.push(e),
      rateLimit: false,
    });

  const start = async (
    clientCertificates: 'none' | 'optional' | 'required',
    host = '127.0.0.1',
  ): Promise<AdminListener> => {
    const listener = await startAdminListener({
      handler: handler(),
      host,
      tls: {
        key: pki.server.key,
        cert: pki.server.cert,
        ...(clientCertificates === 'none' ? {} : { ca: pki.caCert }),
        clientCertificates,
      },
    });
    listeners.push(listener);
    return listener;
  };

  const get = async (
    listener: AdminListener,
    client?: KeyPair,
    headers: Record<string, string> = {},
  ): Promise<Reply> => {
    const url = listener.url.replace('0.0.0.0', '127.0.0.1');
    const reply = await request(url, '/_admin/provenance', {
      ca: pki.caCert,
      headers,
      ...(client === undefined ? {} : { key: client.key, cert: client.cert }),
    });
    replies.push(reply);
    return reply;
  };

  beforeAll(async () => {
    pki = makeTestPki();
    registry = new LoadedArtifactRegistry();
    await verifyOnLoad(makeCandidate(), { mode: 'enforce' }, { registry });
  });

  afterAll(async () => {
    await Promise.all(listeners.map((l) => l.close()));
    for (const reply of replies) {
      expect(reply.body).not.toContain(TOKEN);
      expect(reply.body).not.toContain('PRIVATE KEY');
      expect(reply.body).not.toContain(pki.server.key.slice(40, 80));
    }
    expect(JSON.stringify(events)).not.toContain(TOKEN);
    pki.cleanup();
  });

  it('serves over TLS with a bearer token', async () => {
    const listener = await start('none');
    expect(listener.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((await get(listener, undefined, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await get(listener)).status).toBe(401);
    // Without client certificates configured, a client certificate authenticates nothing.
    expect((await get(listener, pki.alice)).status).toBe(401);
  });

  it('allows a public bind once TLS is configured', async () => {
    const listener = await start('none', '0.0.0.0');
    expect(listener.url.startsWith('https://0.0.0.0:')).toBe(true);
    expect((await get(listener, undefined, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
  });

  describe('optional client certificates', () => {
    let listener: AdminListener;
    beforeAll(async () => {
      listener = await start('optional');
    });

    it('authenticates a certificate with an allowed SPIFFE ID', async () => {
      const reply = await get(listener, pki.alice);
      expect(reply.status).toBe(200);
      expect(events.at(-1)).toMatchObject({
        type: 'provenance.read',
        principal: { id: ALLOWED, methods: ['client_certificate'], spiffe_id: ALLOWED },
      });
    });

    it('answers 401 to a certificate with another SPIFFE ID, none, or two', async () => {
      for (const client of [pki.bob, pki.noSpiffe, pki.twoSpiffe]) {
        const reply = await get(listener, client);
        expect(reply.status).toBe(401);
        expect(reply.body).toBe(
          '{"error":{"code":"PLB_ADMIN_UNAUTHENTICATED","message":"authentication required"}}',
        );
      }
    });

    it('answers 401 to a certificate from another CA and to an expired one, even with a token', async () => {
      for (const client of [pki.foreign, pki.expired]) {
        expect((await get(listener, client)).status).toBe(401);
        expect((await get(listener, client, { authorization: `Bearer ${TOKEN}` })).status).toBe(
          401,
        );
      }
    });

    it('still accepts a token without a certificate, and refuses neither', async () => {
      expect((await get(listener, undefined, { authorization: `Bearer ${TOKEN}` })).status).toBe(
        200,
      );
      expect(events.at(-1)?.principal?.id).toBe('token/ops');
      expect((await get(listener)).status).toBe(401);
    });
  });

  describe('required client certificates', () => {
    let listener: AdminListener;
    beforeAll(async () => {
      listener = await start('required');
    });

    it('serves a valid certificate', async () => {
      expect((await get(listener, pki.alice)).status).toBe(200);
    });

    it('fails the TLS handshake without a valid certificate', async () => {
      for (const client of [undefined, pki.foreign, pki.expired]) {
        await expect(get(listener, client, { authorization: `Bearer ${TOKEN}` })).rejects.toThrow();
      }
    });

    it('answers 401 to a valid certificate whose SPIFFE ID is not allowed', async () => {
      expect((await get(listener, pki.bob)).status).toBe(401);
    });
  });
});
