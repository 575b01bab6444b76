import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type RunningControlPlane } from '@plumbline/cli';
import { serializeManifest } from '@plumbline/core/manifest';
import { connectDataPlane, hashToken, type DataPlaneClient } from '@plumbline/ws';
import { ensurePage, launchChromium, manifest, problems } from './page.js';

// A whole operator session against a control plane without an audit log: no console error,
// true ages without a reload, the file diff appearing once manifests are uploaded, one timeline
// row per fact, times with their zone, and a clean end of the stream at shutdown.

const ADMIN = 'admin-secret-for-the-session';
const HEARTBEAT_MS = 200;

const MANIFEST_A = manifest({ 'gateway.yaml': 'listen: 8080', 'routes/orders.yaml': 'v1' });
const MANIFEST_B = manifest({ 'gateway.yaml': 'listen: 8080', 'routes/orders.yaml': 'v3' });

let dir: string;
let cp: RunningControlPlane;
let browser: Browser;
const nodes: DataPlaneClient[] = [];
const running = new Map<string, `sha256:${string}`>();

async function admin(method: string, path: string, body: string): Promise<number> {
  const r = await fetch(`${cp.adminUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body,
  });
  await r.arrayBuffer();
  return r.status;
}

beforeAll(async () => {
  ensurePage();
  dir = await mkdtemp(join(tmpdir(), 'plumbline-dashboard-session-'));
  const tokens: Record<string, { cluster: string; token_sha256: string }> = {};
  for (const n of ['gw-1', 'gw-2'])
    tokens[n] = { cluster: 'prod', token_sha256: hashToken(`token-${n}`) };
  await writeFile(join(dir, 'node-tokens.json'), JSON.stringify(tokens));
  cp = await startControlPlane({
    nodeTokens: join(dir, 'node-tokens.json'),
    adminToken: ADMIN,
    store: join(dir, 'state.json'),
    heartbeatIntervalMs: HEARTBEAT_MS,
    logOutput: { write: () => true },
  });
  expect(
    await admin(
      'PUT',
      '/v1/clusters/prod/desired',
      JSON.stringify({ artifact_hash: MANIFEST_A.root, reason: 'release a' }),
    ),
  ).toBe(200);
  for (const n of ['gw-1', 'gw-2']) {
    running.set(n, MANIFEST_A.root);
    nodes.push(
      connectDataPlane({
        url: cp.wsUrl,
        nodeId: n,
        cluster: 'prod',
        credentials: { token: `token-${n}` },
        source: () => ({ artifact_hash: running.get(n)! }),
        heartbeatIntervalMs: HEARTBEAT_MS,
        backoff: { initialMs: 100, maxMs: 500 },
      }),
    );
  }
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await Promise.all(nodes.map((n) => n.close()));
  await cp?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const row = (page: Page, id: string) => page.locator(`tr[data-node="${id}"]`);
const badge = (page: Page, id: string) => row(page, id).locator('.badge').textContent();
/** The "Last seen" cell of a node's row, in seconds (`3s ago` → 3). */
async function lastSeenSeconds(page: Page, id: string): Promise<number> {
  const text = (await row(page, id).locator('td').nth(5).textContent()) ?? '';
  const m = /^(\d+)s ago$/.exec(text);
  return m ? Number(m[1]) : Number.POSITIVE_INFINITY;
}

describe('a whole dashboard session', () => {
  it('logs no error, keeps ages true, fills in files after an upload, ends cleanly', async () => {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      timezoneId: 'UTC',
    });
    const page = await context.newPage();
    page.setDefaultTimeout(5000);
    const seen = problems(page);
    await page.goto(`${cp.adminUrl}/ui/`);
    await page.getByLabel('Admin token').fill(ADMIN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.getByRole('status').textContent(), { timeout: 10_000 })
      .toBe('Live');
    await expect.poll(() => badge(page, 'gw-1'), { timeout: 10_000 }).toBe('in sync');

    // Without --audit-log the page says so instead of asking for audit events.
    const audit = page.getByRole('region', { name: 'Recent audit events' });
    await expect.poll(() => audit.textContent()).toContain('No audit log configured');

    // Ages stay true without a reload: after several heartbeat intervals, a healthy node was
    // seen within the last second or so (heartbeats every 200 ms), not at sign-in time.
    const signedIn = Date.now();
    await expect
      .poll(() => Date.now() - signedIn, { timeout: 10_000, interval: 250 })
      .toBeGreaterThan(3500);
    await expect
      .poll(() => lastSeenSeconds(page, 'gw-1'), { timeout: 3000 })
      .toBeLessThanOrEqual(1);

    // gw-2 drifts before any manifest upload: the detail asks for manifests, with no 404.
    running.set('gw-2', MANIFEST_B.root);
    await expect.poll(() => badge(page, 'gw-2'), { timeout: 10_000 }).toBe('drift');
    // The table says why: what it runs against what it should run.
    expect(await row(page, 'gw-2').locator('td.why').textContent()).toBe(
      `runs sha256:${MANIFEST_B.root.slice(7, 19)}, should run sha256:${MANIFEST_A.root.slice(7, 19)}`,
    );
    await row(page, 'gw-2').getByRole('button', { name: 'gw-2' }).click();
    const detail = page.getByRole('region', { name: 'Node gw-2' });
    await expect
      .poll(() => detail.locator('.upload-hint').textContent())
      .toContain('Upload manifests to see files');

    // The upload fills the open detail in, without closing and reopening it.
    for (const m of [MANIFEST_A, MANIFEST_B])
      expect(await admin('PUT', '/v1/manifests', serializeManifest(m))).toBe(200);
    const file = detail.locator('table.files tr[data-file="routes/orders.yaml"]');
    await expect.poll(() => file.count(), { timeout: 10_000 }).toBe(1);
    expect(await detail.locator('.upload-hint').count()).toBe(0);

    // One timeline row per fact: the drift, not also its state change.
    const toDrift = detail.locator('table.timeline tbody tr', {
      has: page.locator('td:nth-child(4) .state-drift'),
    });
    expect(await toDrift.count()).toBe(1);
    expect(await toDrift.locator('td').nth(1).textContent()).toBe('drift.detected');
    // Times carry their zone.
    expect(await detail.locator('table.timeline tbody tr td').first().textContent()).toMatch(
      /UTC$/,
    );

    // Shutdown ends the stream with its last chunk: the page sees a disconnection, no error.
    // (Taken as the page notices, before its first reconnection attempt meets a closed port.)
    const closing = cp.close();
    await expect
      .poll(() => page.getByRole('status').textContent(), { timeout: 10_000, interval: 20 })
      .toBe('Disconnected: reconnecting…');
    const atDisconnection = [...seen];
    await closing;
    expect(atDisconnection).toEqual([]);
    await context.close();
  }, 60_000);
});
