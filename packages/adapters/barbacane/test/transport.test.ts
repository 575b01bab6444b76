import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FleetMonitor, type DriftServer } from '@plumbline/core/drift';
import { hashBarbacaneKey } from '../src/credentials.js';
import {
  createBarbacaneTransport,
  serveBarbacane,
  type BarbacaneTransport,
} from '../src/transport.js';
import { connectRaw as connect } from './fixtures.js';

const PROJECT = '550e8400-e29b-41d4-a716-446655440000';
const OTHER_PROJECT = '660e8400-e29b-41d4-a716-446655440001';
const PROJECT_KEY = 'project-key-secret';
const NODE_KEY = 'node-key-secret';
const STAGING_KEY = 'staging-key-secret';
const H1 = `sha256:${'1'.repeat(64)}` as const;
const H2 = `sha256:${'2'.repeat(64)}` as const;
const ARTIFACT_2 = '770e8400-e29b-41d4-a716-446655440002';

/** Barbacane's exact register shape (serde: name and artifact_id skipped when None, metadata {}). */
const register = (extra: Record<string, unknown> = {}) => ({
  type: 'register',
  project_id: PROJECT,
  api_key: PROJECT_KEY,
  name: 'gw-1',
  metadata: {},
  ...extra,
});

let monitor: FleetMonitor;
let server: DriftServer;
let transport: BarbacaneTransport;

async function start(
  options: { maxFrameBytes?: number; registerTimeoutMs?: number; maxFramesPer10s?: number } = {},
) {
  monitor = await FleetMonitor.create({ heartbeatIntervalMs: 30_000, flapDamping: false });
  ({ server, transport } = await serveBarbacane({
    monitor,
    credentials: [
      { project_id: PROJECT, key_sha256: hashBarbacaneKey(PROJECT_KEY), cluster: 'prod' },
      {
        project_id: OTHER_PROJECT,
        key_sha256: hashBarbacaneKey(STAGING_KEY),
        cluster: 'staging',
      },
      {
        project_id: PROJECT,
        key_sha256: hashBarbacaneKey(NODE_KEY),
        cluster: 'prod',
        node: 'gw-bound',
      },
    ],
    resolveArtifact: (id) => (id === ARTIFACT_2 ? H2 : undefined),
    ...options,
  }));
}

afterEach(async () => {
  await server?.close();
  await monitor?.close();
});

describe('Barbacane data-plane transport', () => {
  it('registers, maps heartbeats into the monitor and acks drift from the declared desired state', async () => {
    await start();
    expect(transport.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws\/data-plane$/);
    const c = await connect(transport.url);
    c.send(register());
    const registered = await c.next();
    expect(registered).toMatchObject({ type: 'registered', heartbeat_interval_secs: 30 });
    expect(registered['data_plane_id']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    // A register carries no hash: the node waits for its first report, unjudged.
    expect(monitor.node('gw-1')).toMatchObject({
      cluster: 'prod',
      state: 'awaiting_report',
      connected: true,
    });

    // No desired state: no drift, whatever the node runs.
    c.send({ type: 'heartbeat', artifact_hash: H1, uptime_secs: 30, requests_total: 5 });
    expect(await c.next()).toEqual({ type: 'heartbeat_ack', drift_detected: false });
    expect(monitor.node('gw-1')?.reported_hash).toBe(H1);

    await monitor.setDesired({
      cluster: 'prod',
      artifact_hash: H1,
      actor: 'test',
      reason: 'deploy',
    });
    c.send({ type: 'heartbeat', artifact_hash: H1, uptime_secs: 60, requests_total: 9 });
    expect(await c.next()).toEqual({ type: 'heartbeat_ack', drift_detected: false });
    expect(monitor.node('gw-1')?.state).toBe('in_sync');

    await monitor.setDesired({
      cluster: 'prod',
      artifact_hash: H2,
      actor: 'test',
      reason: 'deploy 2',
    });
    c.send({ type: 'heartbeat', artifact_hash: H1, uptime_secs: 90, requests_total: 9 });
    expect(await c.next()).toEqual({ type: 'heartbeat_ack', drift_detected: true });
    expect(monitor.node('gw-1')?.state).toBe('drift');

    // A heartbeat without artifact_hash (older data planes) keeps the last known hash.
    c.send({ type: 'heartbeat', uptime_secs: 120, requests_total: 9 });
    expect(await c.next()).toEqual({ type: 'heartbeat_ack', drift_detected: true });

    // A failed download of the desired artifact makes the node rejected; success clears it.
    c.send({
      type: 'artifact_downloaded',
      artifact_id: ARTIFACT_2,
      success: false,
      error: 'checksum mismatch',
    });
    await waitFor(() => monitor.node('gw-1')?.state === 'rejected');
    expect(monitor.node('gw-1')?.last_load_error).toMatchObject({
      artifact_hash: H2,
      code: 'PLB_BARBACANE_LOAD_FAILED',
      message: 'checksum mismatch',
    });
    c.send({ type: 'artifact_downloaded', artifact_id: ARTIFACT_2, success: true });
    await waitFor(() => monitor.node('gw-1')?.state === 'drift');
    c.send({ type: 'heartbeat', artifact_hash: H2, uptime_secs: 150, requests_total: 9 });
    expect(await c.next()).toEqual({ type: 'heartbeat_ack', drift_detected: false });
    expect(monitor.node('gw-1')?.state).toBe('in_sync');
    c.ws.close();
    await c.closed;
  });

  it('keeps the identity across reconnects by name and replaces the older session', async () => {
    await start();
    await monitor.setDesired({ cluster: 'prod', artifact_hash: H1, actor: 'test', reason: 'x' });
    const a = await connect(transport.url);
    a.send(register());
    const first = await a.next();
    a.send({ type: 'heartbeat', artifact_hash: H2 });
    expect(await a.next()).toEqual({ type: 'heartbeat_ack', drift_detected: true });
    const b = await connect(transport.url);
    b.send(register());
    const second = await b.next();
    expect(second['data_plane_id']).toBe(first['data_plane_id']);
    expect(await a.next()).toMatchObject({ type: 'disconnect' });
    expect((await a.closed).code).toBe(4409);
    // The reconnected node is still checked: its state follows the new session at once.
    b.send({ type: 'heartbeat', artifact_hash: H2 });
    expect(await b.next()).toEqual({ type: 'heartbeat_ack', drift_detected: true });
    // Another project's key cannot take the name over into its cluster.
    const intruder = await connect(transport.url);
    intruder.send(register({ project_id: OTHER_PROJECT, api_key: STAGING_KEY, name: 'gw-1' }));
    expect(await intruder.next()).toMatchObject({ type: 'registration_failed' });
    expect((await intruder.closed).code).toBe(4403);
    expect(monitor.node('gw-1')).toMatchObject({ cluster: 'prod', connected: true });
    b.ws.close();
    await b.closed;
    await waitFor(() => monitor.node('gw-1')?.state === 'disconnected');
  });

  it('refuses wrong keys, other projects, missing names and bound-name mismatches', async () => {
    await start();
    const cases: [Record<string, unknown>, number][] = [
      [register({ api_key: 'wrong' }), 4401],
      [register({ project_id: OTHER_PROJECT }), 4401],
      [register({ name: undefined }), 4401],
      [register({ name: 'has space' }), 4401],
      [register({ api_key: NODE_KEY, name: 'gw-1' }), 4403],
      // A project key cannot take the name of a node bound to its own key.
      [register({ name: 'gw-bound' }), 4403],
    ];
    for (const [message, code] of cases) {
      const c = await connect(transport.url);
      c.send(message);
      expect(await c.next()).toMatchObject({ type: 'registration_failed' });
      expect((await c.closed).code).toBe(code);
    }
    expect(monitor.node('gw-1')).toBeUndefined();
    // Each refusal is counted once, under its own reason.
    expect(monitor.counters().rejected['unauthenticated']).toBe(4);
    expect(monitor.counters().rejected['identity_mismatch']).toBe(2);
    // A key bound to a node name: the name may be omitted.
    const bound = await connect(transport.url);
    bound.send(register({ api_key: NODE_KEY, name: undefined }));
    expect(await bound.next()).toMatchObject({ type: 'registered' });
    expect(monitor.node('gw-bound')?.connected).toBe(true);
    // register with artifact_id maps to the resolved hash.
    bound.ws.close();
    await bound.closed;
    const withArtifact = await connect(transport.url);
    withArtifact.send(register({ api_key: NODE_KEY, name: 'gw-bound', artifact_id: ARTIFACT_2 }));
    await withArtifact.next();
    expect(monitor.node('gw-bound')?.reported_hash).toBe(H2);
    withArtifact.ws.close();
    await withArtifact.closed;
  });

  it('closes on malformed, out-of-order and binary messages with 4400', async () => {
    await start();
    const before = async (message: string | Buffer): Promise<number> => {
      const c = await connect(transport.url);
      if (typeof message === 'string') c.send(message);
      else c.ws.send(message);
      expect(await c.next()).toMatchObject({ type: 'error' });
      return (await c.closed).code;
    };
    expect(await before('{not json')).toBe(4400);
    expect(await before('[]')).toBe(4400);
    expect(await before(JSON.stringify({ type: 'heartbeat', uptime_secs: 1 }))).toBe(4400);
    expect(
      await before(JSON.stringify({ type: 'register', project_id: 'nope', api_key: 'k' })),
    ).toBe(4400);
    expect(await before(Buffer.from([1, 2, 3]))).toBe(4400);
    const after = async (message: unknown): Promise<number> => {
      const c = await connect(transport.url);
      c.send(register());
      await c.next();
      c.send({ type: 'some_future_message' }); // ignored
      c.send(message);
      expect(await c.next()).toMatchObject({ type: 'error' });
      return (await c.closed).code;
    };
    // Barbacane's own test uses an abbreviated hash; it is not a digest and is refused.
    expect(
      await after({ type: 'heartbeat', artifact_hash: 'sha256:abc123def', uptime_secs: 1 }),
    ).toBe(4400);
    expect(await after({ type: 'heartbeat', uptime_secs: -1 })).toBe(4400);
    expect(await after({ type: 'artifact_downloaded', artifact_id: 'x', success: true })).toBe(
      4400,
    );
    expect(await after(register())).toBe(4400);
    expect(monitor.counters().rejected['malformed']).toBeGreaterThanOrEqual(9);
  });

  it('closes oversized frames with 1009 and silent connections with 4408', async () => {
    await start({ maxFrameBytes: 1024, registerTimeoutMs: 200 });
    const big = await connect(transport.url);
    big.send(register({ metadata: { blob: 'x'.repeat(4096) } }));
    expect((await big.closed).code).toBe(1009);
    const silent = await connect(transport.url);
    expect(await silent.next()).toMatchObject({ type: 'registration_failed' });
    expect((await silent.closed).code).toBe(4408);
  });

  it('closes a connection with 4429 beyond its burst of frames, counted per connection', async () => {
    await start({ maxFramesPer10s: 5 });
    const busy = await connect(transport.url);
    const calm = await connect(transport.url);
    busy.send(register());
    calm.send(register({ api_key: NODE_KEY, name: 'gw-bound' }));
    expect(await busy.next()).toMatchObject({ type: 'registered' });
    expect(await calm.next()).toMatchObject({ type: 'registered' });
    for (let i = 0; i < 4; i++) busy.send({ type: 'heartbeat', uptime_secs: i, requests_total: 0 });
    for (let i = 0; i < 4; i++) expect(await busy.next()).toMatchObject({ type: 'heartbeat_ack' });
    // The sixth frame of the connection (register and four heartbeats before it) is one too many.
    busy.send({ type: 'heartbeat', uptime_secs: 5, requests_total: 0 });
    expect(await busy.next()).toEqual({ type: 'error', message: 'too many messages' });
    expect((await busy.closed).code).toBe(4429);
    calm.send({ type: 'heartbeat', uptime_secs: 1, requests_total: 0 });
    expect(await calm.next()).toMatchObject({ type: 'heartbeat_ack' });
  });

  it('refuses limits that are not positive integers with PLB_USAGE, naming the option', async () => {
    monitor = await FleetMonitor.create({ heartbeatIntervalMs: 30_000 });
    for (const [option, value] of [
      ['maxFrameBytes', 0],
      ['maxFramesPer10s', 1.5],
      ['registerTimeoutMs', -1],
      ['maxConnections', Number.NaN],
    ] as const) {
      const make = () => createBarbacaneTransport({ credentials: [], monitor, [option]: value });
      expect(make).toThrow(expect.objectContaining({ code: 'PLB_USAGE', details: { option } }));
    }
  });

  it('closes every session with 1001 on shutdown', async () => {
    await start();
    const c = await connect(transport.url);
    c.send(register());
    await c.next();
    await server.close();
    expect((await c.closed).code).toBe(1001);
  });
});

describe('Barbacane transport fuzzing', () => {
  it('answers arbitrary first and later messages with an error close or ignores them (property)', async () => {
    await start();
    const message = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json({ maxDepth: 3 }),
      fc
        .record({
          type: fc.constantFrom('register', 'heartbeat', 'artifact_downloaded', 'other'),
          project_id: fc.oneof(fc.constant(PROJECT), fc.uuid(), fc.string()),
          api_key: fc.oneof(fc.constant(PROJECT_KEY), fc.string()),
          name: fc.oneof(fc.constant('gw-f'), fc.string(), fc.constant(null)),
          artifact_hash: fc.oneof(fc.constant(H1), fc.string(), fc.constant(null), fc.integer()),
          artifact_id: fc.oneof(fc.uuid(), fc.string()),
          success: fc.oneof(fc.boolean(), fc.string()),
        })
        .map((m) => JSON.stringify(m)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(message, { minLength: 1, maxLength: 4 }),
        async (registered, messages) => {
          const c = await connect(transport.url);
          if (registered) {
            c.send(register({ name: 'gw-f' }));
            expect(await c.next()).toMatchObject({ type: 'registered' });
          }
          for (const m of messages) c.send(m);
          c.ws.close();
          const { code } = await c.closed;
          expect([1000, 1005, 4400, 4401, 4403, 4409]).toContain(code);
        },
      ),
      { numRuns: 40 },
    );
    expect(transport.connections).toBeLessThanOrEqual(1);
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not reached');
}

describe('Barbacane gateways and false alerts', () => {
  it('raises no alert for a healthy gateway that connects, reconnects and fails over', async () => {
    await start();
    await monitor.setDesired({
      cluster: 'prod',
      artifact_hash: H1,
      actor: 'alice',
      reason: 'release',
    });
    const events: { type: string; node_id?: string }[] = [];
    monitor.onAny((e) => events.push(e as { type: string; node_id?: string }));
    const healthy = async () => {
      const c = await connect(transport.url);
      c.send(register());
      expect(await c.next()).toMatchObject({ type: 'registered' });
      // Until its first heartbeat the gateway has reported nothing: not judged.
      expect(monitor.node('gw-1')?.state).toBe('awaiting_report');
      c.send({ type: 'heartbeat', artifact_hash: H1, uptime_secs: 1, requests_total: 0 });
      expect(await c.next()).toEqual({ type: 'heartbeat_ack', drift_detected: false });
      expect(monitor.node('gw-1')?.state).toBe('in_sync');
      return c;
    };
    const first = await healthy();
    first.ws.close(1000);
    await first.closed;
    // Reconnect after a clean close, then a failover (a new connection replaces the old one).
    const second = await healthy();
    const third = await healthy();
    expect((await second.closed).code).toBe(4409);
    third.ws.terminate();
    await until(() => monitor.node('gw-1')?.connected === false);
    await healthy();
    const alerts = events.filter((e) =>
      ['drift.detected', 'drift.resolved', 'node.flapping'].includes(e.type),
    );
    expect(alerts).toEqual([]);
  });
});

describe('two Barbacane gateways sharing a name', () => {
  it('stops the replacement loop, keeps the fleet steady and names the collision', async () => {
    await start();
    const collisions: string[] = [];
    const events: string[] = [];
    monitor.onAny((e) => events.push(e.type));
    // Two data planes named gw-1, each reconnecting as soon as it is closed (as Barbacane's do).
    const gateway = async () => {
      const c = await connect(transport.url);
      c.send(register());
      return { c, first: await c.next() };
    };
    const a1 = await gateway();
    expect(a1.first).toMatchObject({ type: 'registered' });
    const b1 = await gateway();
    expect(await a1.c.next()).toMatchObject({ type: 'disconnect' });
    expect((await a1.c.closed).code).toBe(4409);
    const a2 = await gateway();
    expect((await b1.c.closed).code).toBe(4409);
    const b2 = await gateway();
    expect((await a2.c.closed).code).toBe(4409);
    // Three replacements of a live session in a minute: a loop. The name stays with b2.
    expect(server.collisions()).toMatchObject([
      { node_id: 'gw-1', refused: 0, addresses: ['127.0.0.1'] },
    ]);
    for (let round = 0; round < 3; round++) {
      const a = await gateway();
      expect(a.first).toMatchObject({ type: 'registration_failed' });
      expect(String(a.first['reason'])).toContain('two data planes share this name');
      expect((await a.c.closed).code).toBe(4403);
    }
    b2.c.send({ type: 'heartbeat', artifact_hash: H1 });
    expect(await b2.c.next()).toEqual({ type: 'heartbeat_ack', drift_detected: false });
    expect(monitor.node('gw-1')?.connected).toBe(true);
    expect(server.collisions()[0]?.refused).toBe(3);
    expect(events.filter((e) => e === 'node.flapping')).toEqual([]);
    collisions.push(...server.collisions().map((c) => c.node_id));
    expect(collisions).toEqual(['gw-1']);
  });
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(condition()).toBe(true);
}
