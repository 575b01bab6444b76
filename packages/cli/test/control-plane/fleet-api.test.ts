import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import { FleetMonitor } from '@plumbline/core/drift';
import { createFleetApi } from '../../src/control-plane/fleet-api.js';
import type { JsonLogger } from '../../src/control-plane/log.js';

const TOKEN = 'fleet-api-unit-token-7d1e';
const HASH = `sha256:${'ab'.repeat(32)}`;
let server: Server;
let base: string;
let hookError: unknown;
const logged: {
  level: string;
  msg: string;
  fields: Readonly<Record<string, unknown>> | undefined;
}[] = [];
const logger: JsonLogger = {
  debug: (msg, fields) => logged.push({ level: 'debug', msg, fields }),
  info: (msg, fields) => logged.push({ level: 'info', msg, fields }),
  warn: (msg, fields) => logged.push({ level: 'warn', msg, fields }),
  error: (msg, fields) => logged.push({ level: 'error', msg, fields }),
};

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string; auth?: boolean } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, {
      method,
      headers: {
        ...(options.auth === false ? {} : { authorization: `Bearer ${TOKEN}` }),
        ...options.headers,
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.end(options.body);
  });
}

const json = { 'content-type': 'application/json' };
const desired = (body: unknown): Promise<Answer> =>
  call('PUT', '/v1/clusters/prod/desired', { headers: json, body: JSON.stringify(body) });

beforeAll(async () => {
  const monitor = await FleetMonitor.create();
  server = createServer(
    createFleetApi({
      monitor,
      authorize: (header) => header === `Bearer ${TOKEN}`,
      metrics: () => '# metrics\n',
      healthy: () => true,
      onDesiredChanged: () =>
        hookError === undefined ? Promise.resolve() : Promise.reject(hookError),
      logger,
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.close();
  await once(server, 'close');
});

beforeEach(() => {
  hookError = undefined;
  logged.length = 0;
});

function expectError(answer: Answer, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(answer.headers['cache-control']).toBe('no-store');
  expect(JSON.parse(answer.body)).toEqual({ error: { code, message: expect.any(String) } });
}

describe('fleet API errors: one JSON body, the status of the code', () => {
  it('401 PLB_FLEET_UNAUTHORIZED with a Bearer challenge', async () => {
    const answer = await call('GET', '/v1/fleet', { auth: false });
    expectError(answer, 401, 'PLB_FLEET_UNAUTHORIZED');
    expect(answer.headers['www-authenticate']).toBe('Bearer');
  });

  it('405 PLB_FLEET_API_METHOD naming the methods in Allow', async () => {
    const answer = await call('POST', '/v1/fleet');
    expectError(answer, 405, 'PLB_FLEET_API_METHOD');
    expect(answer.headers['allow']).toBe('GET, HEAD');
    expect(JSON.parse(answer.body).error.message).toBe('use GET, HEAD');
    const put = await call('GET', '/v1/clusters/prod/desired');
    expect(put.headers['allow']).toBe('PUT');
  });

  it('404 for an unknown route and an unknown node', async () => {
    expectError(await call('GET', '/v1/nowhere'), 404, 'PLB_FLEET_API_NOT_FOUND');
    expectError(await call('GET', '/v1/fleet/nodes/gw-x'), 404, 'PLB_FLEET_NODE_UNKNOWN');
  });

  it('400 PLB_FLEET_API_INVALID for bad path segments and bodies, naming the key', async () => {
    expectError(await call('GET', '/v1/fleet/nodes/%E0%A4%A'), 400, 'PLB_FLEET_API_INVALID');
    expectError(await call('GET', '/v1/fleet/nodes/a%20b'), 400, 'PLB_FLEET_API_INVALID');
    const bad = await desired({ artifact_hash: 'sha256:xyz', reason: 'r' });
    expectError(bad, 400, 'PLB_FLEET_API_INVALID');
    expect(JSON.parse(bad.body).error.message).toContain('artifact_hash');
    const extra = await desired({ artifact_hash: HASH, reason: 'r', extra: 1 });
    expect(JSON.parse(extra.body).error.message).toBe('extra: unknown key');
  });

  it('400 PLB_FLEET_API_MALFORMED, 415 and 413 for bodies', async () => {
    const malformed = await call('PUT', '/v1/clusters/prod/desired', { headers: json, body: '{' });
    expectError(malformed, 400, 'PLB_FLEET_API_MALFORMED');
    const text = await call('PUT', '/v1/clusters/prod/desired', {
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    });
    expectError(text, 415, 'PLB_FLEET_API_CONTENT_TYPE');
    const large = await call('PUT', '/v1/clusters/prod/desired', {
      headers: json,
      body: `"${'x'.repeat(64 * 1024)}"`,
    });
    expectError(large, 413, 'PLB_FLEET_API_TOO_LARGE');
  });

  it('maps errors raised further in: conflict 409, limits 400, others 500', async () => {
    hookError = new PlumblineError('PLB_STORE_CONFLICT', 'changed meanwhile');
    expectError(await desired({ artifact_hash: HASH, reason: 'r' }), 409, 'PLB_STORE_CONFLICT');
    hookError = new PlumblineError('PLB_AUDIT_LIMIT', 'too big');
    expectError(await desired({ artifact_hash: HASH, reason: 'r' }), 400, 'PLB_AUDIT_LIMIT');
    expect(logged.filter((l) => l.level === 'error')).toEqual([]);
    hookError = new PlumblineError('PLB_AUDIT_SINK', 'sink down');
    const failed = await desired({ artifact_hash: HASH, reason: 'r' });
    expectError(failed, 500, 'PLB_AUDIT_SINK');
    expect(JSON.parse(failed.body).error.message).toBe('sink down');
    expect(logged.filter((l) => l.level === 'error')).toHaveLength(1);
    hookError = new Error('secret detail');
    const internal = await desired({ artifact_hash: HASH, reason: 'r' });
    expect(internal.status).toBe(500);
    expect(JSON.parse(internal.body)).toEqual({
      error: { code: 'PLB_INTERNAL', message: 'internal error' },
    });
  });

  it('503 with Retry-After when the store is unavailable for now', async () => {
    hookError = new PlumblineError('PLB_PG_UNAVAILABLE', 'PostgreSQL cannot be reached');
    const answer = await desired({ artifact_hash: HASH, reason: 'r' });
    expectError(answer, 503, 'PLB_PG_UNAVAILABLE');
    expect(answer.headers['retry-after']).toBe('5');
  });

  it('answers health without a token and the fleet with one', async () => {
    expect((await call('GET', '/healthz', { auth: false })).status).toBe(200);
    const fleet = await call('GET', '/v1/fleet');
    expect(fleet.status).toBe(200);
    expect(JSON.parse(fleet.body)).toHaveProperty('nodes');
  });
});
