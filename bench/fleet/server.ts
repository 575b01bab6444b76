/**
 * The control-plane side of the fleet bench, in its own process: either our stack
 * (`createWsTransport` + core's `serveDrift` + `FleetMonitor`, token authentication, a real
 * `WebhookSink`) or a bare `ws` server that only parses JSON and POSTs a drift alert itself (the
 * baseline). Reports timings over IPC.
 *
 * argv: one JSON `ServerConfig`. With store `postgres`, the monitor runs on a
 * `PostgresFleetStore` in `schema` (one of several replicas; replica 0 sets the desired state, the
 * others receive it through the change feed); with `memory`, on its own `MemoryFleetStore`; with
 * `file`, on a `FileFleetStore` in the directory `schema` (fsync on, as the control plane runs it).
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { createHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { WebSocketServer } from 'ws';
import {
  FleetMonitor,
  MemoryFleetStore,
  WebhookSink,
  serveDrift,
  type FleetStore,
  type AlertSink,
  type DriftTransport,
  type FleetEvent,
} from '@plumbline/core/drift';
import { createTokenAuthenticator, createWsTransport } from '@plumbline/ws';
import {
  H1,
  monoMs,
  tokenOf,
  type ServerCommand,
  type ServerConfig,
  type ServerReport,
} from './protocol.js';
import { countPgStatements } from './pg-count.js';

const config = JSON.parse(process.argv[2] ?? '{}') as ServerConfig;
const mode = config.mode;
const nodes = config.nodes;
const heartbeatMs = config.heartbeatMs;
const storeKind = config.store;
const schema = config.schema ?? 'plumbline';
const replica = config.replica ?? 0;
const PG_URL = process.env['PLUMBLINE_BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

const pgCount = countPgStatements();
let pgAtReset = { ...pgCount };

const handle = createHistogram();
const alert = createHistogram();
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
let frames = 0;
let alerts = 0;
let resetAt = performance.now();
let cpuAt = process.cpuUsage();
const arrival = new Map<string, number>();
const send = (m: unknown): void => void process.send?.(m);
const record = (h: ReturnType<typeof createHistogram>, ms: number): void =>
  h.record(Math.max(1, Math.round(ms * 1000)));

let sessions = (): number => 0;
let stop: () => Promise<void>;
let storeStats:
  | (() => {
      observedUpdates: number;
      observedRows: number;
      observedStatements: number;
      seenRows: number;
      seenStatements: number;
      buffered: number;
      dropped: number;
    })
  | null = null;
let storeAtReset = {
  observedUpdates: 0,
  observedRows: 0,
  observedStatements: 0,
  seenRows: 0,
  seenStatements: 0,
};
/** Nodes of other replicas this monitor showed drifted since the reset, with the time. */
let remoteDrifted: [string, number][] = [];
const bareHook = { accepted: 0, delivered: 0, dropped: 0, failures: 0 };
let webhookStats = (): ServerReport['webhook'] => bareHook;

if (mode === 'bare') {
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    maxPayload: 64 * 1024,
    perMessageDeflate: false,
  });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const welcome = JSON.stringify({
    type: 'welcome',
    protocol: 'plumbline.drift/v1',
    heartbeat_interval_ms: heartbeatMs,
    server_time: new Date().toISOString(),
  });
  let open = 0;
  const hook = config.webhookUrl;
  // The baseline's alert path: the first heartbeat with another hash POSTs one JSON alert.
  const post = (body: string): void => {
    if (hook === undefined) return;
    bareHook.accepted++;
    fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      .then(async (res) => {
        await res.arrayBuffer();
        if (res.ok) bareHook.delivered++;
        else bareHook.failures++;
      })
      .catch(() => bareHook.failures++);
  };
  wss.on('connection', (ws) => {
    open++;
    let nodeId = '';
    let alerted = false;
    ws.on('close', () => open--);
    ws.on('message', (data) => {
      const t0 = performance.now();
      const frame = JSON.parse(data.toString()) as {
        type?: string;
        node_id?: string;
        artifact_hash?: string;
      };
      if (frame.type === 'hello') {
        nodeId = frame.node_id ?? '';
        ws.send(welcome);
      } else if (frame.artifact_hash !== H1 && !alerted) {
        alerted = true;
        post(JSON.stringify({ type: 'drift.detected', id: `${nodeId}-1`, node_id: nodeId }));
      }
      frames++;
      record(handle, performance.now() - t0);
    });
  });
  sessions = () => open;
  stop = () => new Promise<void>((r) => wss.close(() => r()));
  const { port } = wss.address() as { port: number };
  send({ event: 'listening', url: `ws://127.0.0.1:${port}/ws/data-plane` });
} else {
  const tokens: Record<string, { cluster: string; token_sha256: string }> = {};
  for (let i = 0; i < nodes; i++) {
    tokens[`node-${i}`] = {
      cluster: `c${i % 10}`,
      token_sha256: createHash('sha256').update(tokenOf(i)).digest('hex'),
    };
  }
  const sink: AlertSink = {
    name: 'bench',
    send(event: FleetEvent) {
      if (event.type !== 'drift.detected') return;
      const t = arrival.get(event.node_id);
      if (t !== undefined) {
        alerts++;
        record(alert, performance.now() - t);
      }
    },
    flush: async () => {},
    close: async () => {},
    stats: () => ({ accepted: 0, delivered: 0, dropped: 0, failures: 0, queued: 0 }),
  };
  const sinks: AlertSink[] = [sink];
  if (config.webhookUrl !== undefined) {
    const webhook = new WebhookSink({ url: config.webhookUrl, secret: 'bench-webhook-secret' });
    sinks.push(webhook);
    webhookStats = () => webhook.stats();
  }
  let store: FleetStore | undefined;
  let follow: ((m: FleetMonitor) => void) | undefined;
  if (storeKind === 'postgres') {
    const { PostgresFleetStore } = await import('@plumbline/postgres');
    const pgStore = await PostgresFleetStore.open({
      connectionString: PG_URL,
      schema,
      migrate: replica === 0,
      replicaId: `bench-replica-${replica}`,
    });
    store = pgStore;
    storeStats = () => pgStore.stats();
    follow = (m) => void pgStore.followSessions(m);
  } else if (storeKind === 'memory') {
    store = new MemoryFleetStore();
  } else if (storeKind === 'file') {
    const { FileFleetStore } = await import('@plumbline/core/node');
    store = await FileFleetStore.open({ path: join(schema, `fleet-${replica}.json`) });
  }
  const monitor = await FleetMonitor.create({
    heartbeatIntervalMs: heartbeatMs,
    sinks,
    maxNodes: Math.max(250_000, nodes + 1000),
    flapDamping: false,
    ...(store === undefined ? {} : { store }),
  });
  follow?.(monitor);
  monitor.on('node.state_changed', (event) => {
    if (event.state === 'drift' && !arrival.has(event.node_id)) {
      remoteDrifted.push([event.node_id, monoMs()]);
    }
  });
  if (storeKind !== 'postgres' || replica === 0) {
    for (let c = 0; c < 10; c++) {
      await monitor.setDesired({
        cluster: `c${c}`,
        artifact_hash: H1,
        actor: 'bench',
        reason: 'bench',
      });
    }
  } else {
    // The other replicas get the desired state through the change feed.
    while (monitor.desired('c9') === undefined) await new Promise((r) => setTimeout(r, 20));
  }
  const ws = createWsTransport({
    port: 0,
    auth: createTokenAuthenticator({ nodes: tokens }),
    limits: {
      maxConnections: 20_000,
      maxPendingUpgrades: 4096,
      messagesPerSecond: 1000,
      messageBurst: 1000,
      helloTimeoutMs: 60_000,
      handshakeTimeoutMs: 60_000,
    },
  });
  // Times each frame from its arrival to the end of its handling (parse, checks, monitor update).
  const timed: DriftTransport = {
    start: (h) =>
      ws.start({
        ...h,
        onMessage(session, text) {
          const t0 = performance.now();
          arrival.set(session.identity.node_id, t0);
          h.onMessage(session, text);
          frames++;
          record(handle, performance.now() - t0);
        },
      }),
    close: () => ws.close(),
  };
  const server = serveDrift({ transport: timed, monitor, helloTimeoutMs: 60_000 });
  await server.start();
  sessions = () => server.sessions;
  let closeStream = async (): Promise<void> => {};
  let streamUrl: string | undefined;
  if (config.sse === true) {
    // The dashboard's event stream, as the control plane serves it at GET /v1/fleet/events.
    const { createFleetEventStream } = await import('../../packages/cli/src/dashboard/events.js');
    const stream = createFleetEventStream({ monitor, maxQueuedBytes: 256 * 1024 * 1024 });
    const http = createServer((req, res) => stream.handle(req, res));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    streamUrl = `http://127.0.0.1:${(http.address() as { port: number }).port}/v1/fleet/events`;
    closeStream = async () => {
      await stream.close();
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    };
  }
  stop = async () => {
    await closeStream();
    await server.close();
    await monitor.close();
    await store?.close();
  };
  send({ event: 'listening', url: ws.url, stream: streamUrl });
}

process.on('message', (m: ServerCommand) => {
  if (m.cmd === 'reset') {
    handle.reset();
    alert.reset();
    loop.reset();
    frames = 0;
    alerts = 0;
    remoteDrifted = [];
    pgAtReset = { ...pgCount };
    resetAt = performance.now();
    cpuAt = process.cpuUsage();
    if (storeStats) storeAtReset = storeStats();
    send({ event: 'reset' });
  } else if (m.cmd === 'report') {
    const cpu = process.cpuUsage(cpuAt);
    const report: ServerReport = {
      mode,
      frames,
      handleP50: handle.count ? handle.percentile(50) / 1000 : 0,
      handleP99: handle.count ? handle.percentile(99) / 1000 : 0,
      alerts,
      alertP50: alert.count ? alert.percentile(50) / 1000 : 0,
      alertP99: alert.count ? alert.percentile(99) / 1000 : 0,
      cpuPerFrameUs: frames ? (cpu.user + cpu.system) / frames : 0,
      loopDelayP99: loop.percentile(99) / 1e6,
      loopDelayMax: loop.max / 1e6,
      remoteDrifted,
      webhook: webhookStats(),
      rss: process.memoryUsage().rss,
      sessions: sessions(),
      elapsed: (performance.now() - resetAt) / 1000,
    };
    if (pgCount.statements > 0) {
      report.pg = {
        statements: pgCount.statements - pgAtReset.statements,
        reads: pgCount.reads - pgAtReset.reads,
        writes: pgCount.writes - pgAtReset.writes,
        other: pgCount.other - pgAtReset.other,
        rows: pgCount.rows - pgAtReset.rows,
      };
    }
    if (storeStats) {
      const now = storeStats();
      report.store = {
        updates: now.observedUpdates - storeAtReset.observedUpdates,
        rows: now.observedRows - storeAtReset.observedRows,
        statements: now.observedStatements - storeAtReset.observedStatements,
        totalUpdates: now.observedUpdates,
        totalRows: now.observedRows,
        totalStatements: now.observedStatements,
        seenRows: now.seenRows - storeAtReset.seenRows,
        seenStatements: now.seenStatements - storeAtReset.seenStatements,
        buffered: now.buffered,
        dropped: now.dropped,
      };
    }
    send({ event: 'report', report });
  } else if (m.cmd === 'stop') {
    void stop().then(() => process.exit(0));
  }
});
