import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type RunningControlPlane } from '@plumbline/cli';
import { connectDataPlane, hashToken, type DataPlaneClient } from '@plumbline/ws';
import { ensurePage, launchChromium, problems, signIn } from './page.js';

// 2,000 nodes, each a real WebSocket session sending heartbeats: the page keeps every age true
// without a reload, scrolls through the whole table, and logs no error.

const ADMIN = 'admin-secret-for-2000-nodes';
const NODES = 2000;
const HEARTBEAT_MS = 1000;
const HASH = `sha256:${'a'.repeat(64)}` as const;
const ids = Array.from({ length: NODES }, (_, i) => `edge-${String(i).padStart(4, '0')}`);

let dir: string;
let cp: RunningControlPlane;
let browser: Browser;
const clients: DataPlaneClient[] = [];

beforeAll(async () => {
  ensurePage();
  dir = await mkdtemp(join(tmpdir(), 'plumbline-dashboard-scale-'));
  const tokens: Record<string, { cluster: string; token_sha256: string }> = {};
  for (const id of ids) tokens[id] = { cluster: 'edge', token_sha256: hashToken(`token-${id}`) };
  await writeFile(join(dir, 'node-tokens.json'), JSON.stringify(tokens));
  cp = await startControlPlane({
    nodeTokens: join(dir, 'node-tokens.json'),
    adminToken: ADMIN,
    store: join(dir, 'state.json'),
    heartbeatIntervalMs: HEARTBEAT_MS,
    logOutput: { write: () => true },
  });
  const r = await fetch(`${cp.adminUrl}/v1/clusters/edge/desired`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ artifact_hash: HASH, reason: 'edge release' }),
  });
  expect(r.status).toBe(200);
  for (const id of ids) {
    clients.push(
      connectDataPlane({
        url: cp.wsUrl,
        nodeId: id,
        cluster: 'edge',
        credentials: { token: `token-${id}` },
        source: () => ({ artifact_hash: HASH }),
        heartbeatIntervalMs: HEARTBEAT_MS,
        backoff: { initialMs: 200, maxMs: 2000 },
      }),
    );
  }
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(clients.map((c) => c.close()));
  await cp?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

/** The "Last seen" ages of the rows on screen, in seconds (`3s ago` → 3; anything else: ∞). */
async function visibleAges(page: Page): Promise<number[]> {
  const texts = await page
    .locator('table.nodes tbody tr[data-node]')
    .evaluateAll((rows) => rows.map((r) => r.querySelectorAll('td')[5]?.textContent ?? ''));
  return texts.map((t) => {
    const m = /^(\d+)s ago$/.exec(t);
    return m ? Number(m[1]) : Number.POSITIVE_INFINITY;
  });
}

describe('the dashboard with 2,000 nodes', () => {
  it('keeps every age true without a reload, scrolls to the last node, logs no error', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const seen = problems(page);
    await page.goto(`${cp.adminUrl}/ui/`);
    await signIn(page, ADMIN);
    await expect
      .poll(() => page.locator('.cluster td[data-state="in_sync"]').textContent(), {
        timeout: 90_000,
        interval: 500,
      })
      .toBe(String(NODES));
    expect(await page.locator('.filters .count').textContent()).toBe('2000 of 2000 nodes');
    // Ages stay within a heartbeat interval (plus a second of rounding and delivery), again and
    // again, with no reload: the page's clock moves and the control plane's frames refresh them.
    const bound = HEARTBEAT_MS / 1000 + 2;
    for (let round = 0; round < 3; round++) {
      await page.waitForTimeout(3000);
      const ages = await visibleAges(page);
      expect(ages.length).toBeGreaterThan(10);
      expect(Math.max(...ages)).toBeLessThanOrEqual(bound);
    }
    // Sorted by node id, scrolled to the end: the last node is on screen, its age true as well.
    await page.getByRole('button', { name: /^Node/ }).click();
    await page
      .locator('.table-scroll')
      .evaluate((el) => el.scrollTo({ top: el.scrollHeight, behavior: 'instant' }));
    const last = page.locator(`tr[data-node="${ids.at(-1)!}"]`);
    await expect.poll(() => last.isVisible()).toBe(true);
    expect(await last.getAttribute('aria-rowindex')).toBe(String(NODES + 1));
    expect(await page.locator('table.nodes tbody tr[data-node]').count()).toBeLessThan(80);
    await page.waitForTimeout(3000);
    expect(Math.max(...(await visibleAges(page)))).toBeLessThanOrEqual(bound);
    expect(seen).toEqual([]);
    await context.close();
  }, 120_000);
});
