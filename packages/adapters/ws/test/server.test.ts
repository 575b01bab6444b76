import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createMemoryAuditLogger } from '@plumbline/core/audit';
import { FleetMonitor, type FleetEvent } from '@plumbline/core/drift';
import {
  connectDataPlane,
  createControlPlaneServer,
  createTokenAuthenticator,
  hashToken,
  type ControlPlaneServer,
  type DataPlaneClient,
} from '@plumbline/ws';

const H1 = `sha256:${'1'.repeat(64)}` as const;
const H2 = `sha256:${'2'.repeat(64)}` as const;
const nodes = {
  'gw-1': { cluster: 'prod', token_sha256: hashToken('tok-1') },
  'gw-2': { cluster: 'prod', token_sha256: hashToken('tok-2') },
};

let server: ControlPlaneServer | undefined;
let monitor: FleetMonitor | undefined;
const clients: DataPlaneClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await server?.close();
  await monitor?.close();
  server = undefined;
  monitor = undefined;
});

async function until<T>(
  fn: () => T | undefined | false,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function hello(nodeId: string, cluster: string, hash: string | null = H1): string {
  return JSON.stringify({
    type: 'hello',
    protocol: 'plumbline.drift/v1',
    node_id: nodeId,
    cluster,
    instance_id: 'i-1',
    artifact_hash: hash,
  });
}

function raw(
  url: string,
  token: string,
): Promise<{ ws: WebSocket; frames: string[]; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    const frames: string[] = [];
    ws.on('message', (d) => frames.push(d.toString()));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.once('open', () => resolve({ ws, frames, closed }));
    ws.once('error', reject);
  });
}

describe('createControlPlaneServer', () => {
  it('feeds the monitor from real data planes and follows the desired state', async () => {
    monitor = await FleetMonitor.create({ heartbeatIntervalMs: 100, flapDamping: false });
    const events: FleetEvent[] = [];
    monitor.onAny((e) => events.push(e));
    server = await createControlPlaneServer({ monitor, auth: createTokenAuthenticator({ nodes }) });
    await monitor.setDesired({
      cluster: 'prod',
      artifact_hash: H1,
      actor: 'test',
      reason: 'initial',
    });
    let hash: `sha256:${string}` = H1;
    for (const [id, token] of [
      ['gw-1', 'tok-1'],
      ['gw-2', 'tok-2'],
    ] as const) {
      clients.push(
        connectDataPlane({
          url: server.url,
          nodeId: id,
          cluster: 'prod',
          credentials: { token },
          source: () => ({ artifact_hash: id === 'gw-2' ? hash : H1 }),
          heartbeatIntervalMs: 100,
          backoff: { initialMs: 10, maxMs: 50 },
        }),
      );
    }
    await until(
      () => monitor!.nodes().filter((n) => n.state === 'in_sync').length === 2,
      'in_sync',
    );
    hash = H2;
    await until(() => monitor!.node('gw-2')?.state === 'drift', 'drift');
    expect(events.some((e) => e.type === 'drift.detected' && e.node_id === 'gw-2')).toBe(true);
    await clients[1]!.close();
    await until(() => monitor!.node('gw-2')?.state === 'disconnected', 'disconnected');
    expect(server.stats().sessionsOpened).toBe(2);
  });

  it('refuses a hello naming another node (4403) and audits session.rejected', async () => {
    monitor = await FleetMonitor.create({ heartbeatIntervalMs: 1000 });
    const { logger, sink } = createMemoryAuditLogger({ source: { component: 'control-plane' } });
    server = await createControlPlaneServer({
      monitor,
      auth: createTokenAuthenticator({ nodes }),
      audit: logger,
    });
    const c = await raw(server.url, 'tok-1');
    c.ws.send(hello('gw-2', 'prod'));
    expect(await c.closed).toBe(4403);
    expect(JSON.parse(c.frames[0]!)).toMatchObject({
      type: 'error',
      code: 'PLB_DRIFT_IDENTITY_MISMATCH',
    });
    await logger.flush();
    const events = sink.events.filter((e) => e.type === 'session.rejected');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      outcome: 'deny',
      actor: { type: 'node', id: 'node:gw-1' },
      details: {
        reason_code: 'identity_mismatch',
        close_code: 4403,
        claimed_node_id: 'gw-2',
        claimed_cluster: 'prod',
      },
    });
    expect(JSON.stringify(events)).not.toContain('tok-1');
    expect(monitor.node('gw-2')).toBeUndefined();
    // another cluster is refused too
    const d = await raw(server.url, 'tok-1');
    d.ws.send(hello('gw-1', 'staging'));
    expect(await d.closed).toBe(4403);
  });

  it('audits refused upgrades as unauthenticated without the token', async () => {
    monitor = await FleetMonitor.create();
    const { logger, sink } = createMemoryAuditLogger({ source: { component: 'control-plane' } });
    server = await createControlPlaneServer({
      monitor,
      auth: createTokenAuthenticator({ nodes }),
      audit: logger,
    });
    await expect(raw(server.url, 'stolen-token')).rejects.toThrow();
    await until(() => sink.events.length > 0, 'audit');
    expect(sink.events[0]).toMatchObject({
      type: 'session.rejected',
      actor: { type: 'anonymous' },
      details: { reason_code: 'unauthenticated' },
    });
    expect(JSON.stringify(sink.events)).not.toContain('stolen-token');
  });

  it('replaces an older session of the same node with 4409', async () => {
    monitor = await FleetMonitor.create();
    server = await createControlPlaneServer({ monitor, auth: createTokenAuthenticator({ nodes }) });
    const first = await raw(server.url, 'tok-1');
    first.ws.send(hello('gw-1', 'prod'));
    await until(() => first.frames.length > 0, 'welcome');
    expect(JSON.parse(first.frames[0]!)).toMatchObject({
      type: 'welcome',
      protocol: 'plumbline.drift/v1',
    });
    const second = await raw(server.url, 'tok-1');
    second.ws.send(hello('gw-1', 'prod'));
    expect(await first.closed).toBe(4409);
    expect(JSON.parse(first.frames.at(-1)!)).toMatchObject({
      type: 'error',
      code: 'PLB_DRIFT_REPLACED',
    });
    await until(() => second.frames.length > 0, 'welcome 2');
    expect(monitor.node('gw-1')?.connected).toBe(true);
    second.ws.close();
  });

  it('closes malformed JSON and heartbeats before hello with 4400 and stays healthy', async () => {
    monitor = await FleetMonitor.create();
    server = await createControlPlaneServer({ monitor, auth: createTokenAuthenticator({ nodes }) });
    const a = await raw(server.url, 'tok-1');
    a.ws.send('{not json');
    expect(await a.closed).toBe(4400);
    expect(JSON.parse(a.frames[0]!)).toMatchObject({ type: 'error', code: 'PLB_DRIFT_MALFORMED' });
    const b = await raw(server.url, 'tok-1');
    b.ws.send(JSON.stringify({ type: 'heartbeat', seq: 1, artifact_hash: null }));
    expect(await b.closed).toBe(4400);
    const c = await raw(server.url, 'tok-1');
    c.ws.send(
      JSON.stringify({ ...JSON.parse(hello('gw-1', 'prod')), protocol: 'plumbline.drift/v2' }),
    );
    expect(await c.closed).toBe(4400);
    expect(JSON.parse(c.frames[0]!)).toMatchObject({ code: 'PLB_DRIFT_UNSUPPORTED_PROTOCOL' });
    const ok = await raw(server.url, 'tok-1');
    ok.ws.send(hello('gw-1', 'prod'));
    await until(() => ok.frames.length > 0, 'welcome');
    expect(JSON.parse(ok.frames[0]!).type).toBe('welcome');
    expect(monitor.counters().rejected).toMatchObject({
      malformed: 1,
      out_of_order: 1,
      protocol: 1,
    });
    ok.ws.close();
  });
});
