import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DigestString } from '@plumbline/core/hash';
import {
  FleetMonitor,
  type AlertSink,
  type FleetEvent,
  type SinkStats,
} from '@plumbline/core/drift';
import { createPrivatePostgres, type PrivatePostgres } from '@plumbline/testkit/postgres';
import { PostgresFleetStore } from '../src/index.js';
import { waitUntil } from './helpers.js';

const A = `sha256:${'a'.repeat(64)}` as DigestString;
const B = `sha256:${'b'.repeat(64)}` as DigestString;

function collector(): AlertSink & { events: FleetEvent[] } {
  const events: FleetEvent[] = [];
  return {
    name: 'collect',
    events,
    send: (event) => {
      events.push(event);
    },
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
    stats: (): SinkStats => ({
      accepted: events.length,
      delivered: events.length,
      dropped: 0,
      failures: 0,
      queued: 0,
    }),
  };
}

describe('PostgreSQL restarted under two replicas (a private server)', () => {
  let pg: PrivatePostgres;
  beforeAll(async () => {
    pg = await createPrivatePostgres();
  }, 60_000);
  afterAll(async () => {
    await pg?.destroy();
  });

  it('loses no alert, doubles none, and both replicas converge', async () => {
    const replicas: {
      store: PostgresFleetStore;
      monitor: FleetMonitor;
      sink: ReturnType<typeof collector>;
    }[] = [];
    for (let i = 0; i < 2; i++) {
      const store = await PostgresFleetStore.open({
        connectionString: pg.url,
        replicaId: `r${i}`,
        poolSize: 2,
        sweep: false,
        pollIntervalMs: 200,
        reconnectIntervalMs: 100,
      });
      const sink = collector();
      const monitor = await FleetMonitor.create({
        store,
        persistIntervalMs: 50,
        heartbeatIntervalMs: 60_000,
        flapDamping: false,
        sinks: [sink],
      });
      replicas.push({ store, monitor, sink });
    }
    const [r0, r1] = replicas as [(typeof replicas)[number], (typeof replicas)[number]];
    try {
      await r0.monitor.setDesired({ cluster: 'prod', artifact_hash: A, actor: 'a', reason: 'r' });
      const identity = { node_id: 'gw', cluster: 'prod', principal: 'token:gw' };
      r0.monitor.connect(
        identity,
        {
          type: 'hello',
          protocol: 'plumbline.drift/v1',
          node_id: 'gw',
          cluster: 'prod',
          instance_id: 'i1',
          artifact_hash: A,
        },
        's1',
      );
      await waitUntil(() => r1.monitor.node('gw')?.state === 'in_sync', 'gw in sync on r1');

      await pg.stop();
      // While PostgreSQL is away the node drifts: its replica alerts it from memory.
      r0.monitor.heartbeat('gw', 's1', { type: 'heartbeat', seq: 1, artifact_hash: B });
      expect(r0.monitor.node('gw')?.state).toBe('drift');
      await waitUntil(() => !r0.store.stats().connected, 'r0 noticing the outage');
      await pg.start();

      await waitUntil(
        () => replicas.every((r) => r.store.stats().connected),
        'both replicas reconnected',
        30_000,
      );
      await waitUntil(
        () => r1.monitor.node('gw')?.state === 'drift',
        'r1 showing the drift',
        30_000,
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      const drifts = replicas.flatMap((r) =>
        r.sink.events.filter((e) => e.type === 'drift.detected'),
      );
      expect(drifts).toHaveLength(1);
      expect(r0.store.stats().dropped).toBe(0);
      expect(r1.monitor.node('gw')).toMatchObject({ reported_hash: B, desired_hash: A });
    } finally {
      for (const r of replicas) {
        await r.monitor.close();
        await r.store.close();
      }
    }
  }, 90_000);
});
