import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PlumblineError, SDK_ID } from '@plumbline/core';
import {
  createAdminHandler,
  hashAdminToken,
  type AdminHandlerOptions,
  type AdminRequestEvent,
} from '@plumbline/core/admin';
import { LoadedArtifactRegistry, verifyOnLoad } from '@plumbline/core/verify';
import { makeCandidate, makeHeader } from '../verify/candidates.js';

const TOKEN = 'op-token-6f1c2a9e4b7d';
const ORIGIN = 'http://127.0.0.1:9901';

async function loadedRegistry(): Promise<LoadedArtifactRegistry> {
  const registry = new LoadedArtifactRegistry({
    instanceId: '3b0d6a54-8a43-4f55-9d0f-0c6f0f1b7a11',
  });
  await verifyOnLoad(makeCandidate(), { mode: 'enforce', requireCommit: true }, { registry });
  return registry;
}

function handlerWith(
  registry: LoadedArtifactRegistry,
  extra: Partial<AdminHandlerOptions> = {},
): { handler: ReturnType<typeof createAdminHandler>; events: AdminRequestEvent[] } {
  const events: AdminRequestEvent[] = [];
  const handler = createAdminHandler({
    source: registry,
    auth: { tokens: [{ id: 'ops', sha256: hashAdminToken(TOKEN) }] },
    onRequest: (event) => events.push(event),
    ...extra,
  });
  return { handler, events };
}

function get(path: string, init: RequestInit = {}, token: string | null = TOKEN): Request {
  const headers = new Headers(init.headers);
  if (token !== null) headers.set('authorization', `Bearer ${token}`);
  return new Request(ORIGIN + path, { ...init, headers });
}

function expectAdminHeaders(response: Response): void {
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.headers.get('x-content-type-options')).toBe('nosniff');
}

describe('createAdminHandler', () => {
  it('serves the provenance of what is loaded', async () => {
    const registry = await loadedRegistry();
    const { handler, events } = handlerWith(registry);
    const response = await handler(get('/_admin/provenance'), { remoteAddress: '127.0.0.1' });
    expect(response.status).toBe(200);
    expectAdminHeaders(response);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const header = makeHeader();
    expect(response.headers.get('etag')).toBe(`"${header.artifact_hash}"`);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      artifact_hash: header.artifact_hash,
      build_timestamp: header.build_timestamp,
      commit: header.provenance.commit,
      source: header.provenance.source,
      ref: header.provenance.ref,
      builder: header.provenance.builder,
      instance_id: '3b0d6a54-8a43-4f55-9d0f-0c6f0f1b7a11',
      verification: { mode: 'enforce', status: 'verified', reasons: [] },
      signature: null,
      sdk: SDK_ID,
      workers: [],
      last_load_error: null,
    });
    expect(body['entries']).toBeUndefined();
    expect(typeof body['loaded_at']).toBe('string');
    expect(events).toEqual([
      expect.objectContaining({
        type: 'provenance.read',
        method: 'GET',
        path: '/_admin/provenance',
        status: 200,
        outcome: 'allowed',
        principal: { id: 'token/ops', methods: ['token'], token_id: 'ops' },
        remote_address: '127.0.0.1',
        artifact_hash: header.artifact_hash,
      }),
    ]);
    expect(JSON.stringify(events)).not.toContain(TOKEN);
  });

  it('adds the input entries with ?entries=1 and lists workers', async () => {
    const registry = await loadedRegistry();
    await verifyOnLoad(makeCandidate(), { mode: 'warn' }, { registry, workerId: 'w1' });
    const { handler } = handlerWith(registry);
    const body = (await (await handler(get('/_admin/provenance?entries=1'))).json()) as Record<
      string,
      unknown
    >;
    expect(body['entries']).toEqual(makeHeader().inputs);
    expect(body['workers']).toEqual([
      expect.objectContaining({
        id: 'w1',
        artifact_hash: makeHeader().artifact_hash,
        verification_status: 'verified',
      }),
    ]);
    const plain = (await (await handler(get('/_admin/provenance?entries=0'))).json()) as Record<
      string,
      unknown
    >;
    expect(plain['entries']).toBeUndefined();
  });

  it('answers HEAD with the headers and no body, and If-None-Match with 304', async () => {
    const registry = await loadedRegistry();
    const { handler, events } = handlerWith(registry);
    const full = await handler(get('/_admin/provenance'));
    const length = (await full.arrayBuffer()).byteLength;
    const head = await handler(get('/_admin/provenance', { method: 'HEAD' }));
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(length));
    expect(head.body).toBeNull();
    const etag = full.headers.get('etag')!;
    for (const value of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const cached = await handler(
        get('/_admin/provenance', { headers: { 'if-none-match': value } }),
      );
      expect(cached.status).toBe(304);
      expect(cached.headers.get('etag')).toBe(etag);
      expectAdminHeaders(cached);
      expect(await cached.text()).toBe('');
    }
    const changed = await handler(
      get('/_admin/provenance', { headers: { 'if-none-match': '"sha256:00"' } }),
    );
    expect(changed.status).toBe(200);
    expect(events.filter((e) => e.outcome === 'not_modified')).toHaveLength(4);
  });

  it('follows a new load (the cached document is rebuilt)', async () => {
    const registry = await loadedRegistry();
    const { handler } = handlerWith(registry);
    const first = (await (await handler(get('/_admin/provenance'))).json()) as {
      loaded_at: string;
      workers: unknown[];
    };
    await verifyOnLoad(makeCandidate(), { mode: 'enforce' }, { registry, workerId: 'w9' });
    const second = (await (await handler(get('/_admin/provenance'))).json()) as {
      workers: unknown[];
    };
    expect(first.workers).toHaveLength(0);
    expect(second.workers).toHaveLength(1);
  });

  it('serves health without credentials, or with them when required', async () => {
    const registry = new LoadedArtifactRegistry();
    const { handler } = handlerWith(registry);
    const health = await handler(get('/_admin/health', {}, null));
    expect(health.status).toBe(200);
    expectAdminHeaders(health);
    expect(await health.json()).toEqual({ status: 'ok' });
    const strict = handlerWith(registry, { healthRequiresAuth: true }).handler;
    expect((await strict(get('/_admin/health', {}, null))).status).toBe(401);
    expect((await strict(get('/_admin/health'))).status).toBe(200);
  });

  it('answers 503 before anything is loaded and serves a legacy artifact without an ETag', async () => {
    const registry = new LoadedArtifactRegistry();
    const { handler } = handlerWith(registry);
    const early = await handler(get('/_admin/provenance'));
    expect(early.status).toBe(503);
    expect(await early.json()).toEqual({
      error: { code: 'PLB_ADMIN_NOT_LOADED', message: 'no artifact is loaded yet' },
    });
    await verifyOnLoad({ kind: 'legacy' }, { mode: 'warn' }, { registry });
    const legacy = await handler(get('/_admin/provenance', { headers: { 'if-none-match': '*' } }));
    expect(legacy.status).toBe(200);
    expect(legacy.headers.get('etag')).toBeNull();
    expect(await legacy.json()).toMatchObject({
      artifact_hash: null,
      verification: { status: 'warned' },
    });
  });

  it('answers 404 for other paths and 405 with Allow for other methods', async () => {
    const registry = await loadedRegistry();
    const { handler, events } = handlerWith(registry);
    for (const path of [
      '/',
      '/_admin',
      '/_admin/',
      '/_admin/provenance/',
      '/_admin/Provenance',
      '/_admin/provenance.json',
      '/_admin/%2e%2e/provenance',
      '/_admin/provenance%2F',
      '/other/_admin/provenance',
    ]) {
      const response = await handler(get(path));
      expect(response.status, path).toBe(404);
      expectAdminHeaders(response);
      expect(await response.json()).toEqual({
        error: { code: 'PLB_ADMIN_NOT_FOUND', message: 'no such admin resource' },
      });
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const response = await handler(
        get('/_admin/provenance', { method, headers: { 'x-http-method-override': 'GET' } }),
      );
      expect(response.status, method).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
      expectAdminHeaders(response);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
        'PLB_ADMIN_METHOD_NOT_ALLOWED',
      );
    }
    expect(
      events.some((e) => e.outcome === 'method_not_allowed' && e.type === 'provenance.read'),
    ).toBe(true);
    expect(events.some((e) => e.outcome === 'not_found' && e.type === 'admin.request')).toBe(true);
  });

  it('answers 401 alike for a missing, wrong or malformed token', async () => {
    const registry = await loadedRegistry();
    const { handler, events } = handlerWith(registry);
    const attempts: (string | undefined)[] = [
      undefined,
      'Bearer wrong-token',
      `Bearer ${TOKEN}x`,
      `Basic ${btoa(`ops:${TOKEN}`)}`,
      `Bearer ${TOKEN} extra`,
      `Bearer ${'a'.repeat(5000)}`,
      'Bearer',
      'Bearer ä',
      `bearer ${TOKEN}, Bearer ${TOKEN}`,
    ];
    const bodies = new Set<string>();
    for (const authorization of attempts) {
      const request = new Request(`${ORIGIN}/_admin/provenance`, {
        headers: authorization === undefined ? {} : { authorization },
      });
      const response = await handler(request);
      expect(response.status, authorization).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="plumbline-admin"');
      expectAdminHeaders(response);
      bodies.add(await response.text());
    }
    expect([...bodies]).toEqual([
      '{"error":{"code":"PLB_ADMIN_UNAUTHENTICATED","message":"authentication required"}}',
    ]);
    expect(events.every((e) => e.principal === null && e.outcome === 'unauthenticated')).toBe(true);
    expect(JSON.stringify(events)).not.toContain('wrong-token');
    // The scheme is case-insensitive.
    const ok = await handler(
      new Request(`${ORIGIN}/_admin/provenance`, { headers: { authorization: `bearer ${TOKEN}` } }),
    );
    expect(ok.status).toBe(200);
  });

  it('accepts any of several tokens and names the holder', async () => {
    const registry = await loadedRegistry();
    const { handler, events } = handlerWith(registry, {
      auth: {
        tokens: [
          { id: 'ops', sha256: hashAdminToken(TOKEN) },
          { id: 'ci', sha256: `sha256:${hashAdminToken('ci-token')}` },
        ],
      },
    });
    expect((await handler(get('/_admin/provenance', {}, 'ci-token'))).status).toBe(200);
    expect(events[0]?.principal?.id).toBe('token/ci');
  });

  it('authenticates a verified client certificate by its SPIFFE ID', async () => {
    const registry = await loadedRegistry();
    const { handler, events } = handlerWith(registry, {
      auth: {
        tokens: [{ id: 'ops', sha256: hashAdminToken(TOKEN) }],
        spiffeIds: ['spiffe://example.org/ops/alice', 'spiffe://example.org/sre/*'],
      },
    });
    const cert = (uris: string[], verified = true) => ({ clientCertificate: { verified, uris } });
    const req = () => get('/_admin/provenance', {}, null);
    expect((await handler(req(), cert(['spiffe://example.org/ops/alice']))).status).toBe(200);
    expect(events.at(-1)?.principal).toEqual({
      id: 'spiffe://example.org/ops/alice',
      methods: ['client_certificate'],
      spiffe_id: 'spiffe://example.org/ops/alice',
    });
    expect((await handler(req(), cert(['spiffe://example.org/sre/bob']))).status).toBe(200);
    expect((await handler(req(), cert(['spiffe://example.org/sre/']))).status).toBe(401);
    expect((await handler(req(), cert(['spiffe://example.org/ops/alice2']))).status).toBe(401);
    expect(await handler(req(), cert(['spiffe://example.org/ops/alice'], false))).toHaveProperty(
      'status',
      401,
    );
    expect((await handler(req(), cert([]))).status).toBe(401);
    expect(
      (await handler(req(), cert(['spiffe://example.org/ops/alice', 'spiffe://example.org/sre/x'])))
        .status,
    ).toBe(401);
    // A valid certificate next to a wrong token still fails; with the right token both are named.
    expect(
      (
        await handler(
          get('/_admin/provenance', {}, 'nope'),
          cert(['spiffe://example.org/ops/alice']),
        )
      ).status,
    ).toBe(401);
    expect(
      (await handler(get('/_admin/provenance'), cert(['spiffe://example.org/ops/alice']))).status,
    ).toBe(200);
    expect(events.at(-1)?.principal?.methods).toEqual(['token', 'client_certificate']);
    // A token alone still works under "any".
    expect((await handler(get('/_admin/provenance'))).status).toBe(200);
  });

  it('requires both credentials under require: "all"', async () => {
    const registry = await loadedRegistry();
    const { handler } = handlerWith(registry, {
      auth: {
        tokens: [{ id: 'ops', sha256: hashAdminToken(TOKEN) }],
        spiffeIds: ['spiffe://example.org/ops/alice'],
        require: 'all',
      },
    });
    const cert = {
      clientCertificate: { verified: true, uris: ['spiffe://example.org/ops/alice'] },
    };
    expect((await handler(get('/_admin/provenance'))).status).toBe(401);
    expect((await handler(get('/_admin/provenance', {}, null), cert)).status).toBe(401);
    expect((await handler(get('/_admin/provenance'), cert)).status).toBe(200);
  });

  it("remembers a connection's credentials only for exactly the same token and certificate", async () => {
    const registry = await loadedRegistry();
    const { handler, events } = handlerWith(registry, {
      auth: {
        tokens: [{ id: 'ops', sha256: hashAdminToken(TOKEN) }],
        spiffeIds: ['spiffe://example.org/ops/alice'],
        require: 'all',
      },
    });
    const alice = { verified: true, uris: ['spiffe://example.org/ops/alice'] };
    const mallory = { verified: true, uris: ['spiffe://example.org/ops/mallory'] };
    const connection = {};
    const other = {};
    const status = async (token: string | null, cert: object, conn: object): Promise<number> =>
      (
        await handler(get('/_admin/provenance', {}, token), {
          clientCertificate: cert as typeof alice,
          connection: conn,
        })
      ).status;
    expect(await status(TOKEN, alice, connection)).toBe(200);
    expect(await status(TOKEN, alice, connection)).toBe(200);
    // Another certificate on the same connection object is checked afresh.
    expect(await status(TOKEN, mallory, connection)).toBe(401);
    expect(await status(`${TOKEN}x`, alice, connection)).toBe(401);
    expect(await status(null, alice, connection)).toBe(401);
    expect(await status(TOKEN, alice, other)).toBe(200);
    expect(events.filter((e) => e.status === 200).map((e) => e.principal?.id)).toEqual([
      'spiffe://example.org/ops/alice',
      'spiffe://example.org/ops/alice',
      'spiffe://example.org/ops/alice',
    ]);
  });

  it('ignores certificates when only tokens are configured, and serves anonymously only when asked', async () => {
    const registry = await loadedRegistry();
    const { handler } = handlerWith(registry);
    const cert = { clientCertificate: { verified: false, uris: [] } };
    expect((await handler(get('/_admin/provenance'), cert)).status).toBe(200);
    const open = handlerWith(registry, { auth: { allowUnauthenticated: true } }).handler;
    expect((await open(get('/_admin/provenance', {}, null))).status).toBe(200);
    expect((await open(get('/_admin/provenance', {}, 'anything'))).status).toBe(401);
  });

  it('rate-limits each client and says when to retry', async () => {
    const registry = await loadedRegistry();
    let clock = 1_000_000;
    const { handler, events } = handlerWith(registry, {
      rateLimit: { requestsPerSecond: 1, burst: 3, maxClients: 2 },
      now: () => clock,
    });
    const from = (remoteAddress: string) => handler(get('/_admin/provenance'), { remoteAddress });
    for (let i = 0; i < 3; i++) expect((await from('10.0.0.1')).status).toBe(200);
    const limited = await from('10.0.0.1');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expectAdminHeaders(limited);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe(
      'PLB_ADMIN_RATE_LIMITED',
    );
    expect((await from('10.0.0.2')).status).toBe(200);
    clock += 1000;
    expect((await from('10.0.0.1')).status).toBe(200);
    expect((await from('10.0.0.1')).status).toBe(429);
    // A third client evicts the least recently seen one.
    expect((await from('10.0.0.3')).status).toBe(200);
    expect(events.filter((e) => e.outcome === 'rate_limited')).toHaveLength(2);
    const unlimited = handlerWith(registry, { rateLimit: false }).handler;
    for (let i = 0; i < 50; i++)
      expect((await unlimited(get('/_admin/provenance'))).status).toBe(200);
    const custom = handlerWith(registry, {
      rateLimit: { requestsPerSecond: 1, burst: 1 },
      rateLimitKey: (request) => request.headers.get('x-client') ?? 'none',
    }).handler;
    expect((await custom(get('/_admin/provenance', { headers: { 'x-client': 'a' } }))).status).toBe(
      200,
    );
    expect((await custom(get('/_admin/provenance', { headers: { 'x-client': 'b' } }))).status).toBe(
      200,
    );
    expect((await custom(get('/_admin/provenance', { headers: { 'x-client': 'a' } }))).status).toBe(
      429,
    );
  });

  it('answers 414 for an over-long URL and 500 when the source throws, never throwing itself', async () => {
    const registry = await loadedRegistry();
    const { handler, events } = handlerWith(registry);
    const long = await handler(get(`/_admin/provenance?x=${'a'.repeat(3000)}`));
    expect(long.status).toBe(414);
    const broken = handlerWith(new LoadedArtifactRegistry(), {
      source: {
        snapshot: () => {
          throw new Error('secret-internal-detail');
        },
      },
      onRequest: () => {
        throw new Error('audit hook bug');
      },
    }).handler;
    const response = await broken(get('/_admin/provenance'));
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).toBe('{"error":{"code":"PLB_INTERNAL","message":"internal error"}}');
    expect(events.at(-1)?.status).toBe(414);
  });

  it('never serves credentials embedded in provenance URLs', async () => {
    const registry = new LoadedArtifactRegistry();
    const header = makeHeader({
      provenance: {
        ...makeHeader().provenance,
        source: 'https://deploy:ghp_secretvalue@github.com/acme/config',
        build_url: 'https://user:pw-secret@ci.example/build/1',
      },
    });
    await verifyOnLoad(makeCandidate({ header }), { mode: 'enforce' }, { registry });
    const { handler } = handlerWith(registry);
    const text = await (await handler(get('/_admin/provenance?entries=1'))).text();
    expect(text).not.toContain('ghp_secretvalue');
    expect(text).not.toContain('pw-secret');
    expect(JSON.parse(text)).toMatchObject({
      source: 'https://github.com/acme/config',
      build_url: 'https://ci.example/build/1',
    });
  });

  it('refuses configurations that would fail open or are malformed', () => {
    const source = new LoadedArtifactRegistry();
    const bad: Partial<AdminHandlerOptions>[] = [
      { auth: {} },
      { auth: { tokens: [] } },
      { auth: { tokens: [{ id: 'ops', sha256: 'abc' }] } },
      { auth: { tokens: [{ id: 'ops', sha256: hashAdminToken('x').toUpperCase() }] } },
      { auth: { tokens: [{ id: '', sha256: hashAdminToken('x') }] } },
      { auth: { spiffeIds: ['https://example.org/x'] } },
      { auth: { spiffeIds: ['spiffe://Example.org/x'] } },
      { auth: { tokens: [{ id: 'a', sha256: hashAdminToken('x') }], require: 'all' } },
      { auth: { tokens: [{ id: 'a', sha256: hashAdminToken('x') }], require: 'some' as never } },
      { auth: { allowUnauthenticated: true, maxTokenLength: 0 } },
      { auth: { allowUnauthenticated: true }, basePath: 'admin' },
      { auth: { allowUnauthenticated: true }, basePath: '/a/../b' },
      { auth: { allowUnauthenticated: true }, maxUrlLength: 10 },
      { auth: { allowUnauthenticated: true }, rateLimit: { requestsPerSecond: 0 } },
      { auth: { allowUnauthenticated: true }, rateLimit: { burst: Infinity } },
      { auth: { allowUnauthenticated: true }, rateLimit: { maxClients: 0 } },
      { auth: { allowUnauthenticated: true }, source: {} as never },
    ];
    for (const options of bad) {
      let error: unknown;
      try {
        createAdminHandler({ source, ...options } as AdminHandlerOptions);
      } catch (e) {
        error = e;
      }
      expect(PlumblineError.is(error, 'PLB_ADMIN_CONFIG_INVALID'), JSON.stringify(options)).toBe(
        true,
      );
    }
  });

  it('hashes tokens as hex SHA-256', () => {
    expect(hashAdminToken('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('answers every request path and authorization header with a well-formed JSON response', async () => {
    const registry = await loadedRegistry();
    const { handler } = handlerWith(registry, { rateLimit: false });
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[A-Za-z0-9._~\-/]{0,40}$/),
        fc.option(fc.string({ maxLength: 80 }).filter((s) => /^[\x20-\x7e]*$/.test(s))),
        async (path, authorization) => {
          const request = new Request(`${ORIGIN}/${path}`, {
            headers: authorization === null ? {} : { authorization },
          });
          const response = await handler(request);
          expect([200, 401, 404]).toContain(response.status);
          expectAdminHeaders(response);
          const body = await response.json();
          if (response.status !== 200) expect(body).toHaveProperty('error.code');
          if (response.status === 200 && path !== '_admin/health') {
            expect(authorization).toMatch(new RegExp(`^bearer +${TOKEN} *$`, 'i'));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
