import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import { createAdminHandler, hashAdminToken } from '@plumbline/core/admin';
import { startAdminListener, type AdminListener } from '@plumbline/core/node';
import { LoadedArtifactRegistry } from '@plumbline/core/verify';
import { startControlPlane, type RunningControlPlane } from '@plumbline/cli';
import { describeReport, fuzz, mutatedText, type FuzzReport } from './harness.js';

const TOKEN = 'fuzz-admin-token-0c9e';
let admin: AdminListener;
let cp: RunningControlPlane;
let dir: string;

beforeAll(async () => {
  admin = await startAdminListener({
    handler: createAdminHandler({
      source: new LoadedArtifactRegistry(),
      auth: { tokens: [{ id: 'ops', sha256: hashAdminToken(TOKEN) }] },
      rateLimit: false,
    }),
    headersTimeoutMs: 500,
    requestTimeoutMs: 500,
    idleTimeoutMs: 500,
  });
  dir = await mkdtemp(join(tmpdir(), 'plb-fuzz-cp-'));
  cp = await startControlPlane({
    adminToken: TOKEN,
    nodeTokens: {},
    store: join(dir, 'state.json'),
    logOutput: { write: () => true } as never,
  });
});
afterAll(async () => {
  await admin?.close({ graceMs: 0 });
  await cp?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Writes `text`, half-closes, and returns all the listener sends until it closes. */
function exchange(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) }, () => {
      socket.end(Buffer.from(text, 'latin1'));
    });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

/**
 * An answer is an HTTP response or a closed connection. A refusal (4xx/5xx) is coded when its body
 * names a PLB_ code other than PLB_INTERNAL, or when it is node:http's own bodiless 400 for a
 * request it cannot parse; a 5xx without a code is an uncoded failure.
 */
async function answer(url: string, text: string): Promise<void> {
  const reply = await exchange(url, text);
  if (reply === '') return;
  const status = Number(/^HTTP\/1\.[01] (\d{3}) /.exec(reply)?.[1] ?? 0);
  if (status === 0) throw new Error(`not an HTTP response: ${JSON.stringify(reply.slice(0, 80))}`);
  if (status < 400) return;
  const code = /"code":"(PLB_[A-Z0-9_]+)"/.exec(reply)?.[1];
  if (code !== undefined && code !== 'PLB_INTERNAL')
    throw new PlumblineError(code as `PLB_${string}`, `status ${status}`);
  // node:http's own bodiless 400 (unparsable request, or HTTP/1.1 without Host).
  if (status === 400 && /^HTTP\/1\.1 400 Bad Request\r\nConnection: close\r\n/.test(reply)) {
    if (/\r\n\r\n(0\r\n\r\n)?$/.test(reply)) {
      throw new PlumblineError('PLB_HTTP_UNPARSABLE', 'node:http refused the request');
    }
  }
  // A HEAD refusal carries the code's headers but no body.
  if (text.startsWith('HEAD ') && reply.endsWith('\r\n\r\n')) {
    throw new PlumblineError('PLB_HTTP_HEAD_REFUSED', `status ${status}`);
  }
  throw new Error(`status ${status} without a code: ${reply.slice(0, 200)}`);
}

const METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'OPTIONS',
  'CONNECT',
  'TRACE',
  'G\u00e9T',
  '',
];
const PATHS = [
  '/_admin/provenance',
  '/_admin/health',
  '/v1/fleet',
  '/v1/fleet/events',
  '/v1/fleet/nodes/%2e%2e/diff',
  '/v1/desired/prod',
  '/metrics',
  '/healthz',
  '/ui/',
  '/../etc/passwd',
  '//x',
  '*',
];

function requests(): fc.Arbitrary<string> {
  const line = fc.tuple(
    fc.constantFrom(...METHODS),
    fc.oneof(
      fc.constantFrom(...PATHS),
      fc.stringMatching(/^[a-z0-9_/.%-]{0,40}$/).map((s) => `/${s}`),
    ),
    fc.constantFrom(
      'HTTP/1.1',
      'HTTP/1.1',
      'HTTP/1.1',
      'HTTP/1.1',
      'HTTP/1.0',
      'HTTP/2.0',
      'HTTP/1.1 x',
      '',
    ),
  );
  const header = fc.oneof(
    fc.constant(`authorization: Bearer ${TOKEN}`),
    fc.constant('authorization: Bearer wrong'),
    fc.constant('content-length: 5'),
    fc.constant('content-length: -1'),
    fc.constant('transfer-encoding: chunked'),
    fc.constant('last-event-id: zz-1'),
    fc.constant('host: x'),
  );
  const anyHeader = fc.oneof(
    { weight: 8, arbitrary: header },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 }))
        .map(([k, v]) => `${k}: ${v}`),
    },
  );
  const valid = fc
    .tuple(line, fc.array(anyHeader, { maxLength: 6 }), fc.string({ maxLength: 20 }))
    .map(
      ([[m, p, v], hs, body]) => `${m} ${p} ${v}\r\nhost: x\r\n${hs.join('\r\n')}\r\n\r\n${body}`,
    );
  return fc.oneof(
    valid,
    mutatedText(`GET /_admin/provenance HTTP/1.1\r\nauthorization: Bearer ${TOKEN}\r\n\r\n`),
    fc.string({ maxLength: 200 }),
  );
}

function expectClean(report: FuzzReport): void {
  console.info(describeReport(report));
  expect(report.uncodedSamples, report.target).toEqual([]);
  expect({ uncoded: report.uncoded, hangs: report.hangs, overMemory: report.overMemory }).toEqual({
    uncoded: 0,
    hangs: 0,
    overMemory: 0,
  });
}

describe('fuzz: listeners answer every request with an HTTP status below 500, or close', () => {
  it('data-plane admin listener', async () => {
    expectClean(
      await fuzz('admin http', requests(), (text) => answer(admin.url, text), {
        runs: 300,
        caseTimeoutMs: 3_000,
      }),
    );
    const health = await exchange(admin.url, 'GET /_admin/health HTTP/1.1\r\n\r\n');
    expect(health).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('control plane fleet API and dashboard', async () => {
    expectClean(
      await fuzz('fleet http', requests(), (text) => answer(cp.adminUrl, text), {
        runs: 300,
        caseTimeoutMs: 3_000,
      }),
    );
    const fleet = await exchange(
      cp.adminUrl,
      `GET /v1/fleet HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TOKEN}\r\n\r\n`,
    );
    expect(fleet).toMatch(/^HTTP\/1\.1 200 /);
  });
});
