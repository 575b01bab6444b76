import { describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import {
  DataPlaneReporter,
  FleetMonitor,
  ManualClock,
  createMemoryTransport,
  serveDrift,
  stateFromSnapshot,
  type DriftChannel,
  type DriftConnectionHandler,
  type FleetEvent,
} from '@plumbline/core/drift';
import { LoadedArtifactRegistry, type LoadedArtifact } from '@plumbline/core/verify';
import { A, B, C, T0, identity, settle } from './helpers.js';

async function fleet(clock: ManualClock) {
  const monitor = await FleetMonitor.create({
    clock,
    heartbeatIntervalMs: 1000,
    flapDamping: false,
  });
  const memory = createMemoryTransport({ tokens: { t1: identity('gw-1') } });
  const server = serveDrift({ transport: memory.transport, monitor });
  await server.start();
  const events: FleetEvent[] = [];
  monitor.onAny((e) => events.push(e));
  return { monitor, memory, server, events };
}

/** A channel that records what is sent and lets the test script the control plane. */
function scripted(): {
  channel: DriftChannel;
  attempts: number;
  sent: string[];
  handler: () => DriftConnectionHandler;
  fail: PlumblineError | null;
  throwSync: boolean;
} {
  const state = {
    attempts: 0,
    sent: [] as string[],
    fail: null as PlumblineError | null,
    throwSync: false,
    current: null as DriftConnectionHandler | null,
    channel: {
      connect(handler: DriftConnectionHandler) {
        state.attempts++;
        if (state.throwSync) throw new Error('channel bug');
        if (state.fail !== null) return Promise.reject(state.fail);
        state.current = handler;
        return Promise.resolve({
          send: (text: string) => state.sent.push(text),
          close: (code?: number) => state.sent.push(`close:${code}`),
        });
      },
    } as DriftChannel,
    handler: () => state.current as DriftConnectionHandler,
  };
  return state;
}

describe('DataPlaneReporter', () => {
  it('sends hello, then heartbeats at the welcomed interval, and reports a reload at once', async () => {
    const clock = new ManualClock(T0);
    const f = await fleet(clock);
    await f.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    let state = {
      artifact_hash: A,
      loaded_at: '2026-01-01T00:00:00Z',
      provenance: { commit: 'c'.repeat(40) },
    };
    const reporter = new DataPlaneReporter({
      channel: f.memory.channel('t1'),
      node_id: 'gw-1',
      cluster: 'prod',
      clock,
      source: () => state,
      instance_id: 'inst',
    });
    reporter.start();
    reporter.start();
    await settle();
    expect(reporter.status).toBe('connected');
    expect(reporter.heartbeatIntervalMs).toBe(1000);
    expect(f.monitor.node('gw-1')).toMatchObject({
      state: 'in_sync',
      instance_id: 'inst',
      provenance: { commit: 'c'.repeat(40) },
    });
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      await settle();
    }
    expect(f.monitor.counters().heartbeats).toBe(5);
    expect(f.monitor.node('gw-1')?.state).toBe('in_sync');
    // A reload of another artifact with provenance: provenance travels only in `hello`, so the
    // reporter opens a new session of the same instance, and the node never counts as disconnected.
    state = { ...state, artifact_hash: B, provenance: { commit: 'd'.repeat(40) } };
    reporter.report(state);
    await settle();
    expect(f.monitor.node('gw-1')).toMatchObject({
      state: 'drift',
      instance_id: 'inst',
      reported_hash: B,
      provenance: { commit: 'd'.repeat(40) },
    });
    expect(f.events.filter((e) => e.type === 'drift.detected')).toHaveLength(1);
    expect(f.events.filter((e) => e.type === 'node.disconnected')).toHaveLength(0);
    clock.advance(1000);
    await settle();
    expect(f.monitor.counters().heartbeats).toBe(6);
    expect(reporter.stats()).toMatchObject({
      status: 'connected',
      sessions: 2,
      heartbeats: 6,
      failures: 0,
      lastErrorCode: null,
    });
    await reporter.close();
    await settle();
    expect(f.monitor.node('gw-1')?.state).toBe('disconnected');
    await f.server.close();
    await f.monitor.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('reconnects with exponential backoff and full jitter, and re-sends only the latest state', async () => {
    const clock = new ManualClock(T0);
    const s = scripted();
    const reporter = new DataPlaneReporter({
      channel: s.channel,
      node_id: 'gw-1',
      cluster: 'prod',
      clock,
      random: () => 0.5,
      backoff: { initialMs: 100, maxMs: 1000 },
      initialState: { artifact_hash: A },
    });
    reporter.start();
    await settle();
    s.handler().onMessage(
      JSON.stringify({
        type: 'welcome',
        protocol: 'plumbline.drift/v1',
        heartbeat_interval_ms: 10_000,
        server_time: '2026-01-01T00:00:00Z',
      }),
    );
    s.fail = new PlumblineError('PLB_DRIFT_CONNECT', 'refused');
    s.handler().onClose(1006, '');
    expect(reporter.status).toBe('backoff');
    reporter.report({ artifact_hash: B });
    reporter.report({ artifact_hash: C });
    // Delays: 0.5 * min(1000, 100 * 2^n) = 50, 100, 200, 400, 500, 500 ...
    const expected = [50, 100, 200, 400, 500, 500];
    for (const delay of expected) {
      const before = s.attempts;
      clock.advance(delay - 1);
      await settle();
      expect(s.attempts).toBe(before);
      clock.advance(1);
      await settle();
      expect(s.attempts).toBe(before + 1);
    }
    expect(reporter.stats()).toMatchObject({
      failures: 6,
      lastErrorCode: 'PLB_DRIFT_CONNECT',
      lastCloseCode: 1006,
    });
    s.fail = null;
    clock.advance(500);
    await settle();
    expect(reporter.status).toBe('connected');
    const hello = JSON.parse(s.sent.at(-1) as string) as Record<string, unknown>;
    expect(hello).toMatchObject({
      type: 'hello',
      artifact_hash: C,
      node_id: 'gw-1',
      cluster: 'prod',
      sdk: '@plumbline/core@0.1.0',
    });
    // A welcome resets the backoff.
    s.handler().onMessage(
      JSON.stringify({
        type: 'welcome',
        protocol: 'plumbline.drift/v1',
        heartbeat_interval_ms: 10_000,
        server_time: '2026-01-01T00:00:00Z',
      }),
    );
    const attempts = s.attempts;
    s.handler().onClose(1001, 'shutdown');
    clock.advance(50);
    await settle();
    expect(s.attempts).toBe(attempts + 1);
    await reporter.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('keeps seq rising across reconnects of one instance', async () => {
    const clock = new ManualClock(T0);
    const s = scripted();
    const reporter = new DataPlaneReporter({
      channel: s.channel,
      node_id: 'gw-1',
      cluster: 'prod',
      clock,
      random: () => 0,
      initialState: { artifact_hash: A },
    });
    const welcome = JSON.stringify({
      type: 'welcome',
      protocol: 'plumbline.drift/v1',
      heartbeat_interval_ms: 100,
      server_time: '2026-01-01T00:00:00Z',
    });
    reporter.start();
    await settle();
    s.handler().onMessage(welcome);
    clock.advance(200);
    s.handler().onClose(1006, '');
    clock.advance(0);
    await settle();
    s.handler().onMessage(welcome);
    clock.advance(100);
    const seqs = s.sent
      .filter((t) => t.startsWith('{"type":"heartbeat"'))
      .map((t) => (JSON.parse(t) as { seq: number }).seq);
    expect(seqs).toEqual([1, 2, 3]);
    await reporter.close();
  });

  it('never throws into the gateway: bad sources, channels and frames are caught and counted', async () => {
    const clock = new ManualClock(T0);
    const s = scripted();
    const warnings: string[] = [];
    let calls = 0;
    const reporter = new DataPlaneReporter({
      channel: s.channel,
      node_id: 'gw-1',
      cluster: 'prod',
      clock,
      random: () => 0,
      initialState: { artifact_hash: A },
      source: () => {
        calls++;
        if (calls > 1) throw new Error('source bug');
        return { artifact_hash: B };
      },
      logger: {
        warn: (m) => {
          warnings.push(m);
          throw new Error('logger bug');
        },
      },
    });
    reporter.start();
    await settle();
    s.handler().onMessage('not json');
    s.handler().onMessage('{"type":"future_frame"}');
    s.handler().onMessage(
      JSON.stringify({ type: 'error', code: 'PLB_DRIFT_IDENTITY_MISMATCH', message: 'no' }),
    );
    expect(reporter.stats().lastErrorCode).toBe('PLB_DRIFT_IDENTITY_MISMATCH');
    s.handler().onMessage(
      JSON.stringify({
        type: 'welcome',
        protocol: 'plumbline.drift/v1',
        heartbeat_interval_ms: 100,
        server_time: '2026-01-01T00:00:00Z',
      }),
    );
    s.handler().onMessage(
      JSON.stringify({
        type: 'welcome',
        protocol: 'plumbline.drift/v1',
        heartbeat_interval_ms: 5,
        server_time: '2026-01-01T00:00:00Z',
      }),
    );
    expect(reporter.heartbeatIntervalMs).toBe(100);
    clock.advance(100);
    const beat = JSON.parse(s.sent.at(-1) as string) as { artifact_hash: string };
    expect(beat.artifact_hash).toBe(B); // the last good state
    expect(reporter.stats().caught).toBe(2);
    expect(warnings).toContain('the state source threw');
    s.throwSync = true;
    s.handler().onClose(1006, '');
    clock.advance(0);
    await settle();
    expect(reporter.stats().lastErrorCode).toBe('PLB_DRIFT_CONNECT');
    await reporter.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('gives up on a connection without a welcome and reconnects', async () => {
    const clock = new ManualClock(T0);
    const s = scripted();
    const reporter = new DataPlaneReporter({
      channel: s.channel,
      node_id: 'gw-1',
      cluster: 'prod',
      clock,
      random: () => 0,
      welcomeTimeoutMs: 300,
    });
    reporter.start();
    await settle();
    clock.advance(300);
    expect(s.sent.at(-1)).toBe('close:4408');
    expect(reporter.stats()).toMatchObject({
      lastErrorCode: 'PLB_DRIFT_HELLO_TIMEOUT',
      failures: 1,
    });
    clock.advance(0);
    await settle();
    expect(s.attempts).toBe(2);
    await reporter.close();
    expect(s.sent.at(-1)).toBe('close:1001');
  });

  it('after refused credentials, says why and waits the maximum backoff before retrying', async () => {
    const clock = new ManualClock(T0);
    const f = await fleet(clock);
    const warnings: { message: string; details: Readonly<Record<string, unknown>> | undefined }[] =
      [];
    const reporter = new DataPlaneReporter({
      channel: f.memory.channel('wrong'),
      node_id: 'gw-1',
      cluster: 'prod',
      clock,
      random: () => 0,
      backoff: { initialMs: 10, maxMs: 2000 },
      logger: { warn: (message, details) => warnings.push({ message, details }) },
    });
    reporter.start();
    await settle();
    expect(reporter.stats()).toMatchObject({
      status: 'backoff',
      lastErrorCode: 'PLB_DRIFT_UNAUTHENTICATED',
      failures: 1,
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(
      /refused the credentials \(4401 unauthenticated\).*retrying in 2 s/,
    );
    expect(warnings[0]!.details).toMatchObject({ close_code: 4401, retry_in_ms: 2000 });
    // Jitter would have retried at once (random() = 0); a refusal waits maxMs instead.
    clock.advance(1999);
    await settle();
    expect(f.monitor.counters().rejected).toEqual({ unauthenticated: 1 });
    clock.advance(1);
    await settle();
    expect(f.monitor.counters().rejected).toEqual({ unauthenticated: 2 });
    expect(warnings).toHaveLength(2);
    await reporter.close();
    await f.server.close();
    await f.monitor.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('after a 4403 identity mismatch, says so and waits the maximum backoff', async () => {
    const clock = new ManualClock(T0);
    const s = scripted();
    const warnings: string[] = [];
    const reporter = new DataPlaneReporter({
      channel: s.channel,
      node_id: 'gw-1',
      cluster: 'prod',
      clock,
      random: () => 0,
      backoff: { initialMs: 10, maxMs: 5000 },
      logger: { warn: (message) => warnings.push(message) },
    });
    reporter.start();
    await settle();
    s.handler().onMessage(
      JSON.stringify({ type: 'error', code: 'PLB_DRIFT_IDENTITY_MISMATCH', message: 'no' }),
    );
    s.handler().onClose(4403, 'identity mismatch');
    expect(reporter.stats()).toMatchObject({
      status: 'backoff',
      lastCloseCode: 4403,
      lastErrorCode: 'PLB_DRIFT_IDENTITY_MISMATCH',
    });
    expect(warnings).toEqual([
      expect.stringMatching(/4403 identity mismatch.*retrying in 5 s/) as unknown as string,
    ]);
    clock.advance(4999);
    await settle();
    expect(s.attempts).toBe(1);
    clock.advance(1);
    await settle();
    expect(s.attempts).toBe(2);
    // Any other close keeps the jittered backoff (random() = 0: at once).
    s.handler().onClose(1006, '');
    clock.advance(0);
    await settle();
    expect(s.attempts).toBe(3);
    await reporter.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('closes a connection that opens after close()', async () => {
    const clock = new ManualClock(T0);
    const s = scripted();
    const reporter = new DataPlaneReporter({
      channel: s.channel,
      node_id: 'gw-1',
      cluster: 'prod',
      clock,
    });
    reporter.start();
    await reporter.close();
    await settle();
    expect(s.sent).toEqual(['close:1001']);
    expect(reporter.status).toBe('closed');
  });

  it('reads a LoadedArtifactRegistry: snapshot at each send, a heartbeat after each change', async () => {
    const clock = new ManualClock(T0);
    const f = await fleet(clock);
    await f.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
    const registry = new LoadedArtifactRegistry({ instanceId: 'registry-instance' });
    const record = (hash: typeof A): LoadedArtifact => ({
      artifact_hash: hash,
      artifact_digest: null,
      header_digest: null,
      kind: 'container',
      build_timestamp: '2026-01-01T00:00:00Z',
      provenance: {
        commit: 'd'.repeat(40),
        source: 'github.com/x/y',
        ref: 'refs/heads/main',
        builder: { id: 'b', version: '1' },
      },
      payload: null,
      inputs: [],
      verification: {
        status: 'verified',
        mode: 'enforce',
        reasons: [],
      } as unknown as LoadedArtifact['verification'],
      loaded_at: '2026-01-01T00:00:00Z',
      instance_id: 'registry-instance',
    });
    registry.set(record(A), { workerId: 'w1' });
    const reporter = new DataPlaneReporter({
      channel: f.memory.channel('t1'),
      node_id: 'gw-1',
      cluster: 'prod',
      clock,
      loaded: registry,
    });
    expect(reporter.instance_id).toBe('registry-instance');
    reporter.start();
    await settle();
    expect(f.monitor.node('gw-1')).toMatchObject({
      state: 'in_sync',
      instance_id: 'registry-instance',
      workers: [{ id: 'w1', artifact_hash: A }],
      provenance: {
        commit: 'd'.repeat(40),
        source: 'github.com/x/y',
        ref: 'refs/heads/main',
        build_timestamp: '2026-01-01T00:00:00Z',
        builder: { id: 'b', version: '1' },
      },
    });
    await f.monitor.setDesired({
      cluster: 'prod',
      artifact_hash: B,
      actor: 'a',
      reason: 'r',
      rollout: { graceMs: 60_000 },
    });
    registry.recordLoadError({
      artifact_hash: B,
      code: 'PLB_VERIFY_SIGNATURE',
      message: 'x'.repeat(2000),
      at: '2026-01-01T00:00:01Z',
    });
    await settle();
    expect(f.monitor.node('gw-1')?.state).toBe('rejected');
    expect(f.monitor.node('gw-1')?.last_load_error?.message).toHaveLength(1024);
    registry.set(record(B), { workerId: 'w1' });
    await settle();
    expect(f.monitor.node('gw-1')?.state).toBe('in_sync');
    await reporter.close();
    await f.server.close();
    await f.monitor.close();
  });

  it('maps an empty snapshot to nothing loaded', () => {
    const registry = new LoadedArtifactRegistry({ instanceId: 'i' });
    registry.recordLoadError({
      artifact_hash: null,
      code: 'PLB_X',
      message: 'm',
      at: '2026-01-01T00:00:00Z',
    });
    expect(stateFromSnapshot(registry.snapshot())).toEqual({
      artifact_hash: null,
      provenance: null,
      loaded_at: null,
      last_load_error: null,
    });
  });

  it('validates options', () => {
    const s = scripted();
    for (const bad of [
      { backoff: { initialMs: 0 } },
      { backoff: { maxMs: -1 } },
      { welcomeTimeoutMs: Number.NaN },
      { heartbeatIntervalMs: 0 },
    ]) {
      expect(
        () => new DataPlaneReporter({ channel: s.channel, node_id: 'n', cluster: 'c', ...bad }),
      ).toThrow(PlumblineError);
    }
  });
});
