import { afterAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { WebSocket } from 'ws';
import { startControlPlane, type RunningControlPlane } from '@plumbline/cli';
import { hashToken } from '@plumbline/ws';
import { connectRaw as client } from '@plumbline/testkit/ws-client';
import { until } from './helpers.js';
import { runCli, spawnCli } from './helpers.js';

const PROJECT = '880e8400-e29b-41d4-a716-446655440003';
const KEY = 'dp-key-gw-1';
const HASH = `sha256:${'a'.repeat(64)}`;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('plumbline control-plane --protocol barbacane', () => {
  let child: ChildProcess | undefined;
  let dir = '';

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('monitors an unmodified Barbacane data plane against the declared desired state', async () => {
    dir = await mkdtemp(join(tmpdir(), 'plb-cp-bca-'));
    await writeFile(join(dir, 'admin.token'), 'admin-secret\n');
    await writeFile(
      join(dir, 'keys.json'),
      JSON.stringify([
        { project_id: PROJECT, key_sha256: sha(KEY), cluster: 'prod', node: 'gw-1' },
      ]),
    );
    child = spawnCli([
      'control-plane',
      '--protocol',
      'barbacane',
      '--barbacane-keys',
      join(dir, 'keys.json'),
      '--listen',
      '127.0.0.1:0',
      '--admin-listen',
      '127.0.0.1:0',
      '--admin-token-file',
      join(dir, 'admin.token'),
      '--state-file',
      join(dir, 'state.json'),
      '--heartbeat-interval',
      '2s',
    ]);
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const line = await until(
      () =>
        out.split('\n').find((l) => l.startsWith('{')) ??
        (child!.exitCode !== null
          ? (() => {
              throw new Error(err);
            })()
          : undefined),
      'the listening line',
    );
    const listening = JSON.parse(line) as { ws: string; admin: string; barbacane: string };
    expect(listening.ws).toBe(listening.barbacane);
    expect(listening.ws).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws\/data-plane$/);

    const desired = await fetch(`${listening.admin}/v1/clusters/prod/desired`, {
      method: 'PUT',
      headers: { authorization: 'Bearer admin-secret', 'content-type': 'application/json' },
      body: JSON.stringify({ artifact_hash: HASH, reason: 'release' }),
    });
    expect(desired.status).toBeLessThan(300);

    const ws = new WebSocket(listening.ws);
    const messages: Record<string, unknown>[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(d.toString()) as Record<string, unknown>));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'register', project_id: PROJECT, api_key: KEY, metadata: {} }));
    await until(() => messages.find((m) => m['type'] === 'registered'), 'registered');
    expect(messages[0]).toMatchObject({ type: 'registered', heartbeat_interval_secs: 2 });
    ws.send(
      JSON.stringify({
        type: 'heartbeat',
        artifact_hash: `sha256:${'b'.repeat(64)}`,
        uptime_secs: 1,
        requests_total: 0,
      }),
    );
    await until(() => messages.find((m) => m['type'] === 'heartbeat_ack'), 'heartbeat_ack');
    expect(messages.find((m) => m['type'] === 'heartbeat_ack')).toEqual({
      type: 'heartbeat_ack',
      drift_detected: true,
    });
    ws.send(
      JSON.stringify({ type: 'heartbeat', artifact_hash: HASH, uptime_secs: 2, requests_total: 0 }),
    );
    await until(
      () => (messages.filter((m) => m['type'] === 'heartbeat_ack').length === 2 ? true : undefined),
      'second ack',
    );
    expect(messages.filter((m) => m['type'] === 'heartbeat_ack')[1]).toEqual({
      type: 'heartbeat_ack',
      drift_detected: false,
    });

    const fleet = (await (
      await fetch(`${listening.admin}/v1/fleet`, {
        headers: { authorization: 'Bearer admin-secret' },
      })
    ).json()) as { nodes: { node_id: string; state: string; reported_hash: string }[] };
    expect(fleet.nodes).toEqual([
      expect.objectContaining({ node_id: 'gw-1', state: 'in_sync', reported_hash: HASH }),
    ]);

    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await closed).toBe(1001);
    await until(() => (child!.exitCode === null ? undefined : child!.exitCode), 'exit');
    expect(child.exitCode).toBe(0);
  }, 60_000);
});

/** The HTTP status a WebSocket upgrade on `url` is refused with. */
function refusedWith(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => reject(new Error(`${url} accepted the upgrade`)));
    ws.once('error', () => undefined);
  });
}

const quiet = (): Writable =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

describe('control plane with both protocols on one listener', () => {
  let cp: RunningControlPlane | undefined;
  let tmp = '';

  afterAll(async () => {
    await cp?.close();
    if (tmp !== '') await rm(tmp, { recursive: true, force: true });
  });

  it('serves Plumbline on /ws/data-plane and Barbacane on /barbacane/ws/data-plane into one fleet', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'plb-cp-both-'));
    cp = await startControlPlane({
      protocol: 'both',
      nodeTokens: { 'agent-1': { cluster: 'prod', token_sha256: hashToken('agent-token') } },
      barbacaneKeys: [{ project_id: PROJECT, key_sha256: sha(KEY), cluster: 'prod', node: 'gw-1' }],
      adminToken: 'admin-secret',
      store: join(tmp, 'state.json'),
      heartbeatIntervalMs: 3000,
      logOutput: quiet(),
    });
    expect(cp.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws\/data-plane$/);
    expect(cp.barbacaneUrl).toBe(cp.wsUrl.replace('/ws/data-plane', '/barbacane/ws/data-plane'));
    expect(cp.server).toBeDefined();

    const agent = await client(cp.wsUrl, { authorization: 'Bearer agent-token' });
    agent.ws.send(
      JSON.stringify({
        type: 'hello',
        protocol: 'plumbline.drift/v1',
        node_id: 'agent-1',
        cluster: 'prod',
        instance_id: 'i-1',
        artifact_hash: HASH,
      }),
    );
    expect(await agent.next()).toMatchObject({ type: 'welcome', heartbeat_interval_ms: 3000 });

    const gw = await client(cp.barbacaneUrl!);
    gw.ws.send(
      JSON.stringify({ type: 'register', project_id: PROJECT, api_key: KEY, metadata: {} }),
    );
    expect(await gw.next()).toMatchObject({ type: 'registered', heartbeat_interval_secs: 3 });
    gw.ws.send(
      JSON.stringify({ type: 'heartbeat', artifact_hash: HASH, uptime_secs: 1, requests_total: 0 }),
    );
    expect(await gw.next()).toEqual({ type: 'heartbeat_ack', drift_detected: false });

    expect(cp.monitor.node('agent-1')).toMatchObject({ cluster: 'prod', connected: true });
    expect(cp.monitor.node('gw-1')).toMatchObject({ cluster: 'prod', reported_hash: HASH });

    // A Barbacane register on the Plumbline path is refused at the upgrade (no bearer token),
    // and other paths are not found.
    expect(await refusedWith(cp.wsUrl)).toBe(401);
    expect(await refusedWith(cp.wsUrl.replace('/ws/data-plane', '/elsewhere'))).toBe(404);

    const closes = Promise.all([agent.closed, gw.closed]).then((all) => all.map((c) => c.code));
    await cp.close();
    cp = undefined;
    expect(await closes).toEqual([1001, 1001]);
  }, 30_000);

  it('serves /metrics without a Plumbline endpoint (--protocol barbacane)', async () => {
    tmp = tmp || (await mkdtemp(join(tmpdir(), 'plb-cp-both-')));
    const only = await startControlPlane({
      protocol: 'barbacane',
      barbacaneKeys: [{ project_id: PROJECT, key_sha256: sha(KEY), cluster: 'prod', node: 'gw-1' }],
      adminToken: 'admin-secret',
      store: join(tmp, 'state-2.json'),
      logOutput: quiet(),
    });
    try {
      expect(only.server).toBeUndefined();
      expect(only.barbacaneUrl).toBe(only.wsUrl);
      const metrics = await fetch(`${only.adminUrl}/metrics`, {
        headers: { authorization: 'Bearer admin-secret' },
      });
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^plumbline_ws_sessions 0$/m);
    } finally {
      await only.close();
    }
  });

  it('refuses inconsistent protocol flags with exit 2', async () => {
    const dir2 = await mkdtemp(join(tmpdir(), 'plb-cp-flags-'));
    try {
      await writeFile(join(dir2, 'admin.token'), 'admin-secret\n');
      await writeFile(join(dir2, 'keys.json'), '[]');
      const base = [
        'control-plane',
        '--listen',
        '127.0.0.1:0',
        '--admin-listen',
        '127.0.0.1:0',
        '--admin-token-file',
        join(dir2, 'admin.token'),
        '--state-file',
        join(dir2, 'state.json'),
      ];
      const cases: [string[], RegExp][] = [
        [['--protocol', 'grpc'], /--protocol must be ws, barbacane, both/],
        [['--protocol', 'barbacane'], /needs --barbacane-keys/],
        [['--protocol', 'both', '--barbacane-keys', join(dir2, 'keys.json')], /--node-tokens/],
        [['--barbacane-keys', join(dir2, 'keys.json')], /needs --protocol barbacane or both/],
      ];
      for (const [flags, message] of cases) {
        const result = await runCli([...base, ...flags]);
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(/^plumbline: PLB_USAGE: /);
        expect(result.stderr).toMatch(message);
      }
      // A bad credentials file is reported with its own code.
      await writeFile(join(dir2, 'bad-keys.json'), '[{"project_id":"nope","key_sha256":"x"}]');
      const bad = await runCli([
        ...base,
        '--protocol',
        'barbacane',
        '--barbacane-keys',
        join(dir2, 'bad-keys.json'),
      ]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/PLB_BARBACANE_CREDENTIALS: credential 0: project_id/);
    } finally {
      await rm(dir2, { recursive: true, force: true });
    }
  });
});
