import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type RunningControlPlane } from '@plumbline/cli';
import { connectDataPlane, hashToken, type DataPlaneClient } from '@plumbline/ws';
import { ensurePage, launchChromium } from './page.js';

// Deep links and layout: every view has its own URL that opens it after sign-in; the node table
// fills the window with columns that keep their widths; nothing overflows a 420 px screen.

const ADMIN = 'admin-secret-for-the-layout';
const HASH = `sha256:${'a'.repeat(64)}` as const;
let dir: string;
let cp: RunningControlPlane;
let browser: Browser;
let node: DataPlaneClient;

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
  dir = await mkdtemp(join(tmpdir(), 'plumbline-dashboard-layout-'));
  await writeFile(
    join(dir, 'node-tokens.json'),
    JSON.stringify({ 'gw-1': { cluster: 'prod', token_sha256: hashToken('token-gw-1') } }),
  );
  cp = await startControlPlane({
    nodeTokens: join(dir, 'node-tokens.json'),
    adminToken: ADMIN,
    store: join(dir, 'state.json'),
    heartbeatIntervalMs: 500,
    logOutput: { write: () => true },
  });
  const ids = Array.from({ length: 1000 }, (_, i) => `edge-${String(i).padStart(4, '0')}`);
  expect(
    await admin('PUT', '/v1/clusters/edge/expected-nodes', JSON.stringify({ nodes: ids })),
  ).toBe(200);
  node = connectDataPlane({
    url: cp.wsUrl,
    nodeId: 'gw-1',
    cluster: 'prod',
    credentials: { token: 'token-gw-1' },
    source: () => ({ artifact_hash: HASH }),
    heartbeatIntervalMs: 500,
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await node?.close();
  await cp?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function open(path: string, width: number, height = 900): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(`${cp.adminUrl}${path}`);
  await page.getByLabel('Admin token').fill(ADMIN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => page.getByRole('status').textContent(), { timeout: 10_000 }).toBe('Live');
  return page;
}

const count = (page: Page) => page.locator('.filters .count').textContent();

describe('dashboard URLs and layout', () => {
  it('opens the node and filter a pasted link names, after sign-in, and keeps the URL in step', async () => {
    const page = await open('/ui/#node=gw-1&cluster=prod', 1280);
    await expect
      .poll(() => page.getByRole('region', { name: 'Node gw-1' }).count(), { timeout: 10_000 })
      .toBe(1);
    await expect.poll(() => count(page)).toBe('1 of 1001 nodes');
    expect(await page.getByLabel('Cluster', { exact: true }).inputValue()).toBe('prod');

    // Closing the node and filtering by state show in the URL.
    await page.getByRole('button', { name: 'Close' }).click();
    await page.getByLabel('State', { exact: true }).selectOption('never_seen');
    await expect.poll(() => new URL(page.url()).hash).toBe('#cluster=prod&state=never_seen');
    await expect.poll(() => count(page)).toBe('0 of 1001 nodes');

    // A cluster card filters the table (and a second click shows every cluster again).
    await page.getByLabel('State', { exact: true }).selectOption('');
    await page.getByRole('button', { name: 'edge', exact: true }).click();
    await expect.poll(() => new URL(page.url()).hash).toBe('#cluster=edge');
    await expect.poll(() => count(page)).toBe('1000 of 1001 nodes');
    await page.getByRole('button', { name: 'edge', exact: true }).click();
    await expect.poll(() => new URL(page.url()).hash).toBe('');

    // Opening a node is a new history entry: Back closes it.
    await page.getByRole('button', { name: 'prod', exact: true }).click();
    await page.locator('tr[data-node="gw-1"] button').click();
    await expect.poll(() => new URL(page.url()).hash).toBe('#node=gw-1&cluster=prod');
    await page.goBack();
    await expect.poll(() => page.getByRole('region', { name: 'Node gw-1' }).count()).toBe(0);
    await page.context().close();
  });

  it('fills the window with the node table, whose columns keep their widths while scrolling', async () => {
    const page = await open('/ui/', 1280, 1200);
    await expect.poll(() => count(page), { timeout: 10_000 }).toBe('1001 of 1001 nodes');
    const scroller = page.locator('.table-scroll');
    expect(await scroller.evaluate((el) => el.clientHeight)).toBeGreaterThan(800);
    const widths = () =>
      page.locator('table.nodes thead th').evaluateAll((ths) => ths.map((th) => th.clientWidth));
    const before = await widths();
    await scroller.evaluate((el) => el.scrollTo({ top: el.scrollHeight / 2, behavior: 'instant' }));
    await expect.poll(() => page.locator('tr[data-node="edge-0500"]').count()).toBe(1);
    expect(await widths()).toEqual(before);
    await scroller.evaluate((el) => el.scrollTo({ top: el.scrollHeight, behavior: 'instant' }));
    await expect.poll(() => page.locator('tr[data-node="gw-1"]').count()).toBe(1);
    expect(await widths()).toEqual(before);
    await page.context().close();
  });

  it('does not overflow a 420 px wide screen, node detail open', async () => {
    const page = await open('/ui/#node=gw-1', 420);
    await expect
      .poll(() => page.getByRole('region', { name: 'Node gw-1' }).count(), { timeout: 10_000 })
      .toBe(1);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      420,
    );
    await page.context().close();
  });
});
