import { mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type RunningControlPlane } from '@plumbline/cli';
import { serializeManifest } from '@plumbline/core/manifest';
import { connectDataPlane, hashToken, type DataPlaneClient } from '@plumbline/ws';
import {
  axeViolations,
  ensurePage,
  launchChromium,
  problems,
  ROOT,
  signIn,
  manifest,
} from './page.js';

// The dashboard an operator keeps open: actions from the page (admin token only), a cluster's
// history, release names beside hashes, and accessibility of the main views.

const ADMIN = 'admin-secret-for-the-console';
const READ = 'read-only-secret-for-the-console';

const MANIFEST_A = manifest({ 'gateway.yaml': 'listen: 8080', 'routes/orders.yaml': 'v1' });
const MANIFEST_B = manifest({ 'gateway.yaml': 'listen: 8080', 'routes/orders.yaml': 'v2' });
const MANIFEST_C = manifest({ 'gateway.yaml': 'listen: 8081', 'routes/orders.yaml': 'v2' });
const HASH_A = MANIFEST_A.root;
const HASH_B = MANIFEST_B.root;
const RELEASE_A = {
  commit: '0123456789abcdef0123456789abcdef01234567',
  source: 'https://git.example.com/acme/gateway-config',
  ref: 'refs/tags/v1.4.0',
};
const RELEASE_B = {
  commit: 'fedcba9876543210fedcba9876543210fedcba98',
  source: 'https://git.example.com/acme/gateway-config',
  ref: 'refs/heads/main',
};

let dir: string;
let cp: RunningControlPlane;
let browser: Browser;
const nodes: DataPlaneClient[] = [];
const running = new Map<
  string,
  { artifact_hash: `sha256:${string}`; provenance: typeof RELEASE_A }
>();

async function api(
  method: string,
  path: string,
  body?: string,
  token = ADMIN,
): Promise<{ status: number; body: unknown }> {
  const r = await fetch(`${cp.adminUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body }),
  });
  const text = await r.text();
  return { status: r.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
}

interface AuditLine {
  type: string;
  actor: { type: string; id: string };
  reason?: string;
  subject?: { type: string; id: string };
  details?: Record<string, unknown>;
}
async function auditLines(): Promise<AuditLine[]> {
  const text = await readFile(join(dir, 'audit.log'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as AuditLine);
}

beforeAll(async () => {
  ensurePage();
  dir = await mkdtemp(join(tmpdir(), 'plumbline-dashboard-console-'));
  const tokens: Record<string, { cluster: string; token_sha256: string }> = {};
  for (const n of ['gw-1', 'gw-2'])
    tokens[n] = { cluster: 'prod', token_sha256: hashToken(`token-${n}`) };
  await writeFile(join(dir, 'node-tokens.json'), JSON.stringify(tokens));
  cp = await startControlPlane({
    nodeTokens: join(dir, 'node-tokens.json'),
    adminToken: ADMIN,
    readToken: READ,
    store: join(dir, 'state.json'),
    audit: { path: join(dir, 'audit.log') },
    heartbeatIntervalMs: 200,
    logOutput: { write: () => true },
  });
  const set = await api(
    'PUT',
    '/v1/clusters/prod/desired',
    JSON.stringify({ artifact_hash: HASH_A, reason: 'release a' }),
  );
  expect(set.status).toBe(200);
  for (const m of [MANIFEST_A, MANIFEST_B])
    expect((await api('PUT', '/v1/manifests', serializeManifest(m))).status).toBe(200);
  for (const n of ['gw-1', 'gw-2']) {
    running.set(n, { artifact_hash: HASH_A, provenance: RELEASE_A });
    nodes.push(
      connectDataPlane({
        url: cp.wsUrl,
        nodeId: n,
        cluster: 'prod',
        credentials: { token: `token-${n}` },
        source: () => running.get(n)!,
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

async function open(): Promise<{ page: Page; seen: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const seen = problems(page);
  await page.goto(`${cp.adminUrl}/ui/`);
  return { page, seen };
}

const row = (page: Page, id: string) => page.locator(`tr[data-node="${id}"]`);
const badge = (page: Page, id: string) => row(page, id).locator('.badge').textContent();

describe('acting from the page', () => {
  it('shows the read token the fleet without any action control; the API refuses its writes', async () => {
    const { page, seen } = await open();
    await signIn(page, READ);
    await expect.poll(() => badge(page, 'gw-1'), { timeout: 10_000 }).toBe('in sync');
    expect(await page.locator('.cluster').count()).toBe(1);
    expect(await page.locator('.cluster .actions button').count()).toBe(0);
    expect(await page.getByRole('button', { name: /desired state|expected nodes/i }).count()).toBe(
      0,
    );
    // The read token reads the history, but writes nothing, through the page's routes or the API.
    expect((await api('GET', '/v1/clusters/prod/history', undefined, READ)).status).toBe(200);
    const put = await api(
      'PUT',
      '/v1/clusters/prod/desired',
      JSON.stringify({ artifact_hash: HASH_B, reason: 'not allowed' }),
      READ,
    );
    expect(put.status).toBe(401);
    expect((await api('PUT', '/v1/manifests', serializeManifest(MANIFEST_C), READ)).status).toBe(
      401,
    );
    expect(
      (await api('PUT', '/v1/clusters/prod/expected-nodes', '{"nodes":[]}', READ)).status,
    ).toBe(401);
    // The fleet API's own routes keep needing the admin token.
    expect((await api('GET', '/v1/fleet', undefined, READ)).status).toBe(401);
    expect((await api('GET', '/metrics', undefined, READ)).status).toBe(401);
    expect((await api('GET', '/v1/fleet')).body).toMatchObject({
      clusters: [{ cluster: 'prod', desired_hash: HASH_A }],
    });
    expect(seen).toEqual([]);
    await page.context().close();
  });

  it('sets a desired state with a confirmation, a reason and a deadline; audited; shown with who and why', async () => {
    const { page, seen } = await open();
    await signIn(page, ADMIN);
    await expect.poll(() => badge(page, 'gw-1'), { timeout: 10_000 }).toBe('in sync');
    await page.getByRole('button', { name: 'Set desired state of prod' }).click();
    const dialog = page.getByRole('dialog', { name: 'Set the desired state of prod' });
    await dialog.waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('action-title');
    // The dialog as it opens: no serious or critical accessibility violations.
    expect(await axeViolations(page)).toEqual([]);
    // Nothing chosen, then no reason: refused in the page, nothing sent.
    await dialog.getByRole('button', { name: 'Review' }).click();
    await expect
      .poll(() => dialog.getByRole('alert').textContent())
      .toBe('Choose a manifest or paste a sha256: hash.');
    // The known manifests are listed with the release names of the nodes that run them.
    expect(
      await dialog
        .getByLabel('Uploaded manifest')
        .locator(`option[value="${HASH_A}"]`)
        .textContent(),
    ).toBe(`${HASH_A.slice(0, 19)} (v1.4.0 @ 0123456)`);
    await dialog.getByLabel('Uploaded manifest').selectOption(HASH_B);
    await dialog.getByRole('button', { name: 'Review' }).click();
    await expect.poll(() => dialog.getByRole('alert').textContent()).toBe('A reason is required.');
    await dialog.getByLabel('Reason').fill('orders v2 for the holiday traffic');
    await dialog.getByLabel('Deadline (minutes, optional)').fill('30');
    expect(await axeViolations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Review' }).click();
    const confirm = (await dialog.locator('.confirm').textContent()) ?? '';
    expect(confirm).toContain(HASH_B);
    expect(confirm).toContain('every node in sync within 30 min');
    expect(confirm).toContain('orders v2 for the holiday traffic');
    // The confirmation step is as accessible as the form.
    expect(await axeViolations(page)).toEqual([]);
    // Not sent before the confirmation.
    expect((await api('GET', '/v1/fleet')).body).toMatchObject({
      clusters: [{ desired_hash: HASH_A }],
    });
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await expect
      .poll(() => dialog.getByRole('status').textContent(), { timeout: 10_000 })
      .toMatch(/^prod should now run sha256:[0-9a-f]{12} \(version \d+\)\.$/);

    // The API's state changed, with the rollout deadline.
    const fleet = (await api('GET', '/v1/fleet')).body as {
      clusters: {
        desired_hash: string;
        rollout: { deadline: string; started_at: string } | null;
      }[];
    };
    expect(fleet.clusters[0]!.desired_hash).toBe(HASH_B);
    const rollout = fleet.clusters[0]!.rollout!;
    expect(Date.parse(rollout.deadline) - Date.parse(rollout.started_at)).toBe(30 * 60_000);
    // Audited exactly like the API: the same event, the admin as actor, the reason.
    await expect
      .poll(async () => (await auditLines()).filter((e) => e.type === 'desired_state.changed'))
      .toHaveLength(2);
    const [byApi, byPage] = (await auditLines()).filter((e) => e.type === 'desired_state.changed');
    expect(byPage!.actor).toEqual(byApi!.actor);
    expect(byPage!.actor.id).toBe('admin');
    expect(byPage!.reason).toBe('orders v2 for the holiday traffic');
    expect(byPage!.subject).toEqual(byApi!.subject);
    expect(byPage!.details).toEqual({
      cluster: 'prod',
      previous_hash: HASH_A,
      artifact_hash: HASH_B,
      deadline_seconds: 1800,
      // The id of the change's alert: one id per fact, distinct from the API-made change's.
      event_id: expect.stringMatching(
        /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      ),
    });
    expect(byPage!.details!.event_id).not.toBe(byApi!.details!.event_id);

    // The nodes still run A, allowed until the deadline; the node's timeline says who changed the
    // desired state, and why.
    await page.getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => badge(page, 'gw-1'), { timeout: 10_000 }).toBe('pending');
    await row(page, 'gw-1').getByRole('button', { name: 'gw-1' }).click();
    const change = page.locator('table.timeline tbody tr', { hasText: 'desired_state.changed' });
    await expect.poll(() => change.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    const cells = await change.first().locator('td').allTextContents();
    expect(cells.slice(-2)).toEqual(['admin', 'orders v2 for the holiday traffic']);
    // And so does the audit panel.
    const audit = page.getByRole('region', { name: 'Recent audit events' });
    await expect
      .poll(() => audit.locator('tr', { hasText: 'desired_state.changed' }).first().textContent(), {
        timeout: 10_000,
      })
      .toContain('orders v2 for the holiday traffic');

    // Back to A from a pasted hash.
    await page.getByRole('button', { name: 'Set desired state of prod' }).click();
    await dialog.getByLabel('Artifact hash').fill(HASH_A);
    await dialog.getByLabel('Reason').fill('back to v1.4.0');
    await dialog.getByRole('button', { name: 'Review' }).click();
    expect(await dialog.locator('.confirm').textContent()).toContain('(v1.4.0 @ 0123456)');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.getByRole('status').waitFor();
    await expect.poll(() => badge(page, 'gw-1'), { timeout: 10_000 }).toBe('in sync');
    expect(seen).toEqual([]);
    await page.context().close();
  }, 90_000);

  it('uploads a manifest from the dialog and sets it', async () => {
    const { page, seen } = await open();
    await signIn(page, ADMIN);
    await page.getByRole('button', { name: 'Set desired state of prod' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Upload a manifest').setInputFiles({
      name: 'manifest.json',
      mimeType: 'application/json',
      buffer: Buffer.from(serializeManifest(MANIFEST_C)),
    });
    await expect.poll(() => dialog.getByLabel('Artifact hash').inputValue()).toBe(MANIFEST_C.root);
    await dialog.getByLabel('Reason').fill('gateway on 8081');
    await dialog.getByRole('button', { name: 'Review' }).click();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.getByRole('status').waitFor();
    expect((await api('GET', '/v1/fleet')).body).toMatchObject({
      clusters: [{ desired_hash: MANIFEST_C.root }],
    });
    expect(
      (
        await api(
          'PUT',
          '/v1/clusters/prod/desired',
          JSON.stringify({ artifact_hash: HASH_A, reason: 'back' }),
        )
      ).status,
    ).toBe(200);
    expect(seen).toEqual([]);
    await page.context().close();
  });

  it('declares the expected nodes of a cluster, audited', async () => {
    const { page, seen } = await open();
    await signIn(page, ADMIN);
    await expect.poll(() => badge(page, 'gw-2'), { timeout: 10_000 }).toBe('in sync');
    await page.getByRole('button', { name: 'Declare expected nodes of prod' }).click();
    const dialog = page.getByRole('dialog', { name: 'Declare the expected nodes of prod' });
    const field = dialog.getByLabel('Expected nodes (one per line)');
    expect(await field.inputValue()).toBe('gw-1\ngw-2');
    await field.fill('gw-1\ngw-2\ngw-3');
    await dialog.getByRole('button', { name: 'Review' }).click();
    expect(await dialog.locator('.confirm').textContent()).toBe(
      'Declare 3 expected nodes for prod: 1 added (gw-3), 0 no longer expected.',
    );
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => dialog.getByRole('status').textContent()).toBe('prod expects 3 nodes.');
    await expect.poll(() => badge(page, 'gw-3'), { timeout: 10_000 }).toBe('never seen');
    await expect
      .poll(async () => (await auditLines()).find((e) => e.type === 'fleet.expected_nodes_changed'))
      .toMatchObject({
        actor: { id: 'admin' },
        details: { added: ['gw-1', 'gw-2', 'gw-3'], removed: [] },
      });
    expect(seen).toEqual([]);
    await page.context().close();
  });
});

describe('history, names and accessibility', () => {
  it('charts a cluster’s node states and lists its drifts with their durations', async () => {
    const { page, seen } = await open();
    await signIn(page, ADMIN);
    await expect.poll(() => badge(page, 'gw-2'), { timeout: 10_000 }).toBe('in sync');
    // gw-2 drifts, then comes back.
    running.set('gw-2', { artifact_hash: HASH_B, provenance: RELEASE_B });
    nodes[1]!.report(running.get('gw-2')!);
    await expect.poll(() => badge(page, 'gw-2'), { timeout: 10_000 }).toBe('drift');
    await page.waitForTimeout(1100);
    running.set('gw-2', { artifact_hash: HASH_A, provenance: RELEASE_A });
    nodes[1]!.report(running.get('gw-2')!);
    await expect.poll(() => badge(page, 'gw-2'), { timeout: 10_000 }).toBe('in sync');

    await page.getByRole('button', { name: 'prod', exact: true }).click();
    const history = page.getByRole('region', { name: 'History of prod' });
    const drift = history.locator('table.drifts tr[data-node="gw-2"]');
    // The newest first (the earlier tests drifted the cluster too).
    await expect.poll(() => drift.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    expect(await drift.first().locator('td').nth(1).textContent()).not.toBe('still drifting');
    const lasted = (await drift.first().locator('td').nth(2).textContent()) ?? '';
    expect(lasted).toMatch(/^\d+s$/);
    expect(Number.parseInt(lasted, 10)).toBeGreaterThanOrEqual(1);
    const bands = await history
      .locator('svg polygon')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
    expect(bands).toContain('in_sync');
    // A drift of a second is shorter than a step: the peak line shows it.
    const peak = await history.locator('svg polyline.peak-drift').getAttribute('data-max');
    expect(Number(peak)).toBeGreaterThanOrEqual(1);
    expect(await history.getByRole('img').count()).toBe(1);
    expect(seen).toEqual([]);
    await page.context().close();
  });

  it('names releases next to hashes in the table, the cluster card and the node detail', async () => {
    const { page } = await open();
    await signIn(page, ADMIN);
    await expect.poll(() => badge(page, 'gw-1'), { timeout: 10_000 }).toBe('in sync');
    const release = row(page, 'gw-1').locator('td').nth(6);
    expect(await release.textContent()).toBe('v1.4.0 @ 0123456');
    expect(await release.locator('a').getAttribute('href')).toBe(
      `${RELEASE_A.source}/commit/${RELEASE_A.commit}`,
    );
    expect(await page.locator('.cluster .release').textContent()).toBe(' v1.4.0 @ 0123456');
    await row(page, 'gw-1').getByRole('button', { name: 'gw-1' }).click();
    const detail = page.getByRole('region', { name: 'Node gw-1' });
    const text = (await detail.locator('dl').first().textContent()) ?? '';
    expect(text).toContain(`${HASH_A} (v1.4.0 @ 0123456)`);
    await page.context().close();
  });

  it('has no serious accessibility violation on sign-in, the fleet, a node and the action dialog', async () => {
    const { page, seen } = await open();
    expect(await axeViolations(page)).toEqual([]);
    await signIn(page, ADMIN);
    await expect.poll(() => badge(page, 'gw-1'), { timeout: 10_000 }).toBe('in sync');
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'prod', exact: true }).click();
    await page.getByRole('region', { name: 'History of prod' }).locator('svg').waitFor();
    await row(page, 'gw-1').getByRole('button', { name: 'gw-1' }).click();
    await page.getByRole('region', { name: 'Node gw-1' }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({
      path: join(ROOT, 'test-results/dashboard-console.png'),
      fullPage: true,
    });
    await page.getByRole('button', { name: 'Declare expected nodes of prod' }).click();
    await page.getByRole('dialog').waitFor();
    expect(await axeViolations(page)).toEqual([]);
    expect(seen).toEqual([]);
    await page.context().close();
  });
});
