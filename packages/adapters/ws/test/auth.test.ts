import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PlumblineError } from '@plumbline/core';
import {
  anyAuthenticator,
  createMtlsAuthenticator,
  createTokenAuthenticator,
  hashToken,
  parseNodeTokens,
  parseSpiffeId,
} from '@plumbline/ws';
import type { UpgradeRequestInfo } from '@plumbline/ws';
import type { PeerCertificate } from 'node:tls';

function request(
  headers: Record<string, string>,
  cert?: Partial<PeerCertificate>,
  authorized = true,
): UpgradeRequestInfo {
  return {
    headers,
    remoteAddress: '127.0.0.1',
    tlsAuthorized: authorized,
    peerCertificate: cert as PeerCertificate | undefined,
  };
}

describe('hashToken', () => {
  it('is the SHA-256 of the UTF-8 token in lowercase hex', () => {
    expect(hashToken('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

describe('parseNodeTokens', () => {
  const h1 = hashToken('one');
  const h2 = hashToken('two');
  it('accepts a single hash and a rotation pair', () => {
    const tokens = parseNodeTokens({
      'gw-1': { cluster: 'prod-eu', token_sha256: h1 },
      'gw-2': { cluster: 'prod-eu', token_sha256: [h2, hashToken('three')] },
    });
    expect(tokens['gw-1']).toEqual({ cluster: 'prod-eu', token_sha256: h1 });
    expect(tokens['gw-2']?.token_sha256).toHaveLength(2);
  });
  it.each([
    [[], '(root)'],
    [{ 'gw 1': { cluster: 'c', token_sha256: h1 } }, 'invalid node id'],
    [{ 'gw-1': { token_sha256: h1 } }, 'gw-1.cluster'],
    [{ 'gw-1': { cluster: 'c', token_sha256: h1.toUpperCase() } }, 'gw-1.token_sha256'],
    [{ 'gw-1': { cluster: 'c', token_sha256: [h1, h2, hashToken('x')] } }, 'gw-1.token_sha256'],
    [{ 'gw-1': { cluster: 'c', token_sha256: [] } }, 'gw-1.token_sha256'],
    [{ 'gw-1': 'x' }, 'gw-1'],
    [
      { 'gw-1': { cluster: 'c', token_sha256: h1 }, 'gw-2': { cluster: 'c', token_sha256: h1 } },
      'also used by gw-1',
    ],
  ])('refuses %j naming the problem', (value, fragment) => {
    try {
      parseNodeTokens(value);
      expect.unreachable();
    } catch (error) {
      expect(PlumblineError.is(error, 'PLB_WS_NODE_TOKENS_INVALID')).toBe(true);
      expect((error as Error).message).toContain(fragment);
    }
  });
  it('enforces the node limit before reading entries', () => {
    const value = Object.fromEntries(
      Array.from({ length: 3 }, (_, i) => [
        `n${i}`,
        { cluster: 'c', token_sha256: hashToken(`t${i}`) },
      ]),
    );
    expect(() => parseNodeTokens(value, { maxNodes: 2 })).toThrow(
      expect.objectContaining({ code: 'PLB_WS_NODE_TOKENS_LIMIT' }),
    );
  });
  it('never throws anything but a PlumblineError on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          parseNodeTokens(value);
        } catch (error) {
          expect(PlumblineError.is(error)).toBe(true);
        }
      }),
    );
  });
});

describe('createTokenAuthenticator', () => {
  const auth = createTokenAuthenticator({
    nodes: {
      'gw-1': { cluster: 'prod-eu', token_sha256: hashToken('token-a') },
      'gw-2': { cluster: 'prod-us', token_sha256: [hashToken('old-b'), hashToken('new-b')] },
    },
  });
  it('authenticates a bearer token to its node and cluster', async () => {
    const result = await auth.authenticate(request({ authorization: 'Bearer token-a' }));
    expect(result).toEqual({
      ok: true,
      identity: expect.objectContaining({
        node_id: 'gw-1',
        cluster: 'prod-eu',
        method: 'token',
        principal: 'node:gw-1',
      }),
    });
  });
  it('accepts both tokens of a rotation pair', async () => {
    for (const token of ['old-b', 'new-b']) {
      const result = await auth.authenticate(request({ authorization: `bearer ${token}` }));
      expect(result.ok && result.identity.node_id).toBe('gw-2');
    }
  });
  it('refuses missing, malformed, unknown and oversized tokens', async () => {
    expect(await auth.authenticate(request({}))).toEqual({
      ok: false,
      reason: 'missing_credentials',
    });
    expect(await auth.authenticate(request({ authorization: 'Basic Zm9v' }))).toEqual({
      ok: false,
      reason: 'missing_credentials',
    });
    expect(await auth.authenticate(request({ authorization: 'Bearer nope' }))).toEqual({
      ok: false,
      reason: 'invalid_credentials',
    });
    expect(
      await auth.authenticate(request({ authorization: `Bearer ${'x'.repeat(5000)}` })),
    ).toEqual({ ok: false, reason: 'invalid_credentials' });
  });
  it('never puts the token in the identity', async () => {
    const result = await auth.authenticate(request({ authorization: 'Bearer token-a' }));
    expect(JSON.stringify(result)).not.toContain('token-a');
  });
  it('revokes rotated-out tokens on update and notifies listeners', async () => {
    const local = createTokenAuthenticator({
      nodes: { n: { cluster: 'c', token_sha256: [hashToken('old'), hashToken('new')] } },
    });
    const old = await local.authenticate(request({ authorization: 'Bearer old' }));
    const fresh = await local.authenticate(request({ authorization: 'Bearer new' }));
    if (!old.ok || !fresh.ok) throw new Error('expected success');
    let notified = 0;
    const off = local.onChange!(() => notified++);
    local.update({ n: { cluster: 'c', token_sha256: hashToken('new') } });
    expect(notified).toBe(1);
    expect(local.isValid!(old.identity)).toBe(false);
    expect(local.isValid!(fresh.identity)).toBe(true);
    expect(local.size).toBe(1);
    off();
    local.update({ n: { cluster: 'other', token_sha256: hashToken('new') } });
    expect(notified).toBe(1);
    expect(local.isValid!(fresh.identity)).toBe(false);
  });
});

describe('parseSpiffeId', () => {
  it('parses trust domain and segments', () => {
    expect(parseSpiffeId('spiffe://example.org/cluster/c1/node/gw-1')).toEqual({
      id: 'spiffe://example.org/cluster/c1/node/gw-1',
      trustDomain: 'example.org',
      segments: ['cluster', 'c1', 'node', 'gw-1'],
    });
    expect(parseSpiffeId('spiffe://td').segments).toEqual([]);
  });
  it.each([
    'https://example.org/x',
    'spiffe://',
    'spiffe://Example.org/x',
    'spiffe://example.org/',
    'spiffe://example.org//x',
    'spiffe://example.org/a/../b',
    'spiffe://example.org/a?x=1',
    'spiffe://user@example.org/a',
    'spiffe://example.org:443/a',
    `spiffe://example.org/${'a'.repeat(2100)}`,
  ])('refuses %s', (id) => {
    expect(() => parseSpiffeId(id)).toThrow(
      expect.objectContaining({ code: 'PLB_WS_SPIFFE_INVALID' }),
    );
  });
  it('either parses or throws PLB_WS_SPIFFE_INVALID for any string', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.webUrl().map((u) => u.replace(/^https?/, 'spiffe')),
        ),
        (text) => {
          try {
            const id = parseSpiffeId(text);
            expect(`spiffe://${id.trustDomain}${id.segments.map((s) => `/${s}`).join('')}`).toBe(
              text,
            );
          } catch (error) {
            expect(PlumblineError.is(error, 'PLB_WS_SPIFFE_INVALID')).toBe(true);
          }
        },
      ),
    );
  });
});

describe('createMtlsAuthenticator', () => {
  const cert = (san: string): Partial<PeerCertificate> => ({
    subject: { CN: 'x' } as never,
    subjectaltname: san,
  });
  const auth = createMtlsAuthenticator({ trustDomains: ['example.org'] });
  it('takes the node id and cluster from the SPIFFE URI SAN', async () => {
    const result = await auth.authenticate(
      request({}, cert('DNS:gw-1.local, URI:spiffe://example.org/cluster/prod-eu/node/gw-1')),
    );
    expect(result).toEqual({
      ok: true,
      identity: expect.objectContaining({
        node_id: 'gw-1',
        cluster: 'prod-eu',
        method: 'mtls',
        principal: 'spiffe://example.org/cluster/prod-eu/node/gw-1',
      }),
    });
  });
  it('refuses unverified certificates, other trust domains, several or no SPIFFE SANs', async () => {
    expect(await auth.authenticate(request({}, undefined))).toEqual({
      ok: false,
      reason: 'missing_credentials',
    });
    expect(
      await auth.authenticate(
        request({}, cert('URI:spiffe://example.org/cluster/c/node/n'), false),
      ),
    ).toEqual({ ok: false, reason: 'invalid_credentials' });
    for (const san of [
      'URI:spiffe://evil.org/cluster/c/node/n',
      'DNS:example.org',
      'URI:spiffe://example.org/cluster/c/node/n, URI:spiffe://example.org/cluster/c/node/m',
      'URI:spiffe://example.org/workload/n',
      'URI:spiffe://example.org/cluster/c/node/..',
    ]) {
      expect(await auth.authenticate(request({}, cert(san)))).toEqual({
        ok: false,
        reason: 'unknown_identity',
      });
    }
  });
  it('resolves /node/<id> through an inventory and refuses nodes outside it', async () => {
    const inv = createMtlsAuthenticator({
      trustDomains: ['example.org'],
      nodes: { 'gw-1': { cluster: 'c1' } },
    });
    const ok = await inv.authenticate(request({}, cert('URI:spiffe://example.org/node/gw-1')));
    expect(ok.ok && ok.identity.cluster).toBe('c1');
    expect(
      (await inv.authenticate(request({}, cert('URI:spiffe://example.org/node/gw-2')))).ok,
    ).toBe(false);
    expect(
      (await inv.authenticate(request({}, cert('URI:spiffe://example.org/cluster/c2/node/gw-1'))))
        .ok,
    ).toBe(false);
  });
  it('anyAuthenticator falls back to tokens and reports the most specific failure', async () => {
    const tokens = createTokenAuthenticator({
      nodes: { t: { cluster: 'c', token_sha256: hashToken('tok') } },
    });
    const both = anyAuthenticator([auth, tokens]);
    const viaToken = await both.authenticate(request({ authorization: 'Bearer tok' }));
    expect(viaToken.ok && viaToken.identity.method).toBe('token');
    expect(await both.authenticate(request({ authorization: 'Bearer bad' }))).toEqual({
      ok: false,
      reason: 'invalid_credentials',
    });
    expect(await both.authenticate(request({}))).toEqual({
      ok: false,
      reason: 'missing_credentials',
    });
  });
});
