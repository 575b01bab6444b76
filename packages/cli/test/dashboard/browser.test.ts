import { mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type RunningControlPlane } from '@plumbline/cli';
import { serializeManifest } from '@plumbline/core/manifest';
import { connectDataPlane, hashToken, type DataPlaneClient } from '@plumbline/ws';
import { ensurePage, launchChromium, ROOT, manifest } from './page.js';

const ADMIN = 'admin-secret-for-the-dashboard';

/** What the cluster should run, and what gw-2 loads instead (one route file edited). */
const MANIFEST_A = manifest({ 'gateway.yaml': 'listen: 8080', 'routes/orders.yaml': 'v1' });
const MANIFEST_B = manifest({ 'gateway.yaml': 'listen: 8080', 'routes/orders.yaml': 'v2' });
const HASH_A = MANIFEST_A.root;
const HASH_B = MANIFEST_B.root;
const PROVENANCE = {
  commit: '0123456789abcdef0123456789abcdef01234567',
  source: 'https://git.example.com/acme/gateway-config',
  ref: 'refs/heads/main',
};

let dir: string;
let cp: RunningControlPlane;
let browser: Browser;
let wsPort = 0;
let adminPort = 0;
const nodes: DataPlaneClient[] = [];
/** What each simulated node runs (read at every heartbeat). */
const running = new Map<
  string,
  { artifact_hash: `sha256:${string}`; provenance: typeof PROVENANCE }
>();

function load(
  index: number,
  state: { artifact_hash: `sha256:${string}`; provenance: typeof PROVENANCE },
): void {
  running.set(`gw-${index + 1}`, state);
  nodes[index]!.report(state);
}

/** Starts the control plane on the same ports, state file and audit log every time. */
async function startCp(): Promise<void> {
  cp = await startControlPlane({
    nodeTokens: join(dir, 'node-tokens.json'),
    adminToken: ADMIN,
    store: join(dir, 'state.json'),
    audit: { path: join(dir, 'audit.log') },
    heartbeatIntervalMs: 200,
    listen: { port: wsPort },
    adminListen: { port: adminPort },
    logOutput: { write: () => true },
  });
  wsPort = Number(new URL(cp.wsUrl).port);
  adminPort = Number(new URL(cp.adminUrl).port);
}

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
  dir = await mkdtemp(join(tmpdir(), 'plumbline-dashboard-'));
  const tokens: Record<string, { cluster: string; token_sha256: string }> = {};
  for (const n of ['gw-1', 'gw-2'])
    tokens[n] = { cluster: 'prod', token_sha256: hashToken(`token-${n}`) };
  await writeFile(join(dir, 'node-tokens.json'), JSON.stringify(tokens));
  await startCp();
  expect(
    await admin(
      'PUT',
      '/v1/clusters/prod/desired',
      JSON.stringify({ artifact_hash: HASH_A, reason: 'release a' }),
    ),
  ).toBe(200);
  for (const m of [MANIFEST_A, MANIFEST_B])
    expect(await admin('PUT', '/v1/manifests', serializeManifest(m))).toBe(200);
  for (const n of ['gw-1', 'gw-2']) {
    nodes.push(
      connectDataPlane({
        url: cp.wsUrl,
        nodeId: n,
        cluster: 'prod',
        credentials: { token: `token-${n}` },
        source: () => running.get(n) ?? { artifact_hash: HASH_A, provenance: PROVENANCE },
        heartbeatIntervalMs: 200,
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

/** A page that records every fleet data request it makes. */
async function open(): Promise<{
  page: Page;
  requests: { url: string; auth: string | undefined; status: number }[];
}> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const requests: { url: string; auth: string | undefined; status: number }[] = [];
  page.on('response', (response) => {
    const url = response.url();
    if (url.includes('/v1/'))
      requests.push({
        url,
        auth: response.request().headers()['authorization'],
        status: response.status(),
      });
  });
  await page.goto(`${cp.adminUrl}/ui/`);
  return { page, requests };
}

async function signIn(page: Page): Promise<void> {
  await page.getByLabel('Admin token').fill(ADMIN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => page.getByRole('status').textContent(), { timeout: 10_000 }).toBe('Live');
}

const row = (page: Page, id: string) => page.locator(`tr[data-node="${id}"]`);
const badge = (page: Page, id: string) => row(page, id).locator('.badge').textContent();

describe('dashboard in a headless browser', () => {
  it('shows a login error and fetches no fleet data for a missing or wrong token', async () => {
    const { page, requests } = await open();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Enter the admin token.');
    expect(requests).toEqual([]);
    await page.getByLabel('Admin token').fill('wrong-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toBe('The control plane refused this admin token.');
    // One refused attempt at the stream, and nothing else: no fleet, diff or audit data.
    expect(requests.map((r) => [new URL(r.url).pathname, r.status])).toEqual([
      ['/v1/fleet/events', 401],
    ]);
    expect(await page.locator('table.nodes').count()).toBe(0);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.context().close();
  });

  it('logs in, shows a node drifting live, its differing file, the audit trail', async () => {
    const { page, requests } = await open();
    await signIn(page);
    await expect.poll(() => badge(page, 'gw-2'), { timeout: 10_000 }).toBe('in sync');
    await expect.poll(() => badge(page, 'gw-1')).toBe('in sync');
    expect(page.url()).toBe(`${cp.adminUrl}/ui/`);
    expect(await page.evaluate(() => sessionStorage.getItem('plumbline.adminToken'))).toBe(ADMIN);

    // gw-2 loads another artifact: the table updates without a reload.
    // Heartbeats carry no provenance (DESIGN.md): the node's provenance is its last hello's.
    load(1, { artifact_hash: HASH_B, provenance: PROVENANCE });
    await expect.poll(() => badge(page, 'gw-2'), { timeout: 10_000 }).toBe('drift');
    expect(await page.locator('.cluster td[data-state="drift"]').textContent()).toBe('1');
    expect(await page.locator('.cluster td[data-state="in_sync"]').textContent()).toBe('1');

    await row(page, 'gw-2').getByRole('button', { name: 'gw-2' }).click();
    const detail = page.getByRole('region', { name: 'Node gw-2' });
    await expect.poll(() => detail.isVisible()).toBe(true);
    // Focus moves to the detail's heading.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('detail-title');
    const text = (await detail.textContent()) ?? '';
    expect(text).toContain(HASH_B);
    expect(text).toContain('drift.detected');
    const link = detail.getByRole('link').first();
    expect(await link.getAttribute('href')).toBe(
      `https://git.example.com/acme/gateway-config/commit/${PROVENANCE.commit}`,
    );
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    // The file that differs, with both digests; the unchanged one is only counted.
    const file = detail.locator('table.files tr[data-file="routes/orders.yaml"]');
    await expect.poll(() => file.count(), { timeout: 10_000 }).toBe(1);
    expect(await file.textContent()).toContain('content differs');
    expect(await file.locator('code').nth(1).getAttribute('title')).toBe(
      MANIFEST_A.entries[1]!.digest,
    );
    expect(await file.locator('code').nth(2).getAttribute('title')).toBe(
      MANIFEST_B.entries[1]!.digest,
    );
    expect(await detail.locator('table.files tbody tr').count()).toBe(1);
    expect(await detail.locator('table.files caption').textContent()).toBe(
      '1 file differs between what gw-2 runs and what it should run; 1 unchanged.',
    );

    // The control plane's audit log lists the drift.
    const audit = page.getByRole('region', { name: 'Recent audit events' });
    await expect
      .poll(() => audit.locator('tbody th').allTextContents(), { timeout: 10_000 })
      .toContain('drift.detected');

    expect(requests.length).toBeGreaterThanOrEqual(3);
    for (const r of requests) {
      expect(r.auth).toBe(`Bearer ${ADMIN}`);
      expect(r.url).not.toContain(ADMIN);
    }
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-results/dashboard.png'), fullPage: true });
    await page.context().close();
  });

  it('is usable from the keyboard: sorting, opening and closing the node detail', async () => {
    const { page } = await open();
    await signIn(page);
    await expect.poll(() => badge(page, 'gw-1'), { timeout: 10_000 }).not.toBeNull();
    const nodeHeader = page.locator('th', { has: page.getByRole('button', { name: /^Node/ }) });
    expect(await nodeHeader.getAttribute('aria-sort')).toBe('none');
    await page.getByRole('button', { name: /^Node/ }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => nodeHeader.getAttribute('aria-sort')).toBe('ascending');
    await page.keyboard.press('Enter');
    await expect.poll(() => nodeHeader.getAttribute('aria-sort')).toBe('descending');
    expect(await page.locator('tbody tr[data-node]').first().getAttribute('data-node')).toBe(
      'gw-2',
    );
    await row(page, 'gw-1').getByRole('button', { name: 'gw-1' }).focus();
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.textContent))
      .toBe('Node gw-1');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('region', { name: 'Node gw-1' }).count()).toBe(0);
    // Focus returns to the button that opened the detail.
    await expect
      .poll(() =>
        page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-node')),
      )
      .toBe('gw-1');
    await page.context().close();
  });

  it('shows the stream disconnected during a control-plane restart, then recovers', async () => {
    const { page } = await open();
    await signIn(page);
    await expect.poll(() => badge(page, 'gw-2'), { timeout: 10_000 }).toBe('drift');
    await cp.close();
    await expect
      .poll(() => page.getByRole('status').textContent(), { timeout: 10_000 })
      .toBe('Disconnected: reconnecting…');
    await startCp();
    await expect
      .poll(() => page.getByRole('status').textContent(), { timeout: 20_000 })
      .toBe('Live');
    // The page reloaded the fleet from the restarted control plane, and is live again.
    load(1, { artifact_hash: HASH_A, provenance: PROVENANCE });
    await expect.poll(() => badge(page, 'gw-2'), { timeout: 15_000 }).toBe('in sync');
    await page.context().close();
  });

  it('renders 1,000 nodes through a window of rows and scrolls to the last', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `edge-${String(i).padStart(4, '0')}`);
    expect(
      await admin('PUT', '/v1/clusters/edge/expected-nodes', JSON.stringify({ nodes: ids })),
    ).toBe(200);
    const { page } = await open();
    await signIn(page);
    await expect
      .poll(() => page.locator('.filters .count').textContent(), { timeout: 10_000 })
      .toBe('1002 of 1002 nodes');
    const rendered = () => page.locator('table.nodes tbody tr[data-node]').count();
    expect(await rendered()).toBeLessThan(60);
    await page.getByRole('button', { name: /^Node/ }).click();
    await page
      .locator('.table-scroll')
      .evaluate((el) => el.scrollTo({ top: el.scrollHeight, behavior: 'instant' }));
    // Sorted by node id, the last of the 1,002 rows is gw-2 (header row is row 1).
    await expect.poll(() => row(page, 'gw-2').isVisible()).toBe(true);
    expect(await rendered()).toBeLessThan(60);
    expect(await row(page, 'gw-2').getAttribute('aria-rowindex')).toBe('1003');
    expect(await row(page, 'edge-0999').getAttribute('aria-rowindex')).toBe('1001');
    expect(await row(page, 'edge-0000').count()).toBe(0);
    // Filtering narrows the rows to one cluster's state.
    await page.getByLabel('Cluster', { exact: true }).selectOption('prod');
    await expect.poll(() => page.locator('.filters .count').textContent()).toBe('2 of 1002 nodes');
    await page.context().close();
  });
});
