import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PlumblineError } from '@plumbline/core';
import { createAdminHandler, hashAdminToken, type AdminRequestEvent } from '@plumbline/core/admin';
import {
  isLoopbackHost,
  parseSubjectAltNames,
  startAdminListener,
  type AdminListener,
} from '@plumbline/core/node';
import { LoadedArtifactRegistry, verifyOnLoad } from '@plumbline/core/verify';
import { declaredBodyLength, isCanonicalTarget, rawHeader } from '../../src/node/admin-listener.js';
import { makeCandidate, makeHeader } from '../verify/candidates.js';
import { rawExchange, rawRequest, request, type Reply } from './admin-listener-client.js';

const TOKEN = 'listener-token-93b1f0c4d2';
const ENV_SECRET = 'env-secret-7d2c91aa0f';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('startAdminListener (plain HTTP on loopback)', () => {
  let registry: LoadedArtifactRegistry;
  let listener: AdminListener;
  const events: AdminRequestEvent[] = [];
  const replies: Reply[] = [];
  const send = async (
    path: string,
    options: Parameters<typeof request>[2] = {},
  ): Promise<Reply> => {
    const reply = await request(listener.url, path, options);
    replies.push(reply);
    return reply;
  };
  const raw = async (text: string): Promise<Reply> => {
    const reply = await rawRequest(listener.url, text);
    replies.push(reply);
    return reply;
  };

  beforeAll(async () => {
    process.env['PLUMBLINE_TEST_SECRET'] = ENV_SECRET;
    registry = new LoadedArtifactRegistry();
    await verifyOnLoad(makeCandidate(), { mode: 'enforce' }, { registry });
    listener = await startAdminListener({
      handler: createAdminHandler({
        source: registry,
        auth: { tokens: [{ id: 'ops', sha256: hashAdminToken(TOKEN) }] },
        rateLimit: { requestsPerSecond: 1000, burst: 1000 },
        onRequest: (e) => events.push(e),
      }),
      maxHeaderSize: 2048,
    });
  });

  afterAll(async () => {
    await listener.close();
    delete process.env['PLUMBLINE_TEST_SECRET'];
    for (const reply of replies) {
      expect(reply.body).not.toContain(TOKEN);
      expect(reply.body).not.toContain(ENV_SECRET);
    }
    expect(JSON.stringify(events)).not.toContain(TOKEN);
  });

  it('binds 127.0.0.1 on a free port by default', () => {
    expect(listener.host).toBe('127.0.0.1');
    expect(listener.port).toBeGreaterThan(0);
    expect(listener.url).toBe(`http://127.0.0.1:${listener.port}`);
  });

  it('serves GET and HEAD /_admin/provenance to an authenticated client', async () => {
    const reply = await send('/_admin/provenance?entries=1', { headers: auth });
    expect(reply.status).toBe(200);
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(reply.headers['x-content-type-options']).toBe('nosniff');
    expect(reply.headers['etag']).toBe(`"${makeHeader().artifact_hash}"`);
    const body = JSON.parse(reply.body) as Record<string, unknown>;
    expect(body['artifact_hash']).toBe(makeHeader().artifact_hash);
    expect(body['entries']).toEqual(makeHeader().inputs);
    const head = await send('/_admin/provenance', { method: 'HEAD', headers: auth });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(Number(head.headers['content-length'])).toBeGreaterThan(100);
    const cached = await send('/_admin/provenance', {
      headers: { ...auth, 'if-none-match': reply.headers['etag'] as string },
    });
    expect(cached.status).toBe(304);
    expect(events.at(-1)).toMatchObject({
      outcome: 'not_modified',
      remote_address: '127.0.0.1',
      principal: { id: 'token/ops' },
    });
  });

  it('answers 401 without detail to an unauthenticated client or a wrong token', async () => {
    const none = await send('/_admin/provenance');
    const wrong = await send('/_admin/provenance', { headers: { authorization: 'Bearer nope' } });
    const env = await send('/_admin/provenance', {
      headers: { authorization: `Bearer ${ENV_SECRET}` },
    });
    const twice = await raw(
      `GET /_admin/provenance HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`,
    );
    for (const reply of [none, wrong, env, twice]) {
      expect(reply.status).toBe(401);
      expect(reply.headers['www-authenticate']).toBe('Bearer realm="plumbline-admin"');
      expect(reply.body).toBe(
        '{"error":{"code":"PLB_ADMIN_UNAUTHENTICATED","message":"authentication required"}}',
      );
    }
  });

  it('serves health without credentials', async () => {
    const reply = await send('/_admin/health');
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ status: 'ok' });
  });

  it('answers 431 with JSON to an oversized request head', async () => {
    const reply = await send('/_admin/provenance', {
      headers: { ...auth, 'x-padding': 'a'.repeat(4096) },
    });
    expect(reply.status).toBe(431);
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(reply.body)).toEqual({
      error: { code: 'PLB_ADMIN_HEADERS_TOO_LARGE', message: 'the request head is too large' },
    });
    const many = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`h${i}`, '1']));
    const counted = await send('/_admin/provenance', { headers: { ...auth, ...many } });
    expect(counted.status).toBe(200);
  });

  it('answers 404 to path traversal and non-canonical targets, even with a valid token', async () => {
    const targets = [
      '/_admin/../_admin/provenance',
      '/_admin/./provenance',
      '/x/../_admin/provenance',
      '/_admin/%2e%2e/_admin/provenance',
      '/_admin/%2E%2E/provenance',
      '/_admin%2Fprovenance',
      '/_admin/provenance%00',
      '//_admin/provenance',
      '/_admin//provenance',
      '/_admin\\provenance',
      '/_admin/provenance/..',
      '/../../etc/passwd',
      'http://evil.example/_admin/provenance',
      '*',
    ];
    for (const target of targets) {
      const reply = await raw(
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`,
      );
      expect(reply.status, target).toBe(404);
      expect(JSON.parse(reply.body), target).toEqual({
        error: { code: 'PLB_ADMIN_NOT_FOUND', message: 'no such admin resource' },
      });
      expect(reply.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('answers method confusion with 405, 400 or 413', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      const reply = await send('/_admin/provenance', { method, headers: auth });
      expect(reply.status, method).toBe(405);
      expect(reply.headers['allow']).toBe('GET, HEAD');
    }
    const track = await raw(
      'TRACK /_admin/provenance HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(track.status).toBe(400);
    for (const method of ['TRACE']) {
      const reply = await raw(
        `${method} /_admin/provenance HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      expect(reply.status, method).toBe(405);
      expect(reply.headers['allow']).toBe('GET, HEAD');
    }
    const connect = await raw('CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');
    expect(connect.status).toBe(405);
    const lower = await raw('get /_admin/provenance HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(lower.status).toBe(400);
    expect(JSON.parse(lower.body)).toMatchObject({ error: { code: 'PLB_ADMIN_BAD_REQUEST' } });
    const garbage = await raw('\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n');
    expect(garbage.status).toBe(400);
    const override = await send('/_admin/provenance', {
      headers: { ...auth, 'x-http-method-override': 'DELETE' },
    });
    expect(override.status).toBe(200);
    const body = await raw(
      `GET /_admin/provenance HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 5\r\n\r\nhello`,
    );
    expect(body.status).toBe(413);
    expect(body.headers['connection']).toBe('close');
    const chunked = await raw(
      `POST /_admin/provenance HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    );
    expect(chunked.status).toBe(413);
    const zero = await raw(
      `GET /_admin/health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
    expect(zero.status).toBe(200);
  });
});

/** A listener serving a registry with one artifact loaded, token auth for TOKEN. */
async function startLoaded(
  handlerOptions: Partial<Parameters<typeof createAdminHandler>[0]>,
  listenerOptions: Partial<Parameters<typeof startAdminListener>[0]> = {},
): Promise<AdminListener> {
  const registry = new LoadedArtifactRegistry();
  await verifyOnLoad(makeCandidate(), { mode: 'enforce' }, { registry });
  return await startAdminListener({
    handler: createAdminHandler({
      source: registry,
      auth: { tokens: [{ id: 'ops', sha256: hashAdminToken(TOKEN) }] },
      ...handlerOptions,
    }),
    ...listenerOptions,
  });
}

describe('startAdminListener keep-alive', () => {
  it('discards a permitted body and answers the next request on the same connection', async () => {
    const listener = await startLoaded({}, { maxBodyBytes: 16 });
    try {
      const first = `GET /_admin/provenance HTTP/1.1\r\nHost: x\r\nauthorization: Bearer ${TOKEN}\r\nContent-Length: 5\r\n\r\nhello`;
      const second = `GET /_admin/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
      const text = await rawExchange(listener.url, first + second);
      const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
      expect(statuses).toEqual([200, 200]);
      expect(text).toContain('"status":"ok"');
      expect(text).toContain('"artifact_hash"');
    } finally {
      await listener.close();
    }
  });
});

describe('startAdminListener and credentials on one connection', () => {
  it('checks every request: a changed token on a kept-alive connection is refused', async () => {
    const events: AdminRequestEvent[] = [];
    const listener = await startLoaded({ rateLimit: false, onRequest: (e) => events.push(e) });
    try {
      const get = (token: string, close = false): string =>
        `GET /_admin/provenance HTTP/1.1\r\nHost: x\r\nauthorization: Bearer ${token}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
      // Same length as the right token, one character off.
      const near = `${TOKEN.slice(0, -1)}${TOKEN.endsWith('a') ? 'b' : 'a'}`;
      const text = await rawExchange(
        listener.url,
        get(TOKEN) + get(TOKEN) + get(near) + get('short') + get(TOKEN, true),
      );
      const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
      expect(statuses).toEqual([200, 200, 401, 401, 200]);
      expect(events.map((e) => e.principal?.id ?? null)).toEqual([
        'token/ops',
        'token/ops',
        null,
        null,
        'token/ops',
      ]);
    } finally {
      await listener.close();
    }
  });
});

describe('startAdminListener options and lifecycle', () => {
  const handler = createAdminHandler({
    source: new LoadedArtifactRegistry(),
    auth: { allowUnauthenticated: true },
  });

  it('refuses a public bind without TLS', async () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.10', 'gateway.example']) {
      const error = await startAdminListener({ handler, host }).catch((e: unknown) => e);
      expect(PlumblineError.is(error, 'PLB_ADMIN_INSECURE_BIND'), host).toBe(true);
    }
  });

  it('binds a public address when explicitly allowed', async () => {
    const listener = await startAdminListener({
      handler,
      host: '0.0.0.0',
      allowInsecureBind: true,
    });
    expect(listener.host).toBe('0.0.0.0');
    await listener.close();
  });

  it('binds IPv6 loopback and localhost', async () => {
    const v6 = await startAdminListener({ handler, host: '::1' }).catch(() => undefined);
    if (v6 !== undefined) {
      expect(v6.url).toBe(`http://[::1]:${v6.port}`);
      expect((await request(v6.url, '/_admin/health')).status).toBe(200);
      await v6.close();
    }
    const local = await startAdminListener({ handler, host: 'localhost' });
    await local.close();
  });

  it('reports a port in use and rejects malformed options', async () => {
    const first = await startAdminListener({ handler });
    const error = await startAdminListener({ handler, port: first.port }).catch((e: unknown) => e);
    expect(PlumblineError.is(error, 'PLB_ADMIN_LISTEN_FAILED')).toBe(true);
    expect((error as PlumblineError).message).toContain('EADDRINUSE');
    await first.close();
    const bad = [
      { handler: undefined },
      { handler, port: 70000 },
      { handler, maxHeaderSize: 10 },
      { handler, maxBodyBytes: -1 },
      { handler, maxConnections: 0 },
      { handler, tls: { key: 'k', cert: 'c', clientCertificates: 'required' } },
    ];
    for (const options of bad) {
      await expect(startAdminListener(options as never)).rejects.toMatchObject({
        code: 'PLB_ADMIN_CONFIG_INVALID',
      });
    }
  });

  it('answers 408 with JSON to a client that does not finish its request head in time', async () => {
    const listener = await startAdminListener({
      handler,
      headersTimeoutMs: 200,
      requestTimeoutMs: 200,
    });
    const reply = await rawRequest(listener.url, 'GET /_admin/health HTTP/1.1\r\nHost: x\r\n');
    expect(reply.status).toBe(408);
    expect(JSON.parse(reply.body)).toEqual({
      error: { code: 'PLB_ADMIN_TIMEOUT', message: 'the request took too long' },
    });
    await listener.close();
  });

  it('closes gracefully: in-flight requests finish, new ones are refused', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered: () => void = () => undefined;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const listener = await startAdminListener({
      handler: async () => {
        entered();
        await gate;
        return new Response('slow', { status: 200 });
      },
    });
    const pending = request(listener.url, '/_admin/health');
    await inside;
    const closed = listener.close({ graceMs: 10_000 });
    release();
    const reply = await pending;
    expect(reply.body).toBe('slow');
    await closed;
    await expect(request(listener.url, '/_admin/health')).rejects.toThrow();
    await listener.close();
  });

  it('cuts connections that outlive the grace period, and closes on abort', async () => {
    const listener = await startAdminListener({
      handler: () => new Promise<Response>(() => undefined),
    });
    const pending = request(listener.url, '/_admin/health').catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await listener.close({ graceMs: 20 });
    expect(await pending).toBeInstanceOf(Error);
    const controller = new AbortController();
    const aborted = await startAdminListener({ handler, signal: controller.signal });
    controller.abort();
    await aborted.close();
    await expect(request(aborted.url, '/_admin/health')).rejects.toThrow();
    const early = new AbortController();
    early.abort();
    const never = await startAdminListener({ handler, signal: early.signal });
    await expect(request(never.url, '/_admin/health')).rejects.toThrow();
  });

  it('serves an admin handler that needs the Request (custom rate-limit key) through the WHATWG path', async () => {
    const listener = await startLoaded({
      rateLimit: { requestsPerSecond: 1, burst: 2 },
      rateLimitKey: (request) => request.headers.get('x-tenant') ?? 'none',
    });
    const headers = { ...auth, 'x-tenant': 'a' };
    const first = await request(listener.url, '/_admin/provenance?entries=1', { headers });
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ entries: makeHeader().inputs });
    const head = await request(listener.url, '/_admin/provenance', { method: 'HEAD', headers });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await request(listener.url, '/_admin/provenance', { headers })).status).toBe(429);
    expect(
      (await request(listener.url, '/_admin/provenance', { headers: { ...auth, 'x-tenant': 'b' } }))
        .status,
    ).toBe(200);
    await listener.close();
  });

  it('streams foreign responses, answers 500 when a handler throws, and keeps multiple cookies', async () => {
    let mode = 'stream';
    const listener = await startAdminListener({
      handler: async () => {
        if (mode === 'throw') throw new Error('handler bug with secret');
        const headers = new Headers();
        headers.append('set-cookie', 'a=1');
        headers.append('set-cookie', 'b=2');
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('part1-'));
            controller.enqueue(new TextEncoder().encode('part2'));
            controller.close();
          },
        });
        return new Response(stream, { status: 200, headers });
      },
    });
    const streamed = await request(listener.url, '/_admin/health');
    expect(streamed.body).toBe('part1-part2');
    expect(streamed.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    mode = 'throw';
    const failed = await request(listener.url, '/_admin/health');
    expect(failed.status).toBe(500);
    expect(failed.body).not.toContain('secret');
    await listener.close();
  });
});

describe('listener helpers', () => {
  it('knows loopback addresses', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '[::1]',
      'localhost',
      'LOCALHOST',
      '::ffff:127.0.0.1',
      '0:0:0:0:0:0:0:1',
    ]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of [
      '0.0.0.0',
      '::',
      '10.0.0.1',
      '128.0.0.1',
      'localhost.evil.example',
      '::ffff:10.0.0.1',
      '',
    ]) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('accepts only canonical origin-form targets', () => {
    expect(isCanonicalTarget('/_admin/provenance?entries=1')).toBe(true);
    expect(isCanonicalTarget('/_admin/provenance?next=../x')).toBe(true);
    expect(isCanonicalTarget('/_admin/provenance#x')).toBe(false);
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', '.', '..', '%2e', '', '_admin', '\\'), { maxLength: 6 }),
        (segments) => {
          const target = `/${segments.join('/')}`;
          if (isCanonicalTarget(target)) {
            expect(new URL(target, 'http://x').pathname).toBe(target);
          }
        },
      ),
    );
  });

  it('reads the declared body length from the raw headers', () => {
    expect(declaredBodyLength(['Host', 'x'])).toBe(0);
    expect(declaredBodyLength(['Content-Length', '12'])).toBe(12);
    expect(declaredBodyLength(['content-length', ' 0 '])).toBe(0);
    expect(declaredBodyLength(['Transfer-Encoding', 'chunked'])).toBe(Infinity);
    for (const bad of ['abc', '-1', '1e3', '', '0x10', '1234567890123456']) {
      expect(declaredBodyLength(['Content-Length', bad]), bad).toBeNaN();
    }
    expect(declaredBodyLength(['Content-Length', '5', 'CONTENT-LENGTH', '5'])).toBeNaN();
  });

  it('reads a header from the raw list like Headers.get: any case, repeats joined', () => {
    const raw = [
      'Host',
      'x',
      'AUTHORIZATION',
      'Bearer a',
      'If-None-Match',
      '"1"',
      'if-none-match',
      '"2"',
    ];
    expect(rawHeader(raw, 'authorization')).toBe('Bearer a');
    expect(rawHeader(raw, 'if-none-match')).toBe('"1", "2"');
    expect(rawHeader(raw, 'content-length')).toBeNull();
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom('Authorization', 'authorization', 'If-None-Match', 'X-A', 'x-b'),
            fc.stringMatching(/^[!-~]{0,12}$/),
          ),
          { maxLength: 8 },
        ),
        fc.constantFrom('authorization', 'if-none-match', 'x-a', 'x-c'),
        (pairs, name) => {
          const headers = new Headers();
          for (const [k, v] of pairs) headers.append(k, v);
          expect(rawHeader(pairs.flat(), name)).toBe(headers.get(name));
        },
      ),
    );
  });

  it('parses subject alternative names, quoted ones included', () => {
    expect(
      parseSubjectAltNames('DNS:gw.example, URI:spiffe://example.org/ops, IP Address:127.0.0.1'),
    ).toEqual([
      { type: 'DNS', value: 'gw.example' },
      { type: 'URI', value: 'spiffe://example.org/ops' },
      { type: 'IP Address', value: '127.0.0.1' },
    ]);
    expect(parseSubjectAltNames('URI:"spiffe://x/a, URI:spiffe://y", DNS:z')).toEqual([
      { type: 'URI', value: 'spiffe://x/a, URI:spiffe://y' },
      { type: 'DNS', value: 'z' },
    ]);
    expect(parseSubjectAltNames(undefined)).toEqual([]);
    expect(parseSubjectAltNames('URI:"unterminated')).toEqual([]);
    expect(parseSubjectAltNames('URI:"bad\\q"')).toEqual([]);
    expect(parseSubjectAltNames('nonsense')).toEqual([]);
    expect(parseSubjectAltNames('DNS:a, DNS:b', 1)).toHaveLength(1);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('DNS', 'URI', 'email'), fc.string({ maxLength: 20 })), {
          maxLength: 5,
        }),
        (pairs) => {
          const text = pairs
            .map(
              ([type, value]) =>
                `${type}:${/[,:"\\]|^\s|\s$/.test(value) || value === '' ? JSON.stringify(value) : value}`,
            )
            .join(', ');
          const parsed = parseSubjectAltNames(text);
          expect(parsed).toEqual(pairs.map(([type, value]) => ({ type, value })));
        },
      ),
    );
  });
});
