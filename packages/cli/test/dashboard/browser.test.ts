import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type RunningControlPlane } from '@plumbline/cli';
import { connectDataPlane, hashToken, type DataPlaneClient } from '@plumbline/ws';
import { createAdminTokenCheck } from '../../src/control-plane/admin-token.js';
import { createDashboard, type Dashboard } from '../../src/dashboard/index.js';

const ROOT = resolve(import.meta.dirname, '../../../..');
const UI = join(ROOT, 'packages/cli/dist/ui');
const ADMIN = 'admin-secret-for-the-dashboard';
const HASH_A = `sha256:${'a1'.repeat(32)}` as const;
const HASH_B = `sha256:${'b2'.repeat(32)}` as const;
const PROVENANCE = {
  commit: '0123456789abcdef0123456789abcdef01234567',
  source: 'https://git.example.com/acme/gateway-config',
  ref: 'refs/heads/main',
};

let dir: string;
let cp: RunningControlPlane;
let dashboard: Dashboard;
let admin: Server;
let adminUrl: string;
let browser: Browser;
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

beforeAll(async () => {
  // The CLI build ships the page; build it here when running from a tree that was not built.
  if (!existsSync(join(UI, 'index.html'))) {
    execFileSync('npx', ['vite', 'build'], {
      cwd: join(ROOT, 'packages/dashboard'),
      stdio: 'ignore',
    });
    cpSync(join(ROOT, 'packages/dashboard/dist'), UI, { recursive: true });
  }
  dir = await mkdtemp(join(tmpdir(), 'plumbline-dashboard-'));
  const tokens: Record<string, { cluster: string; token_sha256: string }> = {};
  for (const n of ['gw-1', 'gw-2'])
    tokens[n] = { cluster: 'prod', token_sha256: hashToken(`token-${n}`) };
  await writeFile(join(dir, 'node-tokens.json'), JSON.stringify(tokens));
  cp = await startControlPlane({
    nodeTokens: join(dir, 'node-tokens.json'),
    adminToken: ADMIN,
    heartbeatIntervalMs: 200,
    logOutput: { write: () => true },
  });
  const check = createAdminTokenCheck(ADMIN);
  dashboard = createDashboard({ monitor: cp.monitor, authorize: (h) => check(h), uiDirs: [UI] });
  admin = createServer((req, res) => {
    if (!dashboard.handle(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => admin.listen(0, '127.0.0.1', r));
  adminUrl = `http://127.0.0.1:${(admin.address() as AddressInfo).port}`;
  const put = await fetch(`${cp.adminUrl}/v1/clusters/prod/desired`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ artifact_hash: HASH_A, reason: 'release a' }),
  });
  expect(put.status).toBe(200);
  for (const n of ['gw-1', 'gw-2']) {
    nodes.push(
      connectDataPlane({
        url: cp.wsUrl,
        nodeId: n,
        cluster: 'prod',
        credentials: { token: `token-${n}` },
        source: () => running.get(n) ?? { artifact_hash: HASH_A, provenance: PROVENANCE },
        heartbeatIntervalMs: 200,
      }),
    );
  }
  // launch() gives the browser a fresh temporary profile (user data dir) of its own.
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await Promise.all(nodes.map((n) => n.close()));
  dashboard?.close();
  admin?.closeAllConnections();
  await new Promise<void>((r) => (admin ? admin.close(() => r()) : r()));
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
  await page.goto(`${adminUrl}/ui/`);
  return { page, requests };
}

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
    expect(requests.map((r) => r.status)).toEqual([401]);
    expect(await page.locator('table.nodes').count()).toBe(0);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.context().close();
  });

  it('logs in, shows the fleet live, a node drifting, its detail, and survives a dropped stream', async () => {
    const { page, requests } = await open();
    await page.getByLabel('Admin token').fill(ADMIN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const row = (id: string) => page.locator(`tr[data-node="${id}"]`);
    await expect
      .poll(() => row('gw-2').locator('.badge').textContent(), { timeout: 10_000 })
      .toBe('in sync');
    await expect.poll(() => row('gw-1').locator('.badge').textContent()).toBe('in sync');
    expect(page.url()).toBe(`${adminUrl}/ui/`);
    expect(await page.evaluate(() => sessionStorage.getItem('plumbline.adminToken'))).toBe(ADMIN);
    expect(requests.every((r) => r.auth === `Bearer ${ADMIN}` && !r.url.includes(ADMIN))).toBe(
      true,
    );
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Live');

    // gw-2 loads another artifact: the table updates without a reload.
    // Heartbeats carry no provenance (DESIGN.md): the node's provenance is its last hello's.
    load(1, { artifact_hash: HASH_B, provenance: PROVENANCE });
    await expect
      .poll(() => row('gw-2').locator('.badge').textContent(), { timeout: 10_000 })
      .toBe('drift');
    expect(await page.locator('.cluster td[data-state="drift"]').textContent()).toBe('1');

    await row('gw-2').getByRole('button', { name: 'gw-2' }).click();
    const detail = page.getByRole('region', { name: 'Node gw-2' });
    await expect.poll(() => detail.isVisible()).toBe(true);
    const text = (await detail.textContent()) ?? '';
    expect(text).toContain(HASH_B);
    expect(text).toContain('drift.detected');
    expect(await detail.getByRole('link').first().getAttribute('href')).toBe(
      `https://git.example.com/acme/gateway-config/commit/${PROVENANCE.commit}`,
    );
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-results/dashboard.png'), fullPage: true });

    // The stream drops (a restart, a proxy): the page says so and reconnects on its own.
    admin.closeAllConnections();
    await expect
      .poll(() => page.getByRole('status').textContent(), { timeout: 10_000 })
      .toBe('Live');
    load(1, { artifact_hash: HASH_A, provenance: PROVENANCE });
    await expect
      .poll(() => row('gw-2').locator('.badge').textContent(), { timeout: 10_000 })
      .toBe('in sync');
    await page.context().close();
  });
});
