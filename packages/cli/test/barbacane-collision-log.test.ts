/**
 * Two Barbacane gateways started with one `--data-plane-name` replace each other and reconnect
 * after every close (barbacane `src/control_plane.rs`, `run`, v0.8.1): the control plane stops the
 * loop and tells the operator, in its log, which name collides and from where.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { WebSocket } from 'ws';
import { startControlPlane, type RunningControlPlane } from '@plumbline/cli';

const PROJECT = '880e8400-e29b-41d4-a716-446655440003';
const KEY = 'project-key';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function register(
  url: string,
): Promise<{ first: Record<string, unknown>; closed: Promise<number> }> {
  const ws = new WebSocket(url);
  const first = new Promise<Record<string, unknown>>((resolve) =>
    ws.once('message', (d) => resolve(JSON.parse(d.toString()) as Record<string, unknown>)),
  );
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(
    JSON.stringify({
      type: 'register',
      project_id: PROJECT,
      api_key: KEY,
      name: 'gw-1',
      metadata: {},
    }),
  );
  return { first: await first, closed };
}

describe('plumbline control-plane --protocol barbacane with two gateways sharing a name', () => {
  let cp: RunningControlPlane | undefined;
  let tmp = '';

  afterAll(async () => {
    await cp?.close();
    if (tmp !== '') await rm(tmp, { recursive: true, force: true });
  });

  it('logs the colliding name and addresses once, and refuses the newcomers', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'plb-cp-collide-'));
    let log = '';
    cp = await startControlPlane({
      protocol: 'barbacane',
      barbacaneKeys: [{ project_id: PROJECT, key_sha256: sha(KEY), cluster: 'prod' }],
      adminToken: 'admin-secret',
      store: join(tmp, 'state.json'),
      heartbeatIntervalMs: 30_000,
      logOutput: new Writable({
        write(chunk: Buffer, _encoding, callback) {
          log += chunk.toString();
          callback();
        },
      }),
    });
    const url = cp.barbacaneUrl ?? cp.wsUrl;
    // Each replaces the other in turn, as the two data planes' reconnect loops do.
    const sessions = [];
    for (let i = 0; i < 4; i++) {
      const s = await register(url);
      expect(s.first).toMatchObject({ type: 'registered' });
      sessions.push(s);
    }
    for (const s of sessions.slice(0, 3)) expect(await s.closed).toBe(4409);
    const refused = await register(url);
    expect(refused.first).toMatchObject({ type: 'registration_failed' });
    expect(await refused.closed).toBe(4403);

    const lines = log
      .split('\n')
      .filter((l) => l.includes('two gateways share one name'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      protocol: 'barbacane',
      node_id: 'gw-1',
      addresses: '127.0.0.1',
    });
    // The key never reaches the log.
    expect(log).not.toContain(KEY);
  }, 30_000);
});
