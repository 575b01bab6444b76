import type { DigestString } from '@plumbline/core/hash';
import {
  FleetMonitor,
  ManualClock,
  type FleetEvent,
  type FleetMonitorOptions,
  type HeartbeatFrame,
  type LoadError,
  type WorkerReport,
} from '@plumbline/core/drift';
import { T0, identity } from './helpers.js';

export interface Harness {
  readonly monitor: FleetMonitor;
  readonly clock: ManualClock;
  readonly events: FleetEvent[];
  /** Events of one type. */
  of<T extends FleetEvent['type']>(type: T): Extract<FleetEvent, { type: T }>[];
  /** Sends a hello for `node` (session `s-<node>` unless given). */
  hello(
    node: string,
    hash: DigestString | null,
    options?: {
      cluster?: string;
      session?: string;
      instance?: string;
      workers?: WorkerReport[];
      awaitingReport?: boolean;
    },
  ): void;
  /** Sends the next heartbeat (seq auto-increments per node). */
  beat(
    node: string,
    hash: DigestString | null,
    options?: {
      error?: LoadError | null;
      workers?: WorkerReport[];
      seq?: number;
      session?: string;
    },
  ): boolean;
  drop(node: string, code?: number, session?: string): void;
  state(node: string): string | undefined;
}

export async function harness(options: Omit<FleetMonitorOptions, 'clock'> = {}): Promise<Harness> {
  const clock = new ManualClock(T0);
  let id = 0;
  const monitor = await FleetMonitor.create({
    heartbeatIntervalMs: 1000,
    flapDamping: false,
    newEventId: () => `ev-${++id}`,
    ...options,
    clock,
  });
  const events: FleetEvent[] = [];
  monitor.onAny((e) => events.push(e));
  const seqs = new Map<string, number>();
  const clusters = new Map<string, string>();
  return {
    monitor,
    clock,
    events,
    of: (type) => events.filter((e) => e.type === type) as never,
    hello(node, hash, o = {}) {
      const cluster = o.cluster ?? clusters.get(node) ?? 'prod';
      clusters.set(node, cluster);
      const result = monitor.connect(
        identity(node, cluster),
        {
          type: 'hello',
          protocol: 'plumbline.drift/v1',
          node_id: node,
          cluster,
          instance_id: o.instance ?? `inst-${node}`,
          artifact_hash: hash,
          provenance: { commit: 'c'.repeat(40), builder: { id: 'test', version: '1' } },
          loaded_at: '2026-01-01T00:00:00Z',
          ...(o.workers === undefined ? {} : { workers: o.workers }),
        },
        o.session ?? `s-${node}`,
        o.awaitingReport === undefined ? undefined : { awaitingReport: o.awaitingReport },
      );
      if (!result.ok) throw new Error(`hello refused: ${result.code}`);
    },
    beat(node, hash, o = {}) {
      const seq = o.seq ?? (seqs.get(node) ?? 0) + 1;
      seqs.set(node, Math.max(seq, seqs.get(node) ?? 0));
      const frame: HeartbeatFrame = {
        type: 'heartbeat',
        seq,
        artifact_hash: hash,
        ...(o.workers === undefined ? {} : { workers: o.workers }),
        ...(o.error === undefined ? {} : { last_load_error: o.error }),
      };
      return monitor.heartbeat(node, o.session ?? `s-${node}`, frame);
    },
    drop(node, code = 1006, session) {
      monitor.disconnect(node, session ?? `s-${node}`, code);
    },
    state: (node) => monitor.node(node)?.state,
  };
}
