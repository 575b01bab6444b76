/**
 * One control-plane replica of the fleet simulation (`npm run bench:fleet -- --simulate`), in its
 * own process, without sockets: a `FleetMonitor` on a `PostgresFleetStore` (or its own in-memory
 * store) and this replica's share of the simulated nodes as in-process reporters. Each node says
 * hello through `monitor.connect` and then sends a heartbeat per interval, with a random phase:
 * the frame's text goes through core's `parseDataPlaneFrame` and `monitor.heartbeat`, as a
 * transport would hand it over. Commands and reports over IPC.
 *
 * argv: one JSON `SimConfig`.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  FleetMonitor,
  MemoryFleetStore,
  parseDataPlaneFrame,
  type AlertSink,
  type FleetStore,
  type HeartbeatFrame,
} from '@plumbline/core/drift';
import { H1, H2, monoMs } from './protocol.js';
import { countPgStatements } from './pg-count.js';

export interface SimConfig {
  replica: number;
  replicas: number;
  /** Nodes in the whole fleet; this replica holds node i when i % replicas === replica. */
  nodes: number;
  intervalMs: number;
  store: 'postgres' | 'memory';
  schema: string;
}

export type SimCommand =
  | { cmd: 'connect' }
  | { cmd: 'reset' }
  | { cmd: 'drift'; count: number }
  | { cmd: 'report' }
  | { cmd: 'stop' };

export interface SimReport {
  heartbeats: number;
  /** CPU time of the process since the reset, µs. */
  cpuUs: number;
  elapsed: number;
  /** Nodes this replica's monitor knows (its own and the other replicas'). */
  known: number;
  rss: number;
  heapUsed: number;
  loopDelayP99: number;
  loopDelayMax: number;
  /** This replica's drifted nodes and the send of each one's first drifted heartbeat (monoMs). */
  sends: [string, number][];
  /** Other replicas' nodes this monitor showed `drift`, with the time (monoMs). */
  remoteDrifted: [string, number][];
  /** `drift.detected` alerts this replica announced. */
  alerts: number;
  pg: { statements: number; reads: number; writes: number; other: number; rows: number };
  store?: { rows: number; upserts: number; delivered: number; buffered: number; dropped: number };
}

const config = JSON.parse(process.argv[2] ?? '{}') as SimConfig;
const PG_URL = process.env['PLUMBLINE_BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const send = (m: unknown): void => void process.send?.(m);
const pgCount = countPgStatements();
let pgAtReset = { ...pgCount };
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

let alerts = 0;
const sink: AlertSink = {
  name: 'bench',
  send(event) {
    if (event.type === 'drift.detected') alerts++;
  },
  flush: async () => {},
  close: async () => {},
  stats: () => ({ accepted: 0, delivered: 0, dropped: 0, failures: 0, queued: 0 }),
};

let store: FleetStore;
let stats: () => SimReport['store'] = () => undefined;
if (config.store === 'postgres') {
  const { PostgresFleetStore } = await import('@plumbline/postgres');
  const pgStore = await PostgresFleetStore.open({
    connectionString: PG_URL,
    schema: config.schema,
    migrate: config.replica === 0,
    replicaId: `sim-replica-${config.replica}`,
    // Room for a whole share while PostgreSQL catches up with the ramp-up.
    maxBufferedNodes: Math.max(100_000, Math.ceil(config.nodes / config.replicas) + 1000),
  });
  store = pgStore;
  stats = () => {
    const s = pgStore.stats();
    return {
      rows: s.observedRows,
      upserts: s.observedStatements,
      delivered: s.observedDelivered,
      buffered: s.buffered,
      dropped: s.dropped,
    };
  };
} else {
  store = new MemoryFleetStore();
}
const monitor = await FleetMonitor.create({
  heartbeatIntervalMs: config.intervalMs,
  sinks: [sink],
  flapDamping: false,
  maxNodes: config.nodes + 1000,
  store,
});
if (config.replica === 0 || config.store === 'memory') {
  for (let c = 0; c < 10; c++) {
    await monitor.setDesired({
      cluster: `c${c}`,
      artifact_hash: H1,
      actor: 'bench',
      reason: 'bench',
    });
  }
} else {
  while (monitor.desired('c9') === undefined) await new Promise((r) => setTimeout(r, 20));
}

interface SimNode {
  id: string;
  session: string;
  seq: number;
  hash: string;
  driftSent?: number;
}
const nodes: SimNode[] = [];
for (let i = config.replica; i < config.nodes; i += config.replicas) {
  nodes.push({ id: `node-${i}`, session: `s-${i}`, seq: 0, hash: H1 });
}
const local = new Set(nodes.map((n) => n.id));
let remoteDrifted: [string, number][] = [];
monitor.on('node.state_changed', (event) => {
  if (event.state === 'drift' && !local.has(event.node_id)) {
    remoteDrifted.push([event.node_id, monoMs()]);
  }
});

let heartbeats = 0;
function beat(node: SimNode): void {
  node.seq++;
  if (node.hash !== H1 && node.driftSent === undefined) node.driftSent = monoMs();
  const parsed = parseDataPlaneFrame(
    `{"type":"heartbeat","seq":${node.seq},"artifact_hash":"${node.hash}","loaded_at":"2026-01-01T00:00:00Z"}`,
  );
  if (parsed.kind === 'frame')
    monitor.heartbeat(node.id, node.session, parsed.frame as HeartbeatFrame);
  heartbeats++;
}

let resetAt = performance.now();
let cpuAt = process.cpuUsage();
let ticker: NodeJS.Timeout | undefined;
const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));

function startHeartbeats(): void {
  // Each node at its own phase of the interval; the ticker walks the nodes in phase order, so a
  // tick touches only the nodes that are due (not every node, 50 times a second).
  const start = performance.now();
  const phase = new Map(nodes.map((n) => [n, Math.random() * config.intervalMs]));
  const order = [...nodes].sort((a, b) => phase.get(a)! - phase.get(b)!);
  const phases = order.map((n) => phase.get(n)!);
  let cursor = 0;
  let cycle = 0;
  ticker = setInterval(() => {
    const elapsed = performance.now() - start;
    while (cycle * config.intervalMs + (phases[cursor] ?? Infinity) <= elapsed) {
      beat(order[cursor]!);
      if (++cursor === order.length) {
        cursor = 0;
        cycle++;
      }
    }
  }, 20);
}

process.on('message', async (m: SimCommand) => {
  if (m.cmd === 'connect') {
    // Hellos in slices, yielding between them (the change feed keeps flowing meanwhile); then
    // every node heartbeats (its first within one interval, well before it would go stale).
    const t0 = performance.now();
    for (let k = 0; k < nodes.length; k++) {
      const n = nodes[k]!;
      const i = Number(n.id.slice(5));
      monitor.connect(
        { node_id: n.id, cluster: `c${i % 10}`, principal: `token:${n.id}` },
        {
          type: 'hello',
          protocol: 'plumbline.drift/v1',
          node_id: n.id,
          cluster: `c${i % 10}`,
          instance_id: `sim-${i}`,
          artifact_hash: H1,
          // The same load time its heartbeats report (a real node's hello and heartbeats agree).
          loaded_at: '2026-01-01T00:00:00Z',
        },
        n.session,
      );
      if (k % 2000 === 1999) await yieldNow();
    }
    startHeartbeats();
    send({ event: 'connected', ms: performance.now() - t0 });
  } else if (m.cmd === 'reset') {
    heartbeats = 0;
    alerts = 0;
    remoteDrifted = [];
    loop.reset();
    resetAt = performance.now();
    cpuAt = process.cpuUsage();
    pgAtReset = { ...pgCount };
    send({ event: 'reset' });
  } else if (m.cmd === 'drift') {
    for (let k = 0; k < m.count; k++) nodes[Math.floor(Math.random() * nodes.length)]!.hash = H2;
    send({ event: 'drifting' });
  } else if (m.cmd === 'report') {
    const cpu = process.cpuUsage(cpuAt);
    const mem = process.memoryUsage();
    const storeNow = stats();
    const sends: [string, number][] = [];
    for (const n of nodes) if (n.driftSent !== undefined) sends.push([n.id, n.driftSent]);
    const report: SimReport = {
      heartbeats,
      cpuUs: cpu.user + cpu.system,
      elapsed: (performance.now() - resetAt) / 1000,
      known: monitor.summary().reduce((n, c) => n + c.total, 0),
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      loopDelayP99: loop.percentile(99) / 1e6,
      loopDelayMax: loop.max / 1e6,
      sends,
      remoteDrifted,
      alerts,
      pg: {
        statements: pgCount.statements - pgAtReset.statements,
        reads: pgCount.reads - pgAtReset.reads,
        writes: pgCount.writes - pgAtReset.writes,
        other: pgCount.other - pgAtReset.other,
        rows: pgCount.rows - pgAtReset.rows,
      },
      ...(storeNow === undefined ? {} : { store: storeNow }),
    };
    send({ event: 'report', report });
  } else if (m.cmd === 'stop') {
    if (ticker) clearInterval(ticker);
    await monitor.close();
    await store.close();
    process.exit(0);
  }
});
send({ event: 'ready' });
