import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FleetMonitor } from '@plumbline/core/drift';
import { createAdminTokenCheck } from '../../src/control-plane/admin-token.js';
import { createDashboard, DASHBOARD_CSP, type Dashboard } from '../../src/dashboard/index.js';

const TOKEN = 'dashboard-test-token';
const HASH = (n: number): `sha256:${string}` => `sha256:${String(n).repeat(64).slice(0, 64)}`;

let monitor: FleetMonitor;
let server: Server;
let dashboard: Dashboard;
let base: string;
let uiDir: string;

async function start(options: Partial<Parameters<typeof createDashboard>[0]> = {}): Promise<void> {
  const check = createAdminTokenCheck(TOKEN);
  dashboard = createDashboard({
    monitor,
    authorize: (h) => check(h),
    uiDirs: [uiDir],
    heartbeatMs: 50,
    ...options,
  });
  server = createServer((req, res) => {
    if (!dashboard.handle(req, res)) {
      res.writeHead(418);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeEach(async () => {
  monitor = await FleetMonitor.create();
  uiDir = mkdtempSync(join(tmpdir(), 'plb-ui-'));
  mkdirSync(join(uiDir, 'assets'));
  writeFileSync(join(uiDir, 'index.html'), '<!doctype html><title>Plumbline</title>');
  writeFileSync(join(uiDir, 'assets', 'app-1234.js'), 'console.log(1)');
  writeFileSync(join(uiDir, 'assets', 'secret.key'), 'not served');
});

afterEach(async () => {
  await dashboard.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await monitor.close();
  rmSync(uiDir, { recursive: true, force: true });
});

interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** Opens the stream and collects events until `until` says stop. */
function stream(
  headers: Record<string, string>,
  until: (events: SseEvent[], comments: number, side: SseEvent[]) => boolean,
): Promise<{
  status: number;
  type: string | undefined;
  events: SseEvent[];
  comments: number;
  side: SseEvent[];
}> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/v1/fleet/events`, { headers }, (res) => {
      const events: SseEvent[] = [];
      /** Frames beside the fleet events: `dashboard`, `manifest`, `last_seen` (no id). */
      const side: SseEvent[] = [];
      let comments = 0;
      let buffer = '';
      const done = (): void => {
        res.destroy();
        resolve({
          status: res.statusCode ?? 0,
          type: res.headers['content-type'],
          events,
          comments,
          side,
        });
      };
      if (res.statusCode !== 200) {
        res.resume();
        res.on('end', done);
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event: SseEvent = { event: 'message', data: '' };
          let isEvent = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments++;
            else if (line.startsWith('id: ')) event.id = line.slice(4);
            else if (line.startsWith('event: ')) {
              event.event = line.slice(7);
              isEvent = true;
            } else if (line.startsWith('data: ')) event.data += line.slice(6);
          }
          if (isEvent && ['dashboard', 'manifest', 'last_seen'].includes(event.event))
            side.push(event);
          else if (isEvent) events.push(event);
        }
        if (until(events, comments, side)) done();
      });
      res.on('error', () => undefined);
    });
    req.on('error', reject);
    req.end();
  });
}

/** GET without URL normalisation (fetch would resolve dot segments itself). */
function rawStatus(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/`, { path }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

const auth = { authorization: `Bearer ${TOKEN}` };

describe('GET /v1/fleet/events', () => {
  it('opens with a dashboard frame, then sends the ages of the nodes seen, one frame for all', async () => {
    await monitor.close();
    monitor = await FleetMonitor.create({ heartbeatIntervalMs: 60 });
    await start();
    const connected = monitor.connect(
      { node_id: 'gw-1', cluster: 'prod', principal: 'token:gw-1' },
      {
        type: 'hello',
        protocol: 'plumbline.drift/v1',
        node_id: 'gw-1',
        cluster: 'prod',
        instance_id: 'i-1',
        artifact_hash: HASH(1),
      },
      's-1',
    );
    expect(connected.ok).toBe(true);
    const r = await stream(auth, (_e, _c, side) => side.some((f) => f.event === 'last_seen'));
    const [about, ages] = r.side;
    expect(about!.event).toBe('dashboard');
    expect(about!.id).toBeUndefined();
    expect(JSON.parse(about!.data)).toEqual({ audit_log: false, manifests: [], role: 'admin' });
    expect(ages!.event).toBe('last_seen');
    expect(ages!.id).toBeUndefined();
    const frame = JSON.parse(ages!.data) as { at: string; ages: Record<string, number> };
    expect(Object.keys(frame.ages)).toEqual(['gw-1']);
    // The age is the frame's time minus the node's last_seen, exactly.
    const node = monitor.node('gw-1')!;
    expect(Date.parse(frame.at) - frame.ages['gw-1']!).toBe(Date.parse(node.last_seen!));
  });

  it('sends the ages of 20,000 nodes in one frame per interval, not one event per heartbeat', async () => {
    await monitor.close();
    monitor = await FleetMonitor.create({ heartbeatIntervalMs: 100, staleAfterIntervals: 1000 });
    await start();
    for (let i = 0; i < 20_000; i++) {
      const id = `n-${i}`;
      monitor.connect(
        { node_id: id, cluster: 'edge', principal: `token:${id}` },
        {
          type: 'hello',
          protocol: 'plumbline.drift/v1',
          node_id: id,
          cluster: 'edge',
          instance_id: `i-${i}`,
          artifact_hash: HASH(1),
        },
        `s-${i}`,
      );
    }
    const r = await stream(auth, (_e, _c, side) => side.some((f) => f.event === 'last_seen'));
    const frames = r.side.filter((f) => f.event === 'last_seen');
    expect(frames).toHaveLength(1);
    const ages = (JSON.parse(frames[0]!.data) as { ages: Record<string, number> }).ages;
    expect(Object.keys(ages)).toHaveLength(20_000);
    // Compact: well under 30 bytes per node (id, age in milliseconds).
    expect(frames[0]!.data.length / 20_000).toBeLessThan(30);
  }, 60_000);

  it('ends every stream with its last chunk before close resolves', async () => {
    await start();
    const ended = new Promise<string>((resolve) => {
      const req = request(`${base}/v1/fleet/events`, { headers: auth }, (res) => {
        res.once('data', () => void dashboard.close().then(() => server.closeAllConnections()));
        res.on('data', () => undefined);
        res.on('end', () => resolve('end'));
        res.on('aborted', () => resolve('aborted'));
        res.on('error', (e) => resolve(`error ${e.message}`));
      });
      req.end();
    });
    expect(await ended).toBe('end');
  });

  it('refuses a missing or wrong token with 401 and no data', async () => {
    await start();
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: TOKEN }]) {
      const r = await stream(headers, () => true);
      expect(r.status).toBe(401);
      expect(r.events).toEqual([]);
    }
  });

  it('opens with a snapshot, then one event per monitor event with ids, and keep-alive comments', async () => {
    await start();
    await monitor.setDesired({ cluster: 'eu', artifact_hash: HASH(1), actor: 'a', reason: 'r' });
    const pending = stream(auth, (events, comments) => events.length >= 2 && comments >= 3);
    await new Promise((r) => setTimeout(r, 30));
    await monitor.setDesired({ cluster: 'eu', artifact_hash: HASH(2), actor: 'a', reason: 'r2' });
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.type).toBe('text/event-stream; charset=utf-8');
    const [snapshot, change] = r.events;
    expect(snapshot!.event).toBe('snapshot');
    const doc = JSON.parse(snapshot!.data) as {
      clusters: { cluster: string; desired_hash: string }[];
      nodes: unknown[];
      recent: { type: string }[];
    };
    expect(doc.clusters).toEqual([
      expect.objectContaining({ cluster: 'eu', desired_hash: HASH(1) }),
    ]);
    expect(doc.recent.map((e) => e.type)).toEqual(['desired_state.changed']);
    expect(snapshot!.id).toMatch(/^[0-9a-f]{16}-1$/);
    expect(change!.event).toBe('desired_state.changed');
    expect(change!.id).toBe(snapshot!.id!.replace(/-1$/, '-2'));
    expect(JSON.parse(change!.data)).toMatchObject({ cluster: 'eu', artifact_hash: HASH(2) });
  });

  it('resumes from Last-Event-ID with only the missed events, and sends a snapshot when it cannot', async () => {
    await start({ ringSize: 3 });
    await monitor.setDesired({ cluster: 'eu', artifact_hash: HASH(1), actor: 'a', reason: 'r' });
    const first = await stream(auth, (events) => events.length >= 1);
    const id = first.events[0]!.id!;
    for (let i = 2; i <= 3; i++)
      await monitor.setDesired({ cluster: 'eu', artifact_hash: HASH(i), actor: 'a', reason: 'r' });
    const resumed = await stream({ ...auth, 'last-event-id': id }, (events) => events.length >= 2);
    expect(resumed.events.map((e) => e.event)).toEqual([
      'desired_state.changed',
      'desired_state.changed',
    ]);
    expect(resumed.events.map((e) => e.id!.split('-')[1])).toEqual(['2', '3']);
    // Up to date: nothing is replayed, the next event arrives.
    const upToDate = stream(
      { ...auth, 'last-event-id': resumed.events[1]!.id! },
      (e) => e.length >= 1,
    );
    await new Promise((r) => setTimeout(r, 30));
    await monitor.setDesired({ cluster: 'eu', artifact_hash: HASH(4), actor: 'a', reason: 'r' });
    expect((await upToDate).events.map((e) => e.id!.split('-')[1])).toEqual(['4']);
    // Too old for the ring of 3, from another process, from the future, or garbage: a snapshot.
    for (let i = 5; i <= 8; i++)
      await monitor.setDesired({ cluster: 'eu', artifact_hash: HASH(i), actor: 'a', reason: 'r' });
    for (const last of [id, `0000000000000000-2`, id.replace(/-1$/, '-99'), 'garbage']) {
      const r = await stream({ ...auth, 'last-event-id': last }, (events) => events.length >= 1);
      expect(r.events[0]!.event).toBe('snapshot');
      expect((JSON.parse(r.events[0]!.data) as { recent: unknown[] }).recent).toHaveLength(3);
    }
  });

  it('drops a client that falls behind its queue bound', async () => {
    await start({ maxQueuedBytes: 4096 });
    const pending = new Promise<void>((resolve) => {
      const req = request(`${base}/v1/fleet/events`, { headers: auth }, (res) => {
        res.pause(); // never reads
        res.on('close', () => resolve());
        res.on('error', () => resolve());
      });
      req.end();
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(dashboard.clients()).toBe(1);
    const reason = 'x'.repeat(1000);
    for (let i = 0; i < 3000 && dashboard.clients() > 0; i++)
      await monitor.setDesired({ cluster: `c${i}`, artifact_hash: HASH(1), actor: 'a', reason });
    expect(dashboard.clients()).toBe(0);
    await pending;
  });

  it('answers 503 beyond maxClients, 405 for other methods, and leaves other paths alone', async () => {
    await start({ maxClients: 1 });
    const held = stream(auth, (events) => events.length >= 1 && dashboard.clients() === 1);
    await held;
    const keep = request(`${base}/v1/fleet/events`, { headers: auth });
    keep.end();
    await new Promise((r) => setTimeout(r, 50));
    const busy = await stream(auth, () => true);
    expect(busy.status).toBe(503);
    keep.destroy();
    const post = await fetch(`${base}/v1/fleet/events`, { method: 'POST', headers: auth });
    expect(post.status).toBe(405);
    expect((await fetch(`${base}/v1/fleet`)).status).toBe(418);
  });
});

describe('/ui/', () => {
  it('serves the page without a token, with a strict CSP and nosniff', async () => {
    await start();
    const page = await fetch(`${base}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(await page.text()).toContain('Plumbline');
    const asset = await fetch(`${base}/ui/assets/app-1234.js`);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const redirect = await fetch(`${base}/ui`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/ui/');
  });

  it('serves only the page files: no traversal, no unknown types, no writes', async () => {
    await start();
    for (const path of [
      '/ui/assets/secret.key',
      '/ui/assets%2f..%2f..%2fpackage.json',
      '/ui/%2e%2e/x',
      '/ui/../package.json',
      '/ui/assets/../../../package.json',
      '/ui/nope.js',
    ]) {
      expect(await rawStatus(path)).not.toBe(200);
    }
    expect((await fetch(`${base}/ui/%E0%A4%A`)).status).toBe(400);
    expect((await fetch(`${base}/ui/`, { method: 'POST' })).status).toBe(405);
  });

  it('says so when the dashboard was not built', async () => {
    await start({ uiDirs: [join(uiDir, 'missing')] });
    const r = await fetch(`${base}/ui/`);
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({
      error: {
        code: 'PLB_DASHBOARD_NOT_BUILT',
        message: 'the dashboard is not part of this build',
      },
    });
  });
});
