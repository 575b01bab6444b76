import { afterEach, describe, expect, it } from 'vitest';
import { FleetMonitor, type DriftServer } from '@plumbline/core/drift';
import { hashBarbacaneKey } from '../src/credentials.js';
import { serveBarbacane, type BarbacaneTransport } from '../src/transport.js';
import { connectRaw as connect } from './fixtures.js';

// The Barbacane guide's protocol paragraphs, checked with a raw client speaking Barbacane's
// messages: a heartbeat without a hash, an empty API key, unknown message types.
const PROJECT = '550e8400-e29b-41d4-a716-446655440000';
const KEY = 'project-key-secret';
const H1 = `sha256:${'1'.repeat(64)}` as const;
const H2 = `sha256:${'2'.repeat(64)}` as const;

const register = (extra: Record<string, unknown> = {}) => ({
  type: 'register',
  project_id: PROJECT,
  api_key: KEY,
  name: 'gw-1',
  metadata: {},
  ...extra,
});

let monitor: FleetMonitor | undefined;
let server: DriftServer | undefined;
let transport: BarbacaneTransport;

async function start(): Promise<void> {
  monitor = await FleetMonitor.create({ heartbeatIntervalMs: 30_000, flapDamping: false });
  ({ server, transport } = await serveBarbacane({
    monitor,
    credentials: [{ project_id: PROJECT, key_sha256: hashBarbacaneKey(KEY), cluster: 'prod' }],
  }));
  await monitor.setDesired({ cluster: 'prod', artifact_hash: H1, actor: 'alice', reason: 'r' });
}

afterEach(async () => {
  await server?.close();
  await monitor?.close();
  server = undefined;
  monitor = undefined;
});

describe('the Barbacane guide: protocol details', () => {
  it('a node that never reports a hash is not judged: awaiting_report, no drift alert', async () => {
    await start();
    const events: string[] = [];
    monitor!.onAny((e) => events.push((e as { type: string }).type));
    const c = await connect(transport.url);
    c.send(register());
    expect(await c.next()).toMatchObject({ type: 'registered' });
    c.send({ type: 'heartbeat', uptime_secs: 1, requests_total: 0 });
    expect(await c.next()).toEqual({ type: 'heartbeat_ack', drift_detected: false });
    expect(monitor!.node('gw-1')?.state).toBe('awaiting_report');
    expect(events.filter((t) => t.startsWith('drift.'))).toEqual([]);
  });

  it('a heartbeat without a hash keeps the last known hash', async () => {
    await start();
    const c = await connect(transport.url);
    c.send(register());
    await c.next();
    c.send({ type: 'heartbeat', artifact_hash: H2, uptime_secs: 1, requests_total: 0 });
    expect(await c.next()).toEqual({ type: 'heartbeat_ack', drift_detected: true });
    c.send({ type: 'heartbeat', uptime_secs: 2, requests_total: 0 });
    expect(await c.next()).toEqual({ type: 'heartbeat_ack', drift_detected: true });
    expect(monitor!.node('gw-1')).toMatchObject({ state: 'drift', reported_hash: H2 });
  });

  it('ignores unknown message types; an empty api_key is a wrong key (4401)', async () => {
    await start();
    const c = await connect(transport.url);
    c.send(register());
    await c.next();
    c.send({ type: 'something_new', x: 1 });
    c.send({ type: 'heartbeat', artifact_hash: H1, uptime_secs: 1, requests_total: 0 });
    expect(await c.next()).toEqual({ type: 'heartbeat_ack', drift_detected: false });
    const empty = await connect(transport.url);
    empty.send(register({ api_key: '', name: 'gw-2' }));
    expect(await empty.next()).toMatchObject({ type: 'registration_failed' });
    expect((await empty.closed).code).toBe(4401);
  });

  it('with default limits: a frame above 64 KiB closes 1009, one of 64 KiB is read', async () => {
    await start();
    const c = await connect(transport.url);
    c.send(register());
    await c.next();
    // A heartbeat padded to exactly 64 KiB is a frame like any other.
    const base = JSON.stringify({
      type: 'heartbeat',
      artifact_hash: H1,
      uptime_secs: 1,
      requests_total: 0,
      pad: '',
    });
    const pad = 'x'.repeat(64 * 1024 - base.length);
    c.send({ type: 'heartbeat', artifact_hash: H1, uptime_secs: 1, requests_total: 0, pad });
    expect(await c.next()).toEqual({ type: 'heartbeat_ack', drift_detected: false });
    c.send({
      type: 'heartbeat',
      artifact_hash: H1,
      uptime_secs: 1,
      requests_total: 0,
      pad: `${pad}x`,
    });
    expect((await c.closed).code).toBe(1009);
  });

  it('with default limits: a burst of 100 frames is served, a flood is closed with 4429', async () => {
    await start();
    const c = await connect(transport.url);
    c.send(register());
    await c.next();
    for (let i = 0; i < 99; i++) {
      c.send({ type: 'heartbeat', artifact_hash: H1, uptime_secs: i, requests_total: 0 });
    }
    for (let i = 0; i < 99; i++) expect(await c.next()).toMatchObject({ type: 'heartbeat_ack' });
    for (let i = 0; i < 100; i++) {
      c.send({ type: 'heartbeat', artifact_hash: H1, uptime_secs: i, requests_total: 0 });
    }
    expect((await c.closed).code).toBe(4429);
  });
});
