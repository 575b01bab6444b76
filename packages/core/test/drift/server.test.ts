import { describe, expect, it } from 'vitest';
import {
  FleetMonitor,
  ManualClock,
  createMemoryTransport,
  encodeFrame,
  serveDrift,
  type DriftConnection,
  type SessionRejection,
} from '@plumbline/core/drift';
import { createMemoryAuditLogger } from '@plumbline/core/audit';
import { A, T0, identity, settle } from './helpers.js';

interface Client {
  readonly connection: DriftConnection;
  readonly frames: Record<string, unknown>[];
  readonly closes: { code: number; reason: string }[];
}

async function setup(
  options: { helloTimeoutMs?: number; maxFrameBytes?: number; throwingOnRejected?: boolean } = {},
) {
  const clock = new ManualClock(T0);
  const monitor = await FleetMonitor.create({
    clock,
    heartbeatIntervalMs: 2000,
    flapDamping: false,
  });
  const memory = createMemoryTransport({ tokens: { t1: identity('gw-1'), t2: identity('gw-2') } });
  const rejections: SessionRejection[] = [];
  const server = serveDrift({
    transport: memory.transport,
    monitor,
    ...(options.helloTimeoutMs === undefined ? {} : { helloTimeoutMs: options.helloTimeoutMs }),
    ...(options.maxFrameBytes === undefined
      ? {}
      : { limits: { maxFrameBytes: options.maxFrameBytes } }),
    onRejected: (r) => {
      rejections.push(r);
      if (options.throwingOnRejected) throw new Error('callback bug');
    },
  });
  await server.start();
  const connect = async (token: string): Promise<Client> => {
    const frames: Record<string, unknown>[] = [];
    const closes: { code: number; reason: string }[] = [];
    const connection = await memory.channel(token).connect({
      onMessage: (text) => frames.push(JSON.parse(text) as Record<string, unknown>),
      onClose: (code, reason) => closes.push({ code, reason }),
    });
    return { connection, frames, closes };
  };
  const hello = (node = 'gw-1', cluster = 'prod', extra: Record<string, unknown> = {}) =>
    encodeFrame({
      type: 'hello',
      protocol: 'plumbline.drift/v1',
      node_id: node,
      cluster,
      instance_id: 'i-1',
      artifact_hash: A,
      ...extra,
    });
  return { clock, monitor, server, connect, hello, rejections };
}

describe('serveDrift over the in-memory transport', () => {
  it('answers a hello with welcome and feeds heartbeats to the monitor', async () => {
    const s = await setup();
    const c = await s.connect('t1');
    expect(s.server.sessions).toBe(1);
    c.connection.send(s.hello());
    c.connection.send('{"type":"telemetry","x":1}');
    c.connection.send(encodeFrame({ type: 'heartbeat', seq: 1, artifact_hash: A }));
    await settle();
    expect(c.frames).toEqual([
      {
        type: 'welcome',
        protocol: 'plumbline.drift/v1',
        heartbeat_interval_ms: 2000,
        server_time: new Date(T0).toISOString(),
      },
    ]);
    expect(s.monitor.node('gw-1')).toMatchObject({ state: 'unknown', connected: true });
    expect(s.monitor.counters().heartbeats).toBe(1);
    c.connection.close(1000);
    await settle();
    expect(s.monitor.node('gw-1')?.state).toBe('disconnected');
    expect(s.server.sessions).toBe(0);
    await s.server.close();
    await s.monitor.close();
    expect(s.clock.pendingTimers).toBe(0);
  });

  it('closes a session without a hello in time with error + 4408', async () => {
    const s = await setup({ helloTimeoutMs: 500 });
    const c = await s.connect('t1');
    s.clock.advance(499);
    await settle();
    expect(c.closes).toEqual([]);
    s.clock.advance(1);
    await settle();
    expect(c.frames).toMatchObject([{ type: 'error', code: 'PLB_DRIFT_HELLO_TIMEOUT' }]);
    expect(c.closes).toEqual([{ code: 4408, reason: 'PLB_DRIFT_HELLO_TIMEOUT' }]);
    expect(s.monitor.counters().rejected).toEqual({ hello_timeout: 1 });
    await s.server.close();
    await s.monitor.close();
  });

  it('refuses a hello naming another node (4403) and reports what it claimed', async () => {
    const s = await setup({ throwingOnRejected: true });
    const c = await s.connect('t1');
    c.connection.send(s.hello('gw-2'));
    await settle();
    expect(c.frames).toMatchObject([{ type: 'error', code: 'PLB_DRIFT_IDENTITY_MISMATCH' }]);
    expect(c.closes[0]?.code).toBe(4403);
    expect(s.rejections).toEqual([
      {
        code: 'PLB_DRIFT_IDENTITY_MISMATCH',
        reason: 'the hello names another node or cluster than the authenticated identity',
        close_code: 4403,
        node_id: 'gw-1',
        cluster: 'prod',
        principal: 'token:gw-1',
        remoteAddress: 'memory',
        claimed: { node_id: 'gw-2', cluster: 'prod' },
      },
    ]);
    expect(s.monitor.node('gw-2')).toBeUndefined();
    expect(s.monitor.node('gw-1')).toBeUndefined();
    await s.server.close();
    await s.monitor.close();
  });

  it('refuses another major protocol version with error + close', async () => {
    const s = await setup();
    const c = await s.connect('t1');
    c.connection.send(s.hello('gw-1', 'prod', { protocol: 'plumbline.drift/v2' }));
    await settle();
    expect(c.frames).toMatchObject([{ type: 'error', code: 'PLB_DRIFT_UNSUPPORTED_PROTOCOL' }]);
    expect(c.closes[0]?.code).toBe(4400);
    expect(s.rejections[0]).not.toHaveProperty('claimed');
    await s.server.close();
    await s.monitor.close();
  });

  it('closes with 4400 on malformed frames, heartbeats before hello and a second hello; 1009 when too big', async () => {
    const s = await setup({ maxFrameBytes: 300 });
    const cases: [string[], string, number][] = [
      [['{oops'], 'PLB_DRIFT_MALFORMED', 4400],
      [
        [encodeFrame({ type: 'heartbeat', seq: 1, artifact_hash: A })],
        'PLB_DRIFT_OUT_OF_ORDER',
        4400,
      ],
      [[s.hello(), s.hello()], 'PLB_DRIFT_OUT_OF_ORDER', 4400],
      [[`{"type":"hello","pad":"${'x'.repeat(400)}"}`], 'PLB_DRIFT_FRAME_TOO_BIG', 1009],
    ];
    for (const [frames, code, close] of cases) {
      const c = await s.connect('t1');
      for (const f of frames) c.connection.send(f);
      await settle();
      expect(c.frames.at(-1), code).toMatchObject({ type: 'error', code });
      expect(c.closes, code).toEqual([{ code: close, reason: code }]);
    }
    expect(s.monitor.counters().rejected).toEqual({ malformed: 1, out_of_order: 2, too_big: 1 });
    await s.server.close();
    await s.monitor.close();
  });

  it('replaces an older session of the same node with 4409 and keeps the node connected', async () => {
    const s = await setup();
    const first = await s.connect('t1');
    first.connection.send(s.hello());
    await settle();
    const second = await s.connect('t1');
    second.connection.send(s.hello());
    await settle();
    expect(first.frames.at(-1)).toMatchObject({ type: 'error', code: 'PLB_DRIFT_REPLACED' });
    expect(first.closes).toEqual([{ code: 4409, reason: 'PLB_DRIFT_REPLACED' }]);
    expect(second.frames).toMatchObject([{ type: 'welcome' }]);
    expect(s.monitor.node('gw-1')).toMatchObject({ connected: true });
    second.connection.send(encodeFrame({ type: 'heartbeat', seq: 1, artifact_hash: A }));
    await settle();
    expect(s.monitor.counters().heartbeats).toBe(1);
    await s.server.close();
    await settle();
    expect(second.closes).toEqual([{ code: 1001, reason: 'shutdown' }]);
    // A shutdown does not mark nodes disconnected; the monitor persists them on close.
    expect(s.monitor.node('gw-1')?.connected).toBe(true);
    await s.monitor.close();
  });

  it('counts and reports refused credentials', async () => {
    const s = await setup();
    await expect(s.connect('nope')).rejects.toMatchObject({ code: 'PLB_DRIFT_UNAUTHENTICATED' });
    expect(s.rejections).toEqual([
      {
        code: 'PLB_DRIFT_UNAUTHENTICATED',
        reason: 'unknown token',
        close_code: 4401,
        remoteAddress: 'memory',
      },
    ]);
    expect(s.monitor.counters().rejected).toEqual({ unauthenticated: 1 });
    await s.server.close();
    await s.monitor.close();
  });

  it('validates helloTimeoutMs and refuses a second start of the transport', async () => {
    const monitor = await FleetMonitor.create({ clock: new ManualClock(T0) });
    const memory = createMemoryTransport({ tokens: {} });
    expect(() => serveDrift({ transport: memory.transport, monitor, helloTimeoutMs: 0 })).toThrow(
      /helloTimeoutMs/,
    );
    const server = serveDrift({ transport: memory.transport, monitor });
    await server.start();
    await expect(server.start()).rejects.toMatchObject({ code: 'PLB_DRIFT_TRANSPORT_STATE' });
    await server.close();
    await expect(
      memory.channel('x').connect({ onMessage() {}, onClose() {} }),
    ).rejects.toMatchObject({ code: 'PLB_DRIFT_CONNECT' });
    const aborted = new AbortController();
    aborted.abort();
    await expect(
      memory.channel('x').connect({ onMessage() {}, onClose() {} }, aborted.signal),
    ).rejects.toMatchObject({ code: 'PLB_DRIFT_CONNECT' });
    await monitor.close();
  });

  it('writes session.accepted and session.rejected to the audit trail, claims as claims', async () => {
    const clock = new ManualClock(T0);
    const monitor = await FleetMonitor.create({ clock });
    const memory = createMemoryTransport({
      tokens: { t1: { ...identity('gw-1'), principal: 'node:gw-1' } },
    });
    const { logger, sink } = createMemoryAuditLogger();
    const server = serveDrift({ transport: memory.transport, monitor, audit: logger });
    await server.start();
    const open = async () => memory.channel('t1').connect({ onMessage() {}, onClose() {} });
    const good = await open();
    good.send(
      encodeFrame({
        type: 'hello',
        protocol: 'plumbline.drift/v1',
        node_id: 'gw-1',
        cluster: 'prod',
        instance_id: 'i-1',
        artifact_hash: A,
      }),
    );
    const bad = await open();
    bad.send(
      encodeFrame({
        type: 'hello',
        protocol: 'plumbline.drift/v1',
        node_id: 'gw-9',
        cluster: 'prod',
        instance_id: 'i-9',
        artifact_hash: A,
      }),
    );
    const garbage = await open();
    garbage.send('{');
    await expect(
      memory.channel('stolen').connect({ onMessage() {}, onClose() {} }),
    ).rejects.toThrow();
    await settle(20);
    await logger.flush();
    const events = sink.events.map((e) => ({
      type: e.type,
      outcome: e.outcome,
      actor: e.actor,
      details: e.details,
    }));
    expect(events).toEqual([
      {
        type: 'session.accepted',
        outcome: 'allow',
        actor: { type: 'node', id: 'node:gw-1', address: 'memory' },
        details: {
          node_id: 'gw-1',
          cluster: 'prod',
          instance_id: 'i-1',
          protocol: 'plumbline.drift/v1',
        },
      },
      {
        type: 'session.rejected',
        outcome: 'deny',
        actor: { type: 'node', id: 'node:gw-1', address: 'memory' },
        details: {
          reason_code: 'identity_mismatch',
          close_code: 4403,
          claimed_node_id: 'gw-9',
          claimed_cluster: 'prod',
        },
      },
      {
        type: 'session.rejected',
        outcome: 'deny',
        actor: { type: 'node', id: 'node:gw-1', address: 'memory' },
        details: { reason_code: 'malformed', close_code: 4400 },
      },
      {
        type: 'session.rejected',
        outcome: 'deny',
        actor: { type: 'anonymous', id: 'anonymous', address: 'memory' },
        details: { reason_code: 'unauthenticated', close_code: 4401 },
      },
    ]);
    expect(JSON.stringify(sink.events)).not.toContain('stolen');
    // A failing audit trail never breaks the endpoint; failures are reported.
    const failures: unknown[] = [];
    const brokenMemory = createMemoryTransport({ tokens: {} });
    const broken = serveDrift({
      transport: brokenMemory.transport,
      monitor,
      audit: {
        emit: () => {
          throw new Error('audit down');
        },
        flush: async () => {},
        close: async () => {},
        metrics: () => ({}) as never,
      },
      onAuditError: (e) => {
        failures.push(e);
        throw new Error('callback bug');
      },
    });
    await broken.start();
    await expect(
      brokenMemory.channel('x').connect({ onMessage() {}, onClose() {} }),
    ).rejects.toThrow();
    expect(failures).toHaveLength(1);
    await server.close();
    await broken.close();
    await logger.close();
    await monitor.close();
  });
});
