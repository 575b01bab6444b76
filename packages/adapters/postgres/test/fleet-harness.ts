/**
 * Shared helpers of the multi-replica tests: replicas (a PostgreSQL store and a monitor each, with
 * a collecting alert sink) over one fresh schema, and nodes that say hello and heartbeat.
 */
import { createMemoryAuditLogger, type AuditEvent } from '@plumbline/core/audit';
import type { DigestString } from '@plumbline/core/hash';
import {
  FleetMonitor,
  type AlertSink,
  type FleetEvent,
  type FleetMonitorOptions,
  type HeartbeatFrame,
  type HelloFrame,
  type SinkStats,
} from '@plumbline/core/drift';
import { PostgresFleetStore, type PostgresFleetStoreOptions } from '../src/index.js';
import { PG_URL, dropSchema, freshSchemaName } from './helpers.js';

export const A = `sha256:${'a'.repeat(64)}` as DigestString;
export const B = `sha256:${'b'.repeat(64)}` as DigestString;
export const C = `sha256:${'c'.repeat(64)}` as DigestString;

/** An alert sink that keeps what it is sent. */
export class CollectingSink implements AlertSink {
  readonly name = 'collect';
  readonly events: FleetEvent[] = [];
  send(event: FleetEvent): void {
    this.events.push(event);
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  stats(): SinkStats {
    const n = this.events.length;
    return { accepted: n, delivered: n, dropped: 0, failures: 0, queued: 0 };
  }
}

/** One control-plane replica. */
export interface Replica {
  readonly store: PostgresFleetStore;
  readonly monitor: FleetMonitor;
  /** Every event of the monitor. */
  readonly events: FleetEvent[];
  /** The monitor's alert sink: every alert this replica sends (the sweep's included). */
  readonly sink: CollectingSink;
  readonly seqs: Map<string, number>;
  /** The replica's audit trail, when the fleet was opened with `audit: true`. */
  readonly audit?: {
    readonly events: () => AuditEvent[];
    readonly flush: () => Promise<void>;
  };
}

/** What the test's `afterEach` runs (in reverse order). */
export type Cleanups = (() => Promise<void>)[];

/** Options of {@link openFleet}. */
export interface FleetSetup {
  readonly store?: Partial<PostgresFleetStoreOptions>;
  readonly monitor?: Partial<FleetMonitorOptions>;
  /** An existing schema (not dropped by this fleet). */
  readonly schema?: string;
  /** The first replica's index (for replica ids). */
  readonly first?: number;
  /** Give each replica's monitor its own in-memory audit logger. */
  readonly audit?: boolean;
}

/** Opens `count` replicas over one schema (a fresh one unless given). */
export async function openFleet(
  count: number,
  cleanups: Cleanups,
  setup: FleetSetup = {},
): Promise<{ schema: string; replicas: Replica[] }> {
  const schema = setup.schema ?? freshSchemaName();
  if (setup.schema === undefined) cleanups.push(() => dropSchema(schema));
  const replicas: Replica[] = [];
  for (let i = 0; i < count; i++) {
    const sink = new CollectingSink();
    const store = await PostgresFleetStore.open({
      connectionString: PG_URL,
      schema,
      replicaId: `replica-${(setup.first ?? 0) + i}`,
      applicationName: `plb-test-${schema}`,
      poolSize: 2,
      replicaHeartbeatMs: 100,
      replicaTimeoutMs: 500,
      sweepIntervalMs: 100,
      pollIntervalMs: 200,
      reconnectIntervalMs: 100,
      ...setup.store,
    });
    const audit = setup.audit === true ? createMemoryAuditLogger() : undefined;
    const monitor = await FleetMonitor.create({
      store,
      heartbeatIntervalMs: 60_000,
      persistIntervalMs: 50,
      flapDamping: false,
      sinks: [sink],
      ...(audit === undefined ? {} : { audit: audit.logger }),
      ...setup.monitor,
    });
    store.followSessions(monitor);
    const events: FleetEvent[] = [];
    monitor.onAny((e) => events.push(e));
    const replica: Replica = {
      store,
      monitor,
      events,
      sink,
      seqs: new Map<string, number>(),
      ...(audit === undefined
        ? {}
        : { audit: { events: () => audit.sink.events, flush: () => audit.logger.flush() } }),
    };
    replicas.push(replica);
    cleanups.push(async () => {
      await monitor.close();
      await store.close();
      await audit?.logger.close();
    });
  }
  return { schema, replicas };
}

/** The node says hello to the replica (session `s-<node>`). */
export function hello(
  replica: Replica,
  node: string,
  hash: DigestString | null,
  extra: Partial<HelloFrame> = {},
): void {
  const result = replica.monitor.connect(
    { node_id: node, cluster: 'prod', principal: `token:${node}` },
    {
      type: 'hello',
      protocol: 'plumbline.drift/v1',
      node_id: node,
      cluster: 'prod',
      instance_id: `inst-${node}`,
      artifact_hash: hash,
      provenance: { commit: 'c'.repeat(40), builder: { id: 'test', version: '1' } },
      loaded_at: '2026-01-01T00:00:00Z',
      ...extra,
    },
    `s-${node}`,
  );
  if (!result.ok) throw new Error(`hello refused: ${result.code}`);
}

/** One heartbeat of the node on the replica; returns its `seq`. */
export function heartbeat(
  replica: Replica,
  node: string,
  hash: DigestString | null,
  extra: Partial<HeartbeatFrame> = {},
): number {
  const seq = (replica.seqs.get(node) ?? 0) + 1;
  replica.seqs.set(node, seq);
  replica.monitor.heartbeat(node, `s-${node}`, {
    type: 'heartbeat',
    seq,
    artifact_hash: hash,
    ...extra,
  });
  return seq;
}

/** The node's session with the replica ends. */
export function bye(replica: Replica, node: string): void {
  replica.monitor.disconnect(node, `s-${node}`, 1000);
}

export const ofType = (events: readonly FleetEvent[], type: FleetEvent['type']): FleetEvent[] =>
  events.filter((e) => e.type === type);

/** Every alert of one type sent by any of the replicas. */
export const alerts = (replicas: readonly Replica[], type: FleetEvent['type']): FleetEvent[] =>
  replicas.flatMap((r) => ofType(r.sink.events, type));

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
