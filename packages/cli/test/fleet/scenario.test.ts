import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile, copyFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { hashToken } from '@plumbline/ws';
import {
  startAgent,
  startControlPlane,
  type RunningAgent,
  type RunningControlPlane,
} from '@plumbline/cli';
import { runCli, spawnCli, until } from '../helpers.js';
import { sealTestArtifact } from './artifacts.js';
import { startWebhookReceiver } from './webhook-receiver.js';

const HEARTBEAT_MS = 200;

function sink(): { write: (s: string) => boolean; text: () => string } {
  let text = '';
  return { write: (s: string) => ((text += s), true), text: () => text };
}

interface FleetDoc {
  clusters: Array<{ cluster: string; desired_hash: string | null; counts: Record<string, number> }>;
  nodes: Array<{ node_id: string; state: string; reported_hash: string | null }>;
}

describe('control plane, agents and fleet API on loopback', () => {
  let dir: string;
  let cp: RunningControlPlane;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const agents: RunningAgent[] = [];
  let killedAgent: ChildProcess | undefined;
  const cpLog = sink();
  const env: Record<string, string> = {};
  let hashA: string;
  let hashB: string;

  const fleet = async (): Promise<FleetDoc> => {
    const res = await fetch(`${cp.adminUrl}/v1/fleet`, {
      headers: { authorization: 'Bearer admin-secret' },
    });
    return (await res.json()) as FleetDoc;
  };
  const stateOf = async (node: string): Promise<string | undefined> =>
    (await fleet()).nodes.find((n) => n.node_id === node)?.state;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumbline-fleet-'));
    hashA = await sealTestArtifact(join(dir, 'release-a.plb'), 'routes: v1');
    hashB = await sealTestArtifact(join(dir, 'release-b.plb'), 'routes: v2');
    const tokens: Record<string, { cluster: string; token_sha256: string }> = {};
    for (const n of ['gw-1', 'gw-2', 'gw-3']) {
      tokens[n] = { cluster: 'prod', token_sha256: hashToken(`token-${n}`) };
      await writeFile(join(dir, `${n}.token`), `token-${n}\n`);
      await copyFile(join(dir, 'release-a.plb'), join(dir, `${n}.plb`));
    }
    await writeFile(join(dir, 'node-tokens.json'), JSON.stringify(tokens));
    await writeFile(join(dir, 'admin.token'), 'admin-secret\n');
    receiver = await startWebhookReceiver('webhook-secret');
    cp = await startControlPlane({
      nodeTokens: join(dir, 'node-tokens.json'),
      adminToken: 'admin-secret',
      store: join(dir, 'state.json'),
      heartbeatIntervalMs: HEARTBEAT_MS,
      webhook: { url: receiver.url, secret: 'webhook-secret' },
      audit: { path: join(dir, 'audit.jsonl') },
      logOutput: cpLog,
    });
    env['PLUMBLINE_ADMIN_URL'] = cp.adminUrl;
    env['PLUMBLINE_ADMIN_TOKEN_FILE'] = join(dir, 'admin.token');
  });

  afterAll(async () => {
    killedAgent?.kill('SIGKILL');
    for (const a of agents) await a.close();
    await cp?.close();
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('brings every node in sync, rolls out a new hash through pending, and catches an edit on disk', async () => {
    const set = await runCli(
      [
        'fleet',
        'set-desired',
        '--cluster',
        'prod',
        '--artifact-hash',
        hashA,
        '--reason',
        'release a',
      ],
      { env },
    );
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    expect(set.stdout).toContain(`desired ${hashA} (version 1)`);
    for (const n of ['gw-1', 'gw-2', 'gw-3']) {
      agents.push(
        await startAgent({
          artifact: join(dir, `${n}.plb`),
          controlPlane: cp.wsUrl,
          nodeId: n,
          cluster: 'prod',
          tokenFile: join(dir, `${n}.token`),
          heartbeatIntervalMs: HEARTBEAT_MS,
          rehashIntervalMs: HEARTBEAT_MS,
          backoff: { initialMs: 20, maxMs: 200 },
          logOutput: sink(),
          ...(n === 'gw-1' ? { adminListen: { port: 0 }, adminToken: 'agent-admin' } : {}),
        }),
      );
    }
    await until(
      async () => (await fleet()).clusters[0]?.counts['in_sync'] === 3,
      'three nodes in sync',
    );

    // The agent's admin endpoint serves the verified provenance.
    const prov = await fetch(`${agents[0]!.adminUrl}/_admin/provenance`, {
      headers: { authorization: 'Bearer agent-admin' },
    });
    expect(prov.status).toBe(200);
    expect(await prov.json()).toMatchObject({ artifact_hash: hashA });
    expect((await fetch(`${agents[0]!.adminUrl}/_admin/provenance`)).status).toBe(401);

    // Operator sets a new hash with a deadline: nodes still on A are pending.
    const next = await runCli(
      [
        'fleet',
        'set-desired',
        '--cluster',
        'prod',
        '--artifact-hash',
        hashB,
        '--deadline',
        '10m',
        '--reason',
        'release b',
        '--json',
      ],
      { env },
    );
    expect(next.code).toBe(0);
    expect(JSON.parse(next.stdout)).toMatchObject({
      cluster: 'prod',
      artifact_hash: hashB,
      version: 2,
      actor: 'admin',
    });
    await until(
      async () => (await fleet()).clusters[0]?.counts['pending'] === 3,
      'three nodes pending',
    );

    // Nodes pick it up (atomic replacement of their artifact files).
    for (const n of ['gw-1', 'gw-2', 'gw-3']) {
      await copyFile(join(dir, 'release-b.plb'), join(dir, `${n}.next`));
      await rename(join(dir, `${n}.next`), join(dir, `${n}.plb`));
    }
    await until(
      async () => (await fleet()).clusters[0]?.counts['in_sync'] === 3,
      'three nodes in sync on B',
    );
    expect((await fleet()).nodes.every((n) => n.reported_hash === hashB)).toBe(true);

    // One node's artifact is edited in place: drift, and the alert reaches the webhook receiver.
    const file = join(dir, 'gw-3.plb');
    const bytes = await readFile(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    await writeFile(file, bytes);
    const alert = await until(
      () =>
        receiver.deliveries.find(
          (d) => d.type === 'drift.detected' && d.body['node_id'] === 'gw-3',
        ),
      'ConfigurationDrift at the webhook',
    );
    expect(alert.verified).toBe(true);
    expect(alert.body).toMatchObject({
      cluster: 'prod',
      desired_hash: hashB,
      reported_hash: null,
      state: 'drift',
    });
    expect(await stateOf('gw-3')).toBe('drift');

    // The fleet table and JSON.
    const table = await runCli(['fleet'], { env });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/gw-3\s+prod\s+drift/);
    expect(table.stdout).not.toContain('\u001b[');
    const check = await runCli(['fleet', '--check', '--json'], { env });
    expect(check.code).toBe(1);
    expect(JSON.parse(check.stdout).nodes).toHaveLength(3);
    const detail = await runCli(['fleet', 'node', 'gw-3', '--json'], { env });
    expect(JSON.parse(detail.stdout)).toMatchObject({
      node_id: 'gw-3',
      state: 'drift',
      connected: true,
    });
  });

  it('marks a killed node disconnected', async () => {
    // gw-2 moves from its in-process agent to an agent process, which is then killed.
    await agents[1]!.close();
    await until(
      async () => (await stateOf('gw-2')) === 'disconnected',
      'gw-2 disconnected after close',
    );
    killedAgent = spawnCli([
      'agent',
      '--artifact',
      join(dir, 'gw-2.plb'),
      '--control-plane',
      cp.wsUrl,
      '--node-id',
      'gw-2',
      '--cluster',
      'prod',
      '--token-file',
      join(dir, 'gw-2.token'),
      '--heartbeat-interval',
      `${HEARTBEAT_MS}ms`,
      '--admin-listen',
      '127.0.0.1:0',
      '--admin-token-file',
      join(dir, 'admin.token'),
    ]);
    let out = '';
    killedAgent.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const line = await until(
      () => out.split('\n').find((l) => l.startsWith('{')),
      'agent listening line',
      30_000,
    );
    expect(JSON.parse(line)).toEqual({
      event: 'listening',
      admin: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
    });
    await until(async () => (await stateOf('gw-2')) === 'in_sync', 'gw-2 back in sync', 30_000);
    killedAgent.kill('SIGKILL');
    await until(
      async () => (await stateOf('gw-2')) === 'disconnected',
      'gw-2 disconnected after kill',
    );
    await until(
      () =>
        receiver.deliveries.find(
          (d) => d.type === 'node.disconnected' && d.body['node_id'] === 'gw-2',
        ),
      'node.disconnected alert',
    );
  });

  it("refuses node A's token claiming node B and audits it", async () => {
    const impostor = await startAgent({
      artifact: join(dir, 'gw-1.plb'),
      controlPlane: cp.wsUrl,
      nodeId: 'gw-3',
      cluster: 'prod',
      tokenFile: join(dir, 'gw-1.token'),
      backoff: { initialMs: 1000, maxMs: 2000 },
      logOutput: sink(),
    });
    // The error frame arrives before the close frame: wait for both.
    await until(
      () =>
        impostor.client.stats().lastErrorCode === 'PLB_DRIFT_IDENTITY_MISMATCH' &&
        impostor.client.stats().lastCloseCode !== null,
      'identity mismatch and close',
    );
    expect(impostor.client.stats().lastCloseCode).toBe(4403);
    await impostor.close();
    const audit = await until(async () => {
      const text = await readFile(join(dir, 'audit.jsonl'), 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find(
          (e) =>
            e['type'] === 'session.rejected' &&
            (e['details'] as Record<string, unknown>)['reason_code'] === 'identity_mismatch',
        );
    }, 'session.rejected (identity_mismatch) in the audit log');
    expect(audit).toMatchObject({
      outcome: 'deny',
      actor: { type: 'node', id: 'node:gw-1' },
      details: { reason_code: 'identity_mismatch', claimed_node_id: 'gw-3', close_code: 4403 },
    });
    expect(await readFile(join(dir, 'audit.jsonl'), 'utf8')).not.toContain('token-gw-1');
    expect(await readFile(join(dir, 'audit.jsonl'), 'utf8')).toContain('desired_state.changed');
    // gw-3 (the real one) is untouched
    expect(await stateOf('gw-3')).toBe('drift');
  });

  it('guards the fleet API with the admin token and serves metrics and health', async () => {
    expect((await fetch(`${cp.adminUrl}/healthz`)).status).toBe(200);
    const denied = await fetch(`${cp.adminUrl}/v1/fleet`, {
      headers: { authorization: 'Bearer wrong' },
    });
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({
      error: { code: 'PLB_FLEET_UNAUTHORIZED', message: expect.any(String) },
    });
    expect((await fetch(`${cp.adminUrl}/metrics`)).status).toBe(401);
    const metrics = await (
      await fetch(`${cp.adminUrl}/metrics`, { headers: { authorization: 'Bearer admin-secret' } })
    ).text();
    expect(metrics).toContain('# TYPE plumbline_fleet_nodes gauge');
    expect(metrics).toMatch(/plumbline_fleet_nodes\{cluster="prod",state="drift"\} 1/);
    expect(metrics).toMatch(/plumbline_heartbeats_total \d+/);
    expect(metrics).not.toContain('gw-');
    expect(metrics).not.toContain('sha256:');
    const bad = await fetch(`${cp.adminUrl}/v1/clusters/prod/desired`, {
      method: 'PUT',
      headers: { authorization: 'Bearer admin-secret', 'content-type': 'application/json' },
      body: JSON.stringify({ artifact_hash: 'sha256:xyz', reason: 'oops' }),
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toContain('artifact_hash');
    const method = await fetch(`${cp.adminUrl}/v1/fleet`, {
      method: 'POST',
      headers: { authorization: 'Bearer admin-secret' },
    });
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toBe('GET, HEAD');
    const expected = await runCli(
      ['fleet', 'expected-nodes', '--cluster', 'prod', 'gw-1', 'gw-2', 'gw-3', 'gw-9'],
      { env },
    );
    expect(expected.code).toBe(0);
    expect(await stateOf('gw-9')).toBe('never_seen');
    expect(cpLog.text()).not.toContain('admin-secret');
    expect(cpLog.text()).not.toContain('token-gw');
  });
});
