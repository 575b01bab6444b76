import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startControlPlane } from '@plumbline/cli';
import { FleetMonitor } from '@plumbline/core/drift';
import { manifestFromEntries, serializeManifest, type Manifest } from '@plumbline/core/manifest';
import { createAdminTokenCheck } from '../../src/control-plane/admin-token.js';
import {
  createDashboard,
  createManifestCatalog,
  readAuditTail,
  type Dashboard,
} from '../../src/dashboard/index.js';

const TOKEN = 'dashboard-routes-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const json = { ...auth, 'content-type': 'application/json' };

const digest = (text: string): `sha256:${string}` =>
  `sha256:${createHash('sha256').update(text).digest('hex')}`;

function manifest(files: Record<string, string>): Manifest {
  return manifestFromEntries(
    Object.entries(files).map(([path, content]) => ({
      path,
      size: content.length,
      digest: digest(content),
    })),
  );
}

const DESIRED = manifest({ 'gateway.yaml': 'v1', 'routes/a.yaml': 'a', 'routes/b.yaml': 'b' });
const RUNNING = manifest({ 'gateway.yaml': 'v2', 'routes/a.yaml': 'a', 'routes/c.yaml': 'c' });

let dir: string;
let monitor: FleetMonitor;
let server: Server;
let dashboard: Dashboard;
let base: string;

async function start(options: { auditLog?: string } = {}): Promise<void> {
  const check = createAdminTokenCheck(TOKEN);
  dashboard = createDashboard({
    monitor,
    authorize: (h) => check(h),
    uiDirs: [join(dir, 'no-ui')],
    manifests: createManifestCatalog({ maxManifests: 2, maxBytes: 4096 }),
    ...options,
  });
  server = createServer((req, res) => {
    if (!dashboard.handle(req, res)) {
      res.writeHead(418);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function hello(node: string, hash: string | null): void {
  const result = monitor.connect(
    { node_id: node, cluster: 'prod', principal: `token:${node}` },
    {
      type: 'hello',
      protocol: 'plumbline.drift/v1',
      node_id: node,
      cluster: 'prod',
      instance_id: `i-${node}`,
      artifact_hash: hash as `sha256:${string}` | null,
    },
    `s-${node}`,
  );
  expect(result.ok).toBe(true);
}

const put = (body: string | Uint8Array, headers: Record<string, string> = json) =>
  fetch(`${base}/v1/manifests`, {
    method: 'PUT',
    headers,
    body: typeof body === 'string' ? body : Buffer.from(body),
  });

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plb-dash-routes-'));
  monitor = await FleetMonitor.create();
});

afterEach(async () => {
  dashboard?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await monitor.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('PUT /v1/manifests', () => {
  it('keeps a verified manifest by its root', async () => {
    await start();
    const r = await put(serializeManifest(DESIRED));
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ artifact_hash: DESIRED.root, entries: 3 });
  });

  it('refuses missing tokens, other methods and content types, and bad documents', async () => {
    await start();
    const text = serializeManifest(DESIRED);
    expect((await put(text, { 'content-type': 'application/json' })).status).toBe(401);
    expect((await fetch(`${base}/v1/manifests`, { headers: auth })).status).toBe(405);
    expect((await put(text, { ...auth, 'content-type': 'text/plain' })).status).toBe(415);
    const code = async (body: string | Uint8Array): Promise<[number, string]> => {
      const r = await put(body);
      return [r.status, ((await r.json()) as { error: { code: string } }).error.code];
    };
    expect(await code(text.slice(0, text.length - 20))).toEqual([400, 'PLB_MANIFEST_MALFORMED']);
    expect(await code(new Uint8Array([0x7b, 0xff, 0x7d]))).toEqual([400, 'PLB_MANIFEST_MALFORMED']);
    expect(await code(text.replace(DESIRED.root, RUNNING.root))).toEqual([
      400,
      'PLB_MANIFEST_ROOT_MISMATCH',
    ]);
    expect(await code('{"format":"other/v1"}')).toEqual([400, 'PLB_MANIFEST_FORMAT']);
    expect(await code(`${text}${' '.repeat(4096)}`)).toEqual([413, 'PLB_MANIFEST_TOO_LARGE']);
  });

  it('refuses malformed documents with a 4xx, never a 5xx', async () => {
    await start();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (bytes) => {
        const r = await put(bytes);
        await r.arrayBuffer();
        expect(r.status).toBeGreaterThanOrEqual(400);
        expect(r.status).toBeLessThan(500);
      }),
      { numRuns: 40 },
    );
  });
});

describe('GET /v1/fleet/nodes/{id}/diff', () => {
  it('lists the files that differ between what a node runs and what it should run', async () => {
    await start();
    await monitor.setDesired({
      cluster: 'prod',
      artifact_hash: DESIRED.root,
      actor: 'a',
      reason: 'r',
    });
    hello('gw-1', RUNNING.root);
    const get = () => fetch(`${base}/v1/fleet/nodes/gw-1/diff`, { headers: auth });
    let r = await get();
    expect(r.status).toBe(404);
    expect(await r.json()).toMatchObject({
      error: {
        code: 'PLB_DASHBOARD_MANIFEST_UNKNOWN',
        details: { missing: [DESIRED.root, RUNNING.root] },
      },
    });
    expect((await put(serializeManifest(DESIRED))).status).toBe(200);
    r = await get();
    expect(await r.json()).toMatchObject({ error: { details: { missing: [RUNNING.root] } } });
    expect((await put(serializeManifest(RUNNING))).status).toBe(200);
    r = await get();
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({
      node_id: 'gw-1',
      desired_hash: DESIRED.root,
      reported_hash: RUNNING.root,
      added: [{ path: 'routes/c.yaml', digest: digest('c'), size: 1 }],
      removed: [{ path: 'routes/b.yaml', digest: digest('b'), size: 1 }],
      changed: [
        {
          path: 'gateway.yaml',
          desired: { digest: digest('v1'), size: 2 },
          reported: { digest: digest('v2'), size: 2 },
        },
      ],
      unchanged: 1,
      truncated: false,
    });
    // The catalog keeps 2 manifests: a third one evicts the least recently used.
    expect((await put(serializeManifest(manifest({ x: 'x' })))).status).toBe(200);
    r = await get();
    expect(r.status).toBe(404);
  });

  it('needs the token and knows only known nodes', async () => {
    await start();
    expect((await fetch(`${base}/v1/fleet/nodes/gw-1/diff`)).status).toBe(401);
    const r = await fetch(`${base}/v1/fleet/nodes/nope/diff`, { headers: auth });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe(
      'PLB_FLEET_NODE_UNKNOWN',
    );
    expect((await fetch(`${base}/v1/fleet/nodes/%E0%A4%A/diff`, { headers: auth })).status).toBe(
      400,
    );
    expect(
      (await fetch(`${base}/v1/fleet/nodes/gw-1/diff`, { method: 'DELETE', headers: auth })).status,
    ).toBe(405);
  });
});

function auditEvent(n: number): Record<string, unknown> {
  return {
    schema_version: '1.0',
    id: `ev-${n}`,
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    type: 'drift.detected',
    outcome: 'success',
    severity: 'medium',
    actor: { type: 'system', id: 'fleet-monitor' },
    subject: { type: 'node', id: `gw-${n}` },
    source: { component: 'control-plane' },
    details: { node_id: `gw-${n}` },
  };
}

describe('GET /v1/audit/recent', () => {
  it('is 404 without an audit log, and lists the newest events first with one', async () => {
    await start();
    let r = await fetch(`${base}/v1/audit/recent`, { headers: auth });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe(
      'PLB_DASHBOARD_NO_AUDIT_LOG',
    );
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    dashboard.close();
    const log = join(dir, 'audit.log');
    writeFileSync(log, [1, 2, 3].map((n) => JSON.stringify(auditEvent(n))).join('\n') + '\n');
    await start({ auditLog: log });
    expect((await fetch(`${base}/v1/audit/recent`)).status).toBe(401);
    r = await fetch(`${base}/v1/audit/recent?limit=2`, { headers: auth });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { events: { id: string; subject: unknown }[] };
    expect(body.events.map((e) => e.id)).toEqual(['ev-3', 'ev-2']);
    expect(body.events[0]!.subject).toEqual({ type: 'node', id: 'gw-3' });
  });
});

describe('readAuditTail', () => {
  it('reads plain and transparency-log lines, skips checkpoints and garbage, bounds the read', async () => {
    dir = mkdtempSync(join(tmpdir(), 'plb-dash-tail-'));
    const log = join(dir, 'tlog.jsonl');
    writeFileSync(log, '');
    appendFileSync(log, `${JSON.stringify({ checkpoint: { tree_size: 0 }, prev: '0' })}\n`);
    for (let n = 1; n <= 5; n++)
      appendFileSync(log, `${JSON.stringify({ seq: n - 1, prev: 'x', event: auditEvent(n) })}\n`);
    appendFileSync(log, 'not json\n{"schema_version":"1.0"}\n');
    expect((await readAuditTail(log)).map((e) => e.id)).toEqual([
      'ev-5',
      'ev-4',
      'ev-3',
      'ev-2',
      'ev-1',
    ]);
    expect((await readAuditTail(log, { limit: 1 })).map((e) => e.id)).toEqual(['ev-5']);
    expect(await readAuditTail(join(dir, 'missing.log'))).toEqual([]);
    await expect(readAuditTail(dir)).rejects.toThrow();
  });

  it('keeps the first line of the window when the window starts exactly at a line', async () => {
    const tail = mkdtempSync(join(tmpdir(), 'plb-dash-tailb-'));
    try {
      const log = join(tail, 'audit.log');
      const lines = [0, 1, 2].map((i) => JSON.stringify(auditEvent(i)));
      writeFileSync(log, lines.map((l) => `${l}\n`).join(''));
      const lastTwo = lines[1]!.length + 1 + lines[2]!.length + 1;
      const ids = (await readAuditTail(log, { maxBytes: lastTwo })).map((e) => e.id);
      expect(ids).toEqual(['ev-2', 'ev-1']);
      const cut = (await readAuditTail(log, { maxBytes: lastTwo - 1 })).map((e) => e.id);
      expect(cut).toEqual(['ev-2']);
    } finally {
      rmSync(tail, { recursive: true, force: true });
    }
  });

  it('returns a suffix of the events written, newest first, whatever the byte bound', async () => {
    const tail = mkdtempSync(join(tmpdir(), 'plb-dash-tailp-'));
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 30 }),
          fc.integer({ min: 1, max: 6000 }),
          fc.constantFrom('plain', 'tlog'),
          async (count, maxBytes, kind) => {
            const log = join(tail, 'audit.log');
            const lines = Array.from({ length: count }, (_, i) =>
              JSON.stringify(
                kind === 'plain' ? auditEvent(i) : { seq: i, prev: 'p', event: auditEvent(i) },
              ),
            );
            writeFileSync(log, lines.map((l) => `${l}\n`).join(''));
            const ids = (await readAuditTail(log, { maxBytes, limit: 1000 })).map((e) => e.id);
            const expected = lines
              .map((_, i) => `ev-${i}`)
              .reverse()
              .slice(0, ids.length);
            expect(ids).toEqual(expected);
            // Every whole line inside the bound is found.
            let fit = 0;
            let bytes = 0;
            for (let i = lines.length - 1; i >= 0; i--) {
              bytes += lines[i]!.length + 1;
              if (bytes > maxBytes) break;
              fit++;
            }
            expect(ids.length).toBeGreaterThanOrEqual(fit);
          },
        ),
        { numRuns: 60 },
      );
    } finally {
      rmSync(tail, { recursive: true, force: true });
    }
  });
});

describe('on the control plane admin listener', () => {
  it('serves /ui/ and the dashboard routes with the admin token, beside the fleet API', async () => {
    const tokens = join(dir, 'node-tokens.json');
    writeFileSync(tokens, '{}');
    const cp = await startControlPlane({
      nodeTokens: tokens,
      adminToken: TOKEN,
      store: join(dir, 'state.json'),
      audit: { path: join(dir, 'audit.log') },
      logOutput: { write: () => true },
    });
    try {
      const ui = await fetch(`${cp.adminUrl}/ui/`);
      expect([200, 404]).toContain(ui.status);
      expect(ui.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect((await fetch(`${cp.adminUrl}/v1/fleet/events`)).status).toBe(401);
      const put = await fetch(`${cp.adminUrl}/v1/clusters/prod/desired`, {
        method: 'PUT',
        headers: json,
        body: JSON.stringify({ artifact_hash: DESIRED.root, reason: 'release' }),
      });
      expect(put.status).toBe(200);
      const m = await fetch(`${cp.adminUrl}/v1/manifests`, {
        method: 'PUT',
        headers: json,
        body: serializeManifest(DESIRED),
      });
      expect(m.status).toBe(200);
      await expect
        .poll(async () => {
          const r = await fetch(`${cp.adminUrl}/v1/audit/recent`, { headers: auth });
          return ((await r.json()) as { events: { type: string }[] }).events.map((e) => e.type);
        })
        .toEqual(['desired_state.changed']);
      expect((await fetch(`${cp.adminUrl}/v1/fleet`, { headers: auth })).status).toBe(200);
    } finally {
      await cp.close();
    }
  });
});
