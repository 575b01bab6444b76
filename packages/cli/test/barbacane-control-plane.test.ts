import { afterAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { spawnCli } from './helpers.js';

const PROJECT = '880e8400-e29b-41d4-a716-446655440003';
const KEY = 'dp-key-gw-1';
const HASH = `sha256:${'a'.repeat(64)}`;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function until<T>(check: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

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
