/**
 * A healthy Barbacane gateway under the monitor's default flap damping: its `register` carries no
 * hash (barbacane `src/control_plane.rs`, `DataPlaneMessage::Register`, v0.8.1), its heartbeats
 * carry `artifact_hash`, and it reconnects after every close (`run`, the same file).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FleetMonitor, type DriftServer, type FleetEvent } from '@plumbline/core/drift';
import { hashBarbacaneKey } from '../src/credentials.js';
import { serveBarbacane, type BarbacaneTransport } from '../src/transport.js';
import { connectRaw as gateway, type RawGateway as Gateway } from './fixtures.js';

const PROJECT = '550e8400-e29b-41d4-a716-446655440000';
const KEY = 'project-key-secret';
const H1 = `sha256:${'1'.repeat(64)}` as const;
const H2 = `sha256:${'2'.repeat(64)}` as const;

// Barbacane's own serde shapes: `name` and `artifact_id` skipped when None, `metadata` always.
const REGISTER = {
  type: 'register',
  project_id: PROJECT,
  api_key: KEY,
  name: 'gw-1',
  metadata: {},
};
const heartbeat = (hash?: string) => ({
  type: 'heartbeat',
  ...(hash === undefined ? {} : { artifact_hash: hash }),
  uptime_secs: 1,
  requests_total: 0,
});

let monitor: FleetMonitor;
let server: DriftServer;
let transport: BarbacaneTransport;
let events: FleetEvent[];

async function start(): Promise<void> {
  // Default flap damping: the false alerts this guards against include `node.flapping`.
  monitor = await FleetMonitor.create({ heartbeatIntervalMs: 30_000 });
  ({ server, transport } = await serveBarbacane({
    monitor,
    credentials: [{ project_id: PROJECT, key_sha256: hashBarbacaneKey(KEY), cluster: 'prod' }],
  }));
  await monitor.setDesired({ cluster: 'prod', artifact_hash: H1, actor: 'a', reason: 'r' });
  events = [];
  monitor.onAny((e) => events.push(e));
}

afterEach(async () => {
  await server?.close();
  await monitor?.close();
});

const alerts = () =>
  events
    .map((e) => e.type)
    .filter((t) => ['drift.detected', 'drift.resolved', 'node.flapping'].includes(t));

async function registered(): Promise<Gateway> {
  const g = await gateway(transport.url);
  g.send(REGISTER);
  expect(await g.next()).toMatchObject({ type: 'registered' });
  return g;
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(condition()).toBe(true);
}

describe('a healthy Barbacane gateway under default flap damping', () => {
  it('reconnects and fails over without a drift or flapping alert', async () => {
    await start();
    let current = await registered();
    const report = async (g: Gateway): Promise<void> => {
      expect(monitor.node('gw-1')?.state).toBe('awaiting_report');
      g.send(heartbeat(H1));
      expect(await g.next()).toEqual({ type: 'heartbeat_ack', drift_detected: false });
      expect(monitor.node('gw-1')?.state).toBe('in_sync');
    };
    await report(current);
    for (let i = 0; i < 2; i++) {
      // A clean close, then Barbacane's immediate reconnect.
      current.ws.close(1000);
      await current.closed;
      await until(() => monitor.node('gw-1')?.connected === false);
      current = await registered();
      await report(current);
      // A failover: a new connection of the same gateway replaces the live one (4409).
      const next = await registered();
      expect((await current.closed).code).toBe(4409);
      current = next;
      await report(current);
    }
    expect(alerts()).toEqual([]);
    expect(events.filter((e) => e.type === 'node.state_changed').length).toBeGreaterThan(8);
  });

  it('does not carry an earlier drift into a reconnect that reports the desired hash', async () => {
    await start();
    const first = await registered();
    first.send(heartbeat(H2));
    expect(await first.next()).toEqual({ type: 'heartbeat_ack', drift_detected: true });
    first.ws.close(1000);
    await first.closed;
    await until(() => monitor.node('gw-1')?.connected === false);
    events.length = 0;
    const second = await registered();
    expect(monitor.node('gw-1')?.state).toBe('awaiting_report');
    second.send(heartbeat(H1));
    expect(await second.next()).toEqual({ type: 'heartbeat_ack', drift_detected: false });
    expect(monitor.node('gw-1')?.state).toBe('in_sync');
    // Connecting again is not judged against what it ran before: nothing is detected on the way,
    // and the drift it left with is resolved once (the receiver's incident is closed).
    expect(alerts()).toEqual(['drift.resolved']);
  });

  it('stays awaiting its report (not judged, no alert) while its heartbeats carry no hash', async () => {
    await start();
    const g = await registered();
    for (let i = 0; i < 3; i++) {
      g.send(heartbeat());
      expect(await g.next()).toEqual({ type: 'heartbeat_ack', drift_detected: false });
    }
    expect(monitor.node('gw-1')?.state).toBe('awaiting_report');
    expect(alerts()).toEqual([]);
    g.send(heartbeat(H2));
    expect(await g.next()).toEqual({ type: 'heartbeat_ack', drift_detected: true });
    expect(alerts()).toEqual(['drift.detected']);
  });
});
