import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDataPlane, hashToken, type DataPlaneClient } from '@plumbline/ws';
import { runCli, spawnCli, until } from './helpers.js';

const PG_URL = process.env['PLUMBLINE_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `plbcli_${randomBytes(5).toString('hex')}`;
const H1 = `sha256:${'1'.repeat(64)}` as const;
const H2 = `sha256:${'2'.repeat(64)}` as const;
const ADMIN = 'admin-secret-pg';

interface Replica {
  readonly child: ChildProcess;
  readonly ws: string;
  readonly admin: string;
  stderr: string;
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
    '--store',
    PG_URL,
    '--schema',
    schema,
    '--heartbeat-interval',
    '1s',
  ]);
  let out = '';
  const replica = { child, ws: '', admin: '', stderr: '' };
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (replica.stderr += c.toString()));
  const line = await until(
    () => out.split('\n').find((l) => l.startsWith('{')) ?? (child.exitCode !== null && 'exit'),
    'the listening line',
  );
  if (line === 'exit') throw new Error(`control plane exited: ${replica.stderr}`);
  const listening = JSON.parse(line) as { ws: string; admin: string };
  return Object.assign(replica, { ws: listening.ws, admin: listening.admin });
}

async function nodeState(replica: Replica, node: string): Promise<string | undefined> {
  const res = await fetch(`${replica.admin}/v1/fleet/nodes/${node}`, {
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  if (res.status !== 200) return undefined;
  return ((await res.json()) as { state: string }).state;
}

async function putDesired(replica: Replica, hash: string, reason: string): Promise<Response> {
  return await fetch(`${replica.admin}/v1/clusters/prod/desired`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ artifact_hash: hash, reason }),
  });
}

/** The alert lines (log sink) of one type for one node in a replica's stderr. */
function alerts(replica: Replica, type: string, node: string): number {
  return replica.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg?: string; type?: string; node_id?: string })
    .filter((e) => e.msg === 'fleet event' && e.type === type && e.node_id === node).length;
}

describe('plumbline control-plane --store postgres:// (two processes, one schema)', () => {
  let dir: string;
  const replicas: Replica[] = [];
  const clients: DataPlaneClient[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumbline-cp-pg-'));
    await writeFile(
      join(dir, 'node-tokens.json'),
      JSON.stringify({
        'gw-a': { cluster: 'prod', token_sha256: hashToken('token-gw-a') },
        'gw-b': { cluster: 'prod', token_sha256: hashToken('token-gw-b') },
      }),
    );
    await writeFile(join(dir, 'admin.token'), `${ADMIN}\n`);
    const migrated = await runCli([
      'control-plane',
      'migrate',
      '--store',
      PG_URL,
      '--schema',
      schema,
    ]);
    expect(migrated.code).toBe(0);
    replicas.push(await startReplica(dir), await startReplica(dir));
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.close();
    for (const r of replicas) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    execFileSync('psql', [PG_URL, '-q', '-c', `DROP SCHEMA IF EXISTS "${schema}" CASCADE`], {
      env: { ...process.env, PGOPTIONS: '--client-min-messages=warning' },
    });
  });

  it('a desired-state change on one replica reaches the node on the other; each drift is alerted once', async () => {
    const [one, two] = replicas as [Replica, Replica];
    // Both nodes run H1; gw-a is connected to the first replica, gw-b to the second.
    for (const [node, replica] of [
      ['gw-a', one],
      ['gw-b', two],
    ] as const) {
      clients.push(
        connectDataPlane({
          url: replica.ws,
          nodeId: node,
          cluster: 'prod',
          credentials: { token: `token-${node}` },
          source: () => ({ artifact_hash: H1, loaded_at: '2026-01-01T00:00:00Z' }),
          backoff: { initialMs: 50, maxMs: 200 },
        }),
      );
    }
    await until(async () => (await nodeState(one, 'gw-a')) === 'unknown', 'gw-a on the first');
    await until(async () => (await nodeState(two, 'gw-b')) === 'unknown', 'gw-b on the second');
    // Nodes are known where they are connected only.
    expect(await nodeState(one, 'gw-b')).not.toBe('in_sync');

    expect((await putDesired(one, H1, 'release 1')).status).toBe(200);
    await until(async () => (await nodeState(two, 'gw-b')) === 'in_sync', 'gw-b in sync');
    await until(async () => (await nodeState(one, 'gw-a')) === 'in_sync', 'gw-a in sync');

    expect((await putDesired(two, H2, 'release 2')).status).toBe(200);
    await until(async () => (await nodeState(one, 'gw-a')) === 'drift', 'gw-a drifted');
    await until(async () => (await nodeState(two, 'gw-b')) === 'drift', 'gw-b drifted');
    const fleet = (await (
      await fetch(`${one.admin}/v1/fleet`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).json()) as { clusters: { cluster: string; desired_hash: string }[] };
    expect(fleet.clusters.find((c) => c.cluster === 'prod')?.desired_hash).toBe(H2);

    // Let a late duplicate surface, then count: each drift is alerted by its node's replica only.
    await new Promise((r) => setTimeout(r, 1000));
    expect(alerts(one, 'drift.detected', 'gw-a')).toBe(1);
    expect(alerts(two, 'drift.detected', 'gw-a')).toBe(0);
    expect(alerts(two, 'drift.detected', 'gw-b')).toBe(1);
    expect(alerts(one, 'drift.detected', 'gw-b')).toBe(0);

    // Back to H1 from the first replica: both nodes resolve.
    expect((await putDesired(one, H1, 'roll back')).status).toBe(200);
    await until(async () => (await nodeState(two, 'gw-b')) === 'in_sync', 'gw-b back in sync');
    await until(async () => (await nodeState(one, 'gw-a')) === 'in_sync', 'gw-a back in sync');
    // The password-less URL given on the command line is never logged.
    for (const r of replicas) expect(r.stderr).not.toContain(PG_URL);
  });

  it('SIGTERM: one replica exits 0 without alerting its node; the other keeps serving', async () => {
    const [one, two] = replicas as [Replica, Replica];
    const exited = new Promise<number | null>((r) => one.child.once('close', (code) => r(code)));
    one.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(one.stderr).toContain('"msg":"control plane stopped"');
    // A control plane's shutdown is not a node's disconnect (gw-a may reconnect elsewhere; the
    // sweep leader reports it only if it does not within the replica timeout).
    expect(alerts(one, 'node.disconnected', 'gw-a')).toBe(0);
    expect(alerts(two, 'node.disconnected', 'gw-a')).toBe(0);
    expect(await nodeState(two, 'gw-b')).toBe('in_sync');
    expect((await putDesired(two, H2, 'after the shutdown')).status).toBe(200);
    await until(async () => (await nodeState(two, 'gw-b')) === 'drift', 'gw-b drifted again');
  });
});
