import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDataPlane, hashToken, type DataPlaneClient } from '@plumbline/ws';
import { runCli, spawnCli, until } from '../helpers.js';
import { ensurePage, launchChromium, problems, signIn } from './page.js';

// The page works the same against any replica: two control-plane processes on one PostgreSQL
// database; the page on the second shows the drift of a node attached to the first, and an
// action taken on the second is seen on the first.

const PG_SERVER = process.env['PLUMBLINE_TEST_PG_SERVER'] ?? 'postgres://postgres@127.0.0.1:5432';
const database = `plbdash_${randomBytes(5).toString('hex')}`;
const PG_URL = `${PG_SERVER}/${database}`;
const H1 = `sha256:${'1'.repeat(64)}` as const;
const H2 = `sha256:${'2'.repeat(64)}` as const;
const ADMIN = 'admin-secret-for-the-replicas';
const READ = 'read-secret-for-the-replicas';

interface Replica {
  readonly child: ChildProcess;
  admin: string;
  ws: string;
  stderr: string;
}

function psql(db: string, sql: string): void {
  execFileSync('psql', [`${PG_SERVER}/${db}`, '-q', '-c', sql], {
    env: { ...process.env, PGOPTIONS: '--client-min-messages=warning' },
  });
}

async function startReplica(dir: string): Promise<Replica> {
  const child = spawnCli([
    'control-plane',
    '--listen',
    '127.0.0.1:0',
    '--admin-listen',
    '127.0.0.1:0',
    '--node-tokens',
    join(dir, 'node-tokens.json'),
    '--admin-token-file',
    join(dir, 'admin.token'),
    '--read-token-file',
    join(dir, 'read.token'),
    '--store',
    PG_URL,
    '--heartbeat-interval',
    '1s',
  ]);
  let out = '';
  const replica: Replica = { child, admin: '', ws: '', stderr: '' };
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (replica.stderr += c.toString()));
  const line = await until(
    () => out.split('\n').find((l) => l.startsWith('{')) ?? (child.exitCode !== null && 'exit'),
    'the listening line',
    60_000,
  );
  if (line === 'exit') throw new Error(`control plane exited: ${replica.stderr}`);
  const listening = JSON.parse(line) as { ws: string; admin: string };
  replica.admin = listening.admin;
  replica.ws = listening.ws;
  return replica;
}

async function fleet(replica: Replica): Promise<{
  clusters: { cluster: string; desired_hash: string | null }[];
  nodes: { node_id: string; state: string }[];
}> {
  const r = await fetch(`${replica.admin}/v1/fleet`, {
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  return (await r.json()) as Awaited<ReturnType<typeof fleet>>;
}

const stateOn = async (replica: Replica, node: string): Promise<string | undefined> =>
  (await fleet(replica)).nodes.find((n) => n.node_id === node)?.state;

let dir: string;
let browser: Browser;
const replicas: Replica[] = [];
const clients: DataPlaneClient[] = [];
const running = new Map<string, `sha256:${string}`>();

beforeAll(async () => {
  ensurePage();
  psql('test', `CREATE DATABASE "${database}"`);
  dir = await mkdtemp(join(tmpdir(), 'plumbline-dashboard-replicas-'));
  await writeFile(
    join(dir, 'node-tokens.json'),
    JSON.stringify({
      'gw-a': { cluster: 'prod', token_sha256: hashToken('token-gw-a') },
      'gw-b': { cluster: 'prod', token_sha256: hashToken('token-gw-b') },
    }),
  );
  await writeFile(join(dir, 'admin.token'), `${ADMIN}\n`);
  await writeFile(join(dir, 'read.token'), `${READ}\n`);
  expect((await runCli(['control-plane', 'migrate', '--store', PG_URL])).code).toBe(0);
  replicas.push(await startReplica(dir), await startReplica(dir));
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  for (const c of clients) await c.close();
  for (const r of replicas) {
    if (r.child.exitCode !== null) continue;
    const exited = new Promise((resolve) => r.child.once('close', resolve));
    r.child.kill('SIGTERM');
    await exited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
  psql('test', `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
}, 60_000);

const badge = (page: Page, id: string) =>
  page.locator(`tr[data-node="${id}"]`).locator('.badge').textContent();

describe('the dashboard on two replicas of one PostgreSQL store', () => {
  it('shows on replica B the drift of a node on replica A; an action on B is seen on A', async () => {
    const [a, b] = replicas as [Replica, Replica];
    for (const [node, replica] of [
      ['gw-a', a],
      ['gw-b', b],
    ] as const) {
      running.set(node, H1);
      clients.push(
        connectDataPlane({
          url: replica.ws,
          nodeId: node,
          cluster: 'prod',
          credentials: { token: `token-${node}` },
          source: () => ({ artifact_hash: running.get(node)! }),
          heartbeatIntervalMs: 1000,
          backoff: { initialMs: 50, maxMs: 200 },
        }),
      );
    }
    const put = await fetch(`${a.admin}/v1/clusters/prod/desired`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ artifact_hash: H1, reason: 'release 1' }),
    });
    expect(put.status).toBe(200);
    await until(async () => (await stateOn(b, 'gw-a')) === 'in_sync', 'gw-a in sync on B');

    // The page on B: gw-a (attached to A) drifts, and B's page shows it live.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const seen = problems(page);
    await page.goto(`${b.admin}/ui/`);
    await signIn(page, ADMIN);
    await expect.poll(() => badge(page, 'gw-a'), { timeout: 20_000 }).toBe('in sync');
    running.set('gw-a', H2);
    clients[0]!.report({ artifact_hash: H2 });
    await expect.poll(() => badge(page, 'gw-a'), { timeout: 20_000 }).toBe('drift');

    // An action on B's page: H2 becomes the desired state; A sees it, and gw-a is in sync there.
    await page.getByRole('button', { name: 'Set desired state of prod' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Artifact hash').fill(H2);
    await dialog.getByLabel('Reason').fill('adopt what gw-a runs');
    await dialog.getByRole('button', { name: 'Review' }).click();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.getByRole('status').waitFor({ timeout: 20_000 });
    await until(
      async () => (await fleet(a)).clusters.find((c) => c.cluster === 'prod')?.desired_hash === H2,
      'the desired state on A',
    );
    await until(async () => (await stateOn(a, 'gw-a')) === 'in_sync', 'gw-a in sync on A');
    await expect.poll(() => badge(page, 'gw-a'), { timeout: 20_000 }).toBe('in sync');
    await expect.poll(() => badge(page, 'gw-b'), { timeout: 20_000 }).toBe('drift');

    // A's page agrees: the same desired state, the same states, the same who and why.
    const pageA = await context.newPage();
    const seenA = problems(pageA);
    await pageA.goto(`${a.admin}/ui/`);
    await signIn(pageA, ADMIN);
    await expect.poll(() => badge(pageA, 'gw-b'), { timeout: 20_000 }).toBe('drift');
    expect(await pageA.locator('.cluster p code').first().getAttribute('title')).toBe(H2);
    await pageA.getByRole('button', { name: 'prod', exact: true }).click();
    const change = pageA
      .getByRole('region', { name: 'History of prod' })
      .locator('table.changes tbody tr')
      .first();
    await expect
      .poll(() => change.textContent(), { timeout: 20_000 })
      .toContain('adopt what gw-a runs');
    // A's node timeline says who changed the desired state on B, and why.
    await pageA.locator('tr[data-node="gw-a"]').getByRole('button', { name: 'gw-a' }).click();
    const fromB = pageA.locator('table.timeline tbody tr', {
      hasText: 'adopt what gw-a runs',
    });
    await expect.poll(() => fromB.count(), { timeout: 20_000 }).toBe(1);
    const cells = await fromB.locator('td').allTextContents();
    expect(cells.slice(1, 2)).toEqual(['desired_state.changed']);
    expect(cells.slice(-2)).toEqual(['admin', 'adopt what gw-a runs']);
    // The read token (`--read-token-file`) reads the history on either replica, and acts on none;
    // both replicas list the same desired-state changes, with who and why.
    const listed: unknown[] = [];
    for (const replica of [a, b]) {
      const history = await fetch(`${replica.admin}/v1/clusters/prod/history`, {
        headers: { authorization: `Bearer ${READ}` },
      });
      expect(history.status).toBe(200);
      listed.push(((await history.json()) as { changes: unknown[] }).changes);
      const refused = await fetch(`${replica.admin}/v1/clusters/prod/desired`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${READ}`, 'content-type': 'application/json' },
        body: JSON.stringify({ artifact_hash: H1, reason: 'not allowed' }),
      });
      expect(refused.status).toBe(401);
    }
    expect(listed[0]).toEqual(listed[1]);
    // A replica started after the changes lists them too: they are read from the shared store.
    const late = await startReplica(dir);
    replicas.push(late);
    const lateHistory = await fetch(`${late.admin}/v1/clusters/prod/history`, {
      headers: { authorization: `Bearer ${READ}` },
    });
    expect(((await lateHistory.json()) as { changes: unknown[] }).changes).toEqual(listed[0]);
    expect(listed[0]).toMatchObject([
      { artifact_hash: H2, actor: 'admin', reason: 'adopt what gw-a runs' },
      { artifact_hash: H1, actor: 'admin', reason: 'release 1' },
    ]);
    expect(seen).toEqual([]);
    expect(seenA).toEqual([]);
    await context.close();
  }, 120_000);
});
