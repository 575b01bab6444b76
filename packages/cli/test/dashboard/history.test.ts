import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type RunningControlPlane } from '@plumbline/cli';
import { FleetMonitor, ManualClock, MemoryFleetStore } from '@plumbline/core/drift';
import { connectDataPlane, hashToken, type DataPlaneClient } from '@plumbline/ws';
import { createFleetHistory } from '../../src/dashboard/index.js';

const ADMIN = 'admin-secret-for-the-history';
const READ = 'read-secret-for-the-history';
const H1 = `sha256:${'1'.repeat(64)}` as const;
const H2 = `sha256:${'2'.repeat(64)}` as const;

let dir: string;
let started = 0;
let cp: RunningControlPlane;
const clients: DataPlaneClient[] = [];
const running = new Map<string, `sha256:${string}`>();

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the documents are checked field by field
type Json = any;
async function get(path: string, token = ADMIN): Promise<{ status: number; body: Json }> {
  const r = await fetch(`${cp.adminUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, body: await r.json() };
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const state = async (node: string): Promise<string> =>
  (await get(`/v1/fleet/nodes/${node}`)).body.state as string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plumbline-history-'));
  await writeFile(
    join(dir, 'node-tokens.json'),
    JSON.stringify({
      'gw-1': { cluster: 'prod', token_sha256: hashToken('token-gw-1') },
      'gw-2': { cluster: 'prod', token_sha256: hashToken('token-gw-2') },
    }),
  );
  started = Date.now();
  cp = await startControlPlane({
    nodeTokens: join(dir, 'node-tokens.json'),
    adminToken: ADMIN,
    readToken: READ,
    store: join(dir, 'state.json'),
    heartbeatIntervalMs: 200,
    logOutput: { write: () => true },
  });
  const r = await fetch(`${cp.adminUrl}/v1/clusters/prod/desired`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ artifact_hash: H1, reason: 'first' }),
  });
  expect(r.status).toBe(200);
  for (const n of ['gw-1', 'gw-2']) {
    running.set(n, H1);
    clients.push(
      connectDataPlane({
        url: cp.wsUrl,
        nodeId: n,
        cluster: 'prod',
        credentials: { token: `token-${n}` },
        source: () => ({ artifact_hash: running.get(n)! }),
        heartbeatIntervalMs: 200,
        backoff: { initialMs: 50, maxMs: 200 },
      }),
    );
  }
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cp?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('GET /v1/clusters/{cluster}/history', () => {
  it('samples node states over the window and lists drifts with their durations', async () => {
    await until(async () => (await state('gw-2')) === 'in_sync', 'gw-2 in sync');
    await until(async () => (await state('gw-1')) === 'in_sync', 'gw-1 in sync');
    running.set('gw-2', H2);
    clients[1]!.report({ artifact_hash: H2 });
    await until(async () => (await state('gw-2')) === 'drift', 'gw-2 drifting');
    const during = await get('/v1/clusters/prod/history?hours=1');
    expect(during.status).toBe(200);
    expect(during.body.samples).toHaveLength(72);
    // The window starts when the control plane started recording (less than an hour ago; a
    // window is at least a second long).
    const from = Date.parse(during.body.from);
    const to = Date.parse(during.body.to);
    expect(to - from).toBeLessThan(3_600_000);
    expect(from).toBeGreaterThanOrEqual(Math.min(started, to - 1000));
    expect(during.body.step_ms).toBeCloseTo((to - from) / 72, 6);
    expect(during.body.samples.at(-1).counts).toMatchObject({ in_sync: 1, drift: 1 });
    // At the start neither node had been seen.
    expect(during.body.samples[0].counts).toMatchObject({ in_sync: 0, drift: 0, never_seen: 2 });
    expect(during.body.drifts).toEqual([expect.objectContaining({ node_id: 'gw-2', until: null })]);
    await new Promise((r) => setTimeout(r, 300));
    running.set('gw-2', H1);
    clients[1]!.report({ artifact_hash: H1 });
    await until(async () => (await state('gw-2')) === 'in_sync', 'gw-2 back in sync');
    const after = await get('/v1/clusters/prod/history');
    expect(after.body.samples.at(-1).counts).toMatchObject({ in_sync: 2, drift: 0 });
    // At most one node drifted at once, and none at the start.
    expect(Math.max(...after.body.samples.map((x: { peak_drift: number }) => x.peak_drift))).toBe(
      1,
    );
    expect(after.body.samples[0].peak_drift).toBe(0);
    expect(after.body.drifts).toHaveLength(1);
    const drift = after.body.drifts[0];
    expect(drift.node_id).toBe('gw-2');
    expect(drift.duration_ms).toBe(Date.parse(drift.until) - Date.parse(drift.since));
    expect(drift.duration_ms).toBeGreaterThanOrEqual(300);
    expect(after.body.truncated).toBe(false);
    // Who set the desired state, and why (from the shared store's state).
    expect(after.body.changes).toEqual([
      expect.objectContaining({ version: 1, artifact_hash: H1, actor: 'admin', reason: 'first' }),
    ]);
    // Another cluster has no nodes and no drift.
    const other = await get('/v1/clusters/staging/history');
    expect(other.body.drifts).toEqual([]);
    expect(other.body.samples[0].counts.in_sync).toBe(0);
  });

  it('needs a token (the read token will do) and refuses bad windows', async () => {
    expect((await get('/v1/clusters/prod/history', 'wrong')).status).toBe(401);
    expect((await get('/v1/clusters/prod/history', READ)).status).toBe(200);
    for (const hours of ['0', '25', '-1', 'x', '1.5']) {
      const r = await get(`/v1/clusters/prod/history?hours=${hours}`);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('PLB_FLEET_API_INVALID');
    }
    const post = await fetch(`${cp.adminUrl}/v1/clusters/prod/history`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(post.status).toBe(405);
  });
});

describe('createFleetHistory', () => {
  it('starts its window no earlier than when it started recording', async () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const monitor = await FleetMonitor.create({ store: new MemoryFleetStore(), clock });
    const history = createFleetHistory({ monitor, now: () => clock.now() });
    await monitor.setDesired({ cluster: 'prod', artifact_hash: H1, actor: 'admin', reason: 'r' });
    clock.set(clock.now() + 3_600_000);
    const now = clock.now();
    const h = history.history('prod', { hours: 6, buckets: 6, now });
    expect(Date.parse(h.from)).toBe(now - 3_600_000);
    expect(h.step_ms).toBe(600_000);
    history.close();
    await monitor.close();
  });

  it('keeps a bounded ring and says when the window lost changes', async () => {
    const monitor = await FleetMonitor.create({ store: new MemoryFleetStore() });
    const history = createFleetHistory({ monitor, limit: 2 });
    await monitor.setDesired({ cluster: 'prod', artifact_hash: H1, actor: 'admin', reason: 'r' });
    const connect = (id: string): void => {
      const connected = monitor.connect(
        { node_id: id, cluster: 'prod', principal: `token:${id}` },
        {
          type: 'hello',
          protocol: 'plumbline.drift/v1',
          node_id: id,
          cluster: 'prod',
          instance_id: `i-${id}`,
          artifact_hash: H1,
        },
        `s-${id}`,
      );
      expect(connected.ok).toBe(true);
    };
    connect('a');
    connect('b');
    expect(history.history('prod', { hours: 1, buckets: 4 }).truncated).toBe(false);
    // A third change pushes the first out of the ring, inside the window.
    connect('c');
    const h = history.history('prod', { hours: 1, buckets: 4 });
    expect(h.truncated).toBe(true);
    expect(h.samples.at(-1)!.counts.in_sync).toBe(3);
    history.close();
    await monitor.close();
  });
});
