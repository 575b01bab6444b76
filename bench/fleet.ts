/**
 * `npm run bench:fleet`: fleet load test, measured as the operator and the alert receiver see it.
 * Control-plane processes hold many data-plane WebSocket connections opened by simulated nodes in
 * separate processes, each sending a heartbeat every interval; alerts go through a real
 * `WebhookSink` to a loopback HTTP receiver in its own process. Halfway through the steady phase
 * 1% of the nodes start reporting another artifact (drift).
 *
 * - End to end: from the drifting heartbeat's send in the client process to the webhook's arrival
 *   at the receiver (both on the machine-wide monotonic clock, see `monoMs`), p50/p99/max, and
 *   webhook alerts per drift counted at the receiver.
 * - In the control-plane process: heartbeat handling (frame delivery to the end of the monitor's
 *   update), drift-to-alert from the frame's delivery to the alert sink, CPU per heartbeat,
 *   event-loop delay (p99 and max) and RSS. The connection ramp-up rate is measured by the nodes.
 * - Baseline, same run: a bare `ws` server that only parses JSON and POSTs the first heartbeat with
 *   another hash to the same receiver (same clients, same receiver).
 *
 * Default: one control plane on a `FileFleetStore` (as `plumbline control-plane` runs without
 * `--store postgres`), FLEET_NODES (12,000) @ 1/5 s, then FLEET_FAST_NODES (10,000; 0 skips it)
 * @ 1/s.
 *
 * `--store postgres`: FLEET_REPLICAS (3) replicas on one PostgreSQL fleet store (a fresh schema,
 * dropped afterwards), FLEET_STORE_NODES (30,000) nodes in total (node i on replica i % 3) at one
 * heartbeat per 5 s; besides the figures above, cross-replica visibility (a drift on a node of
 * one replica until each other replica's monitor shows it `drifted`, in-process, and until its
 * `GET /v1/fleet/events` stream, read by the receiver process, does), PostgreSQL statements per
 * second and rows per statement (every statement of the replicas, counted on the client), next
 * to the same run with each replica on its own in-memory store and the bare baseline.
 *
 * Options (env): FLEET_INTERVAL_MS (5000), FLEET_CLIENTS (client processes, default 6),
 * FLEET_STEADY_S (steady-state seconds, default 3 intervals, at least 10), FLEET_PROFILE_DIR
 * (write a CPU profile of each control-plane process there), FLEET_BARE=0 (skip the bare
 * baseline of the `--store postgres` run), FLEET_STORE=memory (single replica on the in-memory
 * store instead of the file store), PLUMBLINE_BENCH_PG_URL.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { markdownTable, report } from './lib/report.js';
import type {
  ClientCommand,
  ClientEvent,
  ServerCommand,
  ServerConfig,
  ServerReport,
} from './fleet/protocol.js';
import type { ReceiverCommand, ReceiverReport } from './fleet/receiver.js';
import type { SimCommand, SimConfig, SimReport } from './fleet/sim-replica.js';

const here = dirname(fileURLToPath(import.meta.url));
const execArgv = ['--conditions=@plumbline/source', '--import', 'tsx'];
const env = process.env;
const NODES = Number(env['FLEET_NODES'] ?? 12_000);
const INTERVAL = Number(env['FLEET_INTERVAL_MS'] ?? 5000);
const FAST_NODES = Number(env['FLEET_FAST_NODES'] ?? 10_000);
const CLIENTS = Number(env['FLEET_CLIENTS'] ?? 6);

function next<T>(child: ChildProcess, match: (m: T) => boolean, timeoutMs = 600_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('timed out waiting for a child process')),
      timeoutMs,
    );
    const exited = (code: number | null): void => {
      if (code !== 0) reject(new Error(`child exited with ${code}`));
    };
    const on = (m: T): void => {
      if (!match(m)) return;
      clearTimeout(timer);
      child.off('message', on);
      child.off('exit', exited);
      resolve(m);
    };
    child.on('message', on);
    child.once('exit', exited);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const loadAverage = (): string =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ');

interface Receiver {
  url: string;
  ask(m: ReceiverCommand): Promise<ReceiverReport | undefined>;
  stop(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const child = fork(join(here, 'fleet/receiver.ts'), [], { execArgv, stdio: 'inherit' });
  child.on('message', (m: { event: string; message?: string }) => {
    if (m.event === 'error') console.log(`  receiver: ${m.message}`);
  });
  const { url } = await next<{ event: string; url: string }>(child, (m) => m.event === 'listening');
  const answer: Record<ReceiverCommand['cmd'], string> = {
    reset: 'reset',
    report: 'report',
    watch: 'watching',
    stop: '',
  };
  return {
    url,
    async ask(m) {
      child.send(m);
      const reply = await next<{ event: string; report?: ReceiverReport }>(
        child,
        (x) => x.event === answer[m.cmd],
      );
      return reply.report;
    },
    stop: () =>
      new Promise((r) => {
        child.once('exit', () => r());
        child.send({ cmd: 'stop' } satisfies ReceiverCommand);
      }),
  };
}

/** Latencies in ms: how many, p50, p99, max, and how many expected ones never came. */
interface Latency {
  n: number;
  p50: number;
  p99: number;
  max: number;
  missing: number;
}

function latency(values: number[], expected: number): Latency {
  const v = [...values].sort((x, y) => x - y);
  const at = (p: number): number =>
    v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)] ?? 0;
  return {
    n: v.length,
    p50: at(50),
    p99: at(99),
    max: v.at(-1) ?? 0,
    missing: expected - v.length,
  };
}

interface FleetRun {
  connected: number;
  rampRate: number;
  reports: ServerReport[];
  saturation?: { framesPerSecond: number; cpuPerFrameUs: number };
  /** Nodes that sent a drifted heartbeat in the measured window. */
  drifted: number;
  /** Drifting heartbeat's send to the webhook's arrival at the receiver. */
  e2e: Latency;
  /** `drift.detected` POSTs received, and their distinct event ids. */
  webhookAlerts: number;
  distinctIds: number;
  /** Drifting heartbeat's send until each other replica's monitor shows the node drifted. */
  visibility?: Latency;
  /** The same, until each other replica's `GET /v1/fleet/events` stream says so. */
  stream?: Latency;
  elapsed: number;
}

interface RunOptions {
  mode: 'ours' | 'bare';
  store: ServerConfig['store'];
  replicas: number;
  nodes: number;
  intervalMs: number;
  schema?: string;
  saturate: boolean;
  sse: boolean;
}

async function runFleet(o: RunOptions): Promise<FleetRun> {
  const profile = env['FLEET_PROFILE_DIR'];
  const receiver = await startReceiver();
  const servers: ChildProcess[] = [];
  const urls: string[] = [];
  const streams: string[] = [];
  // Replica 0 first: it migrates the schema and sets the desired state the others read.
  for (let r = 0; r < o.replicas; r++) {
    const config: ServerConfig = {
      mode: o.mode,
      nodes: o.nodes,
      heartbeatMs: o.intervalMs,
      store: o.store,
      replica: r,
      webhookUrl: receiver.url,
      sse: o.sse && o.mode === 'ours',
      ...(o.schema === undefined ? {} : { schema: o.schema }),
    };
    const server = fork(join(here, 'fleet/server.ts'), [JSON.stringify(config)], {
      execArgv: profile ? [...execArgv, '--cpu-prof', `--cpu-prof-dir=${profile}`] : execArgv,
      stdio: 'inherit',
    });
    servers.push(server);
    const m = await next<{ event: string; url: string; stream?: string }>(
      server,
      (x) => x.event === 'listening',
    );
    urls.push(m.url);
    if (m.stream !== undefined) streams.push(m.stream);
  }
  if (streams.length > 0) await receiver.ask({ cmd: 'watch', streams, token: 'bench' });
  const clients = Array.from({ length: CLIENTS }, () =>
    fork(join(here, 'fleet/clients.ts'), [], { execArgv, stdio: 'inherit' }),
  );
  await Promise.all(clients.map((c) => next<{ event: string }>(c, (m) => m.event === 'ready')));
  const ask = (c: ChildProcess, m: ClientCommand): void => void c.send(m);
  const askAll = async (m: ServerCommand): Promise<ServerReport[]> =>
    await Promise.all(
      servers.map(async (server) => {
        server.send(m);
        if (m.cmd === 'reset') {
          await next<{ event: string }>(server, (x) => x.event === 'reset');
          return undefined as unknown as ServerReport;
        }
        return (
          await next<{ event: string; report: ServerReport }>(server, (x) => x.event === 'report')
        ).report;
      }),
    );

  // Ramp-up: every client process opens its share (hello, welcome) with bounded concurrency.
  const share = Math.ceil(o.nodes / CLIENTS);
  const t0 = performance.now();
  const connected = await Promise.all(
    clients.map((c, k) => {
      const first = k * share;
      const count = Math.max(0, Math.min(share, o.nodes - first));
      ask(c, {
        cmd: 'connect',
        url: urls[0]!,
        urls,
        first,
        count,
        concurrency: 64,
        intervalMs: o.intervalMs,
      });
      return next<ClientEvent>(c, (m) => m.event === 'connected');
    }),
  );
  const rampMs = performance.now() - t0;
  const ok = connected.reduce((n, e) => n + (e.event === 'connected' ? e.ok : 0), 0);
  console.log(
    `  ${o.mode}/${o.store}: ${ok}/${o.nodes} nodes connected to ${o.replicas} replica(s) in ${(rampMs / 1000).toFixed(1)} s (load ${loadAverage()})`,
  );

  // Steady state (every node heartbeats from its welcome on): after one more interval, the
  // measured window; halfway through it, 1% of the nodes drift.
  await sleep(o.intervalMs + 500);
  await askAll({ cmd: 'reset' });
  await receiver.ask({ cmd: 'reset' });
  const steadyMs = Math.max(10_000, Number(env['FLEET_STEADY_S'] ?? 0) * 1000 || 3 * o.intervalMs);
  await sleep(steadyMs / 2);
  for (const c of clients)
    ask(c, { cmd: 'drift', count: Math.max(1, Math.round(o.nodes / 100 / CLIENTS)) });
  // Every drifted node sends its next heartbeat within one interval; then time to deliver.
  await sleep(Math.max(steadyMs / 2, o.intervalMs + 2000));
  const reports = await askAll({ cmd: 'report' });
  const got = (await receiver.ask({ cmd: 'report' }))!;
  const sends = new Map<string, number>();
  for (const c of clients) {
    c.send({ cmd: 'drifts' } satisfies ClientCommand);
    const m = await next<ClientEvent>(c, (x) => x.event === 'drifts');
    if (m.event === 'drifts') for (const [id, at] of m.sends) sends.set(id, at);
  }
  const firstArrival = new Map<string, number>();
  for (const [id, , at] of got.drifts) if (!firstArrival.has(id)) firstArrival.set(id, at);
  const e2e: number[] = [];
  for (const [id, at] of firstArrival) {
    const sent = sends.get(id);
    if (sent !== undefined) e2e.push(at - sent);
  }
  const owner = (id: string): number => Number(id.slice('node-'.length)) % o.replicas;
  const across = (seen: [string, number][][]): number[] => {
    const out: number[] = [];
    seen.forEach((list, r) => {
      const first = new Map<string, number>();
      for (const [id, at] of list) if (!first.has(id)) first.set(id, at);
      for (const [id, at] of first) {
        const sent = sends.get(id);
        if (sent !== undefined && owner(id) !== r) out.push(at - sent);
      }
    });
    return out;
  };
  const others = sends.size * (o.replicas - 1);

  let saturation: FleetRun['saturation'];
  if (o.saturate) {
    // Saturation: a subset of nodes sends heartbeats as fast as the sockets take them.
    await askAll({ cmd: 'reset' });
    await Promise.all(
      clients.map((c) => {
        ask(c, { cmd: 'saturate', nodes: Math.min(1000, share), durationMs: 5000 });
        return next<ClientEvent>(c, (m) => m.event === 'saturated');
      }),
    );
    await sleep(200);
    const [sat] = await askAll({ cmd: 'report' });
    saturation = { framesPerSecond: sat!.frames / sat!.elapsed, cpuPerFrameUs: sat!.cpuPerFrameUs };
  }

  for (const c of clients) ask(c, { cmd: 'stop' });
  for (const server of servers) server.send({ cmd: 'stop' } satisfies ServerCommand);
  await Promise.all(
    [...clients, ...servers].map(
      (c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r))),
    ),
  );
  await receiver.stop();
  return {
    connected: ok,
    rampRate: ok / (rampMs / 1000),
    reports,
    ...(saturation === undefined ? {} : { saturation }),
    drifted: sends.size,
    e2e: latency(e2e, sends.size),
    webhookAlerts: got.drifts.length,
    distinctIds: new Set(got.drifts.map(([, id]) => id)).size,
    ...(o.replicas > 1 && o.mode === 'ours'
      ? {
          visibility: latency(across(reports.map((x) => x.remoteDrifted)), others),
          ...(o.sse ? { stream: latency(across(got.streams), others) } : {}),
        }
      : {}),
    elapsed: Math.max(...reports.map((x) => x.elapsed)),
  };
}

const worst = (r: FleetRun, f: (x: ServerReport) => number): number =>
  Math.max(...r.reports.map(f));
const sum = (r: FleetRun, f: (x: ServerReport) => number): number =>
  r.reports.reduce((n, x) => n + f(x), 0);
const framesPerSecond = (r: FleetRun): number => sum(r, (x) => x.frames) / r.elapsed;
const e2eName = (r: FleetRun): string =>
  `${r.e2e.n} of ${r.drifted} drifts, ${r.e2e.missing} without an alert`;

/** The figures every run reports (single replica or several). */
function common(
  label: string,
  ours: FleetRun,
  base: FleetRun,
  baseName: string,
  nodes: number,
): void {
  for (const [name, r] of [
    ['ours', ours],
    [baseName, base],
  ] as const) {
    const w = r.reports.map((x) => x.webhook);
    console.log(
      `  ${label}, ${name}: webhook accepted/delivered/dropped/failures per replica: ${w.map((x) => `${x.accepted}/${x.delivered}/${x.dropped}/${x.failures}`).join(', ')}`,
    );
  }
  report({
    name: `${label}: connections held`,
    value: ours.connected,
    unit: 'conns',
    higherIsBetter: true,
    baseline: { name: baseName, value: base.connected },
    target: `= ${nodes}`,
    met: ours.connected === nodes,
  });
  report({
    name: `${label}: ramp-up (hello + welcome)`,
    value: ours.rampRate,
    unit: 'conns/s',
    higherIsBetter: true,
    baseline: { name: baseName, value: base.rampRate },
  });
  report({
    name: `${label}: heartbeats handled`,
    value: framesPerSecond(ours),
    unit: 'frames/s',
    higherIsBetter: true,
    baseline: { name: baseName, value: framesPerSecond(base) },
    target: '>= 80% of baseline',
    met: framesPerSecond(ours) >= 0.8 * framesPerSecond(base),
  });
  for (const [p, pick] of [
    ['p50', (l: Latency) => l.p50],
    ['p99', (l: Latency) => l.p99],
    ['max', (l: Latency) => l.max],
  ] as const) {
    report({
      name: `${label}: end to end, drifting heartbeat sent -> webhook received, ${p} (${e2eName(ours)}; baseline ${e2eName(base)})`,
      value: pick(ours.e2e),
      unit: 'ms',
      higherIsBetter: false,
      baseline: { name: baseName, value: pick(base.e2e) },
      ...(p === 'p99'
        ? {
            target: '<= 100 ms',
            met: ours.e2e.n > 0 && ours.e2e.missing === 0 && ours.e2e.p99 <= 100,
          }
        : {}),
    });
  }
  report({
    name: `${label}: webhook alerts per drift (${ours.webhookAlerts} POSTs, ${ours.distinctIds} event ids, ${ours.drifted} drifted nodes)`,
    value: ours.drifted ? ours.webhookAlerts / ours.drifted : 0,
    unit: 'alerts',
    higherIsBetter: false,
    baseline: { name: baseName, value: base.drifted ? base.webhookAlerts / base.drifted : 0 },
    target: '= 1.000',
    met: ours.webhookAlerts === ours.drifted && ours.distinctIds === ours.drifted,
  });
  report({
    name: `${label}: heartbeat handling p99 in the process (worst replica)`,
    value: worst(ours, (x) => x.handleP99),
    unit: 'ms',
    higherIsBetter: false,
    baseline: { name: `${baseName} JSON.parse`, value: worst(base, (x) => x.handleP99) },
    target: '< 5 ms',
    met: worst(ours, (x) => x.handleP99) < 5,
  });
  report({
    name: `${label}: drift-to-alert p99 in the process, frame delivered -> alert sink (${sum(ours, (x) => x.alerts)} alerts, worst replica)`,
    value: worst(ours, (x) => x.alertP99),
    unit: 'ms',
    higherIsBetter: false,
    target: '< 100 ms',
    met: sum(ours, (x) => x.alerts) > 0 && worst(ours, (x) => x.alertP99) < 100,
  });
  report({
    name: `${label}: event-loop delay p99 (worst replica)`,
    value: worst(ours, (x) => x.loopDelayP99),
    unit: 'ms',
    higherIsBetter: false,
    baseline: { name: baseName, value: worst(base, (x) => x.loopDelayP99) },
  });
  report({
    name: `${label}: event-loop delay max (worst replica)`,
    value: worst(ours, (x) => x.loopDelayMax),
    unit: 'ms',
    higherIsBetter: false,
    baseline: { name: baseName, value: worst(base, (x) => x.loopDelayMax) },
  });
  report({
    name: `${label}: control-plane CPU per heartbeat (mean of replicas)`,
    value: sum(ours, (x) => x.cpuPerFrameUs) / ours.reports.length,
    unit: 'µs',
    higherIsBetter: false,
    baseline: { name: baseName, value: sum(base, (x) => x.cpuPerFrameUs) / base.reports.length },
  });
  report({
    name: `${label}: control-plane RSS (largest replica)`,
    value: worst(ours, (x) => x.rss) / 2 ** 20,
    unit: 'MiB',
    higherIsBetter: false,
    baseline: { name: baseName, value: worst(base, (x) => x.rss) / 2 ** 20 },
    target: '< 512 MiB',
    met: worst(ours, (x) => x.rss) < 512 * 2 ** 20,
  });
}

async function scenario(nodes: number, intervalMs: number): Promise<void> {
  const kind = env['FLEET_STORE'] === 'memory' ? 'memory' : 'file';
  const label = `${nodes} nodes @ 1/${intervalMs / 1000}s, one replica, ${kind} store`;
  console.log(`\n# fleet: ${label} (load ${loadAverage()})`);
  const dir = mkdtempSync(join(tmpdir(), 'plb-fleet-'));
  let ours: FleetRun;
  try {
    ours = await runFleet({
      mode: 'ours',
      store: kind,
      replicas: 1,
      nodes,
      intervalMs,
      schema: dir,
      saturate: true,
      sse: false,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const bare = await runFleet({
    mode: 'bare',
    store: 'default',
    replicas: 1,
    nodes,
    intervalMs,
    saturate: true,
    sse: false,
  });
  common(label, ours, bare, 'bare ws', nodes);
  const sat = ours.saturation!;
  const bareSat = bare.saturation!;
  report({
    name: `${label}: saturation throughput`,
    value: sat.framesPerSecond,
    unit: 'frames/s',
    higherIsBetter: true,
    baseline: { name: 'bare ws', value: bareSat.framesPerSecond },
    target: '>= 80% of baseline',
    met: sat.framesPerSecond >= 0.8 * bareSat.framesPerSecond,
  });
  report({
    name: `${label}: capacity per core (1 / CPU per frame, saturated)`,
    value: 1e6 / sat.cpuPerFrameUs,
    unit: 'frames/s',
    higherIsBetter: true,
    baseline: { name: 'bare ws', value: 1e6 / bareSat.cpuPerFrameUs },
  });
  console.log(`  (load average at the end: ${loadAverage()})`);
}

// ------------------------------------------------------------------ --store postgres

async function storeScenario(): Promise<void> {
  const nodes = Number(env['FLEET_STORE_NODES'] ?? 30_000);
  const replicas = Number(env['FLEET_REPLICAS'] ?? 3);
  const intervalMs = Number(env['FLEET_INTERVAL_MS'] ?? 5000);
  const url = env['PLUMBLINE_BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
  const label = `${replicas} replicas, ${nodes} nodes @ 1/${intervalMs / 1000}s`;
  console.log(`\n# fleet --store postgres: ${label} (load ${loadAverage()})`);
  const schema = `plbbench_fleet_${randomBytes(4).toString('hex')}`;
  const base = { replicas, nodes, intervalMs, saturate: false, sse: true } as const;
  let pgRun: FleetRun;
  try {
    pgRun = await runFleet({ ...base, mode: 'ours', store: 'postgres', schema });
  } finally {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
  const mem = await runFleet({ ...base, mode: 'ours', store: 'memory' });
  const bare =
    env['FLEET_BARE'] === '0'
      ? undefined
      : await runFleet({ ...base, mode: 'bare', store: 'default' });
  common(`${label}, PostgreSQL`, pgRun, mem, 'in-memory stores', nodes);
  if (bare) {
    report({
      name: `${label}, PostgreSQL: end to end p99, against the bare baseline (${e2eName(bare)})`,
      value: pgRun.e2e.p99,
      unit: 'ms',
      higherIsBetter: false,
      baseline: { name: 'bare ws + POST, 3 processes', value: bare.e2e.p99 },
    });
    report({
      name: `${label}, in-memory stores: end to end p99, against the bare baseline`,
      value: mem.e2e.p99,
      unit: 'ms',
      higherIsBetter: false,
      baseline: { name: 'bare ws + POST, 3 processes', value: bare.e2e.p99 },
    });
  }
  const vis = pgRun.visibility!;
  const interval = intervalMs;
  report({
    name: `${label}, PostgreSQL: drift-to-alert p99, heartbeat sent -> webhook received`,
    value: pgRun.e2e.p99,
    unit: 'ms',
    higherIsBetter: false,
    baseline: { name: 'in-memory stores', value: mem.e2e.p99 },
    target: `<= one interval + 100 ms (${interval + 100} ms)`,
    met: pgRun.e2e.missing === 0 && pgRun.e2e.p99 <= interval + 100,
  });
  for (const [name, l] of [
    ["in-process, other replicas' monitors", vis],
    ['GET /v1/fleet/events of the other replicas', pgRun.stream!],
  ] as const) {
    report({
      name: `${label}: cross-replica visibility of a drift, heartbeat sent -> ${name}, p99 (${l.n} of ${l.n + l.missing} node x replica pairs; p50 ${l.p50.toFixed(0)} ms, max ${l.max.toFixed(0)} ms)`,
      value: l.p99,
      unit: 'ms',
      higherIsBetter: false,
      baseline: { name: "the owning replica's webhook alert (e2e p99)", value: pgRun.e2e.p99 },
      target: '< 1000 ms',
      met: l.missing === 0 && l.p99 < 1000,
    });
  }
  const pgSum = (f: (p: NonNullable<ServerReport['pg']>) => number): number =>
    sum(pgRun, (x) => (x.pg ? f(x.pg) : 0));
  const elapsed = pgRun.elapsed;
  report({
    name: `${label}: PostgreSQL statements/s, steady state with the drift, all replicas (${(pgSum((p) => p.reads) / elapsed).toFixed(1)} reads, ${(pgSum((p) => p.writes) / elapsed).toFixed(1)} writes, ${(pgSum((p) => p.other) / elapsed).toFixed(1)} other)`,
    value: pgSum((p) => p.statements) / elapsed,
    unit: 'stmt/s',
    higherIsBetter: false,
    baseline: { name: 'one statement per heartbeat', value: framesPerSecond(pgRun) },
  });
  report({
    name: `${label}: PostgreSQL rows per statement (rows read or written / statements)`,
    value:
      pgSum((p) => p.rows) /
      Math.max(
        1,
        pgSum((p) => p.statements),
      ),
    unit: 'rows/stmt',
    higherIsBetter: true,
    baseline: { name: 'single-row upserts', value: 1 },
  });
  const st = (f: (s: NonNullable<ServerReport['store']>) => number): number =>
    sum(pgRun, (x) => (x.store ? f(x.store) : 0));
  report({
    name: `${label}: observed-state rows written/s, steady state (all replicas; ${(st((s) => s.statements) / elapsed).toFixed(2)} upserts/s)`,
    value: st((s) => s.rows) / elapsed,
    unit: 'rows/s',
    higherIsBetter: false,
    baseline: { name: 'heartbeats', value: framesPerSecond(pgRun) },
  });
  report({
    name: `${label}: last_seen-only rows written/s, steady state (all replicas; ${(st((s) => s.seenStatements) / elapsed).toFixed(2)} statements/s)`,
    value: st((s) => s.seenRows) / elapsed,
    unit: 'rows/s',
    higherIsBetter: false,
    baseline: { name: 'heartbeats', value: framesPerSecond(pgRun) },
  });
  report({
    name: `${label}: batching ratio, whole run incl. ramp-up (rows per upsert)`,
    value:
      st((s) => s.totalRows) /
      Math.max(
        1,
        st((s) => s.totalStatements),
      ),
    unit: 'rows/stmt',
    higherIsBetter: true,
    baseline: { name: 'single-row upserts', value: 1 },
  });
  report({
    name: `${label}: observed updates buffered or dropped at the end`,
    value: st((s) => s.buffered + s.dropped),
    unit: 'updates',
    higherIsBetter: false,
    target: '= 0',
    met: st((s) => s.buffered + s.dropped) === 0,
  });
  console.log(`  (load average at the end: ${loadAverage()})`);
}

// ------------------------------------------------------------------ --simulate

interface SimRun {
  reports: SimReport[];
  /** Seconds until every replica showed every node (after the hellos). */
  convergedS: number;
  elapsed: number;
  visibility: Latency;
  drifted: number;
}

async function runSimulation(
  store: SimConfig['store'],
  nodes: number,
  replicas: number,
  intervalMs: number,
  schema: string,
): Promise<SimRun> {
  const heap = Math.max(2048, Math.ceil((nodes * 6) / 1000));
  const children: ChildProcess[] = [];
  for (let r = 0; r < replicas; r++) {
    const config: SimConfig = { replica: r, replicas, nodes, intervalMs, store, schema };
    const child = fork(join(here, 'fleet/sim-replica.ts'), [JSON.stringify(config)], {
      execArgv: [
        ...execArgv,
        `--max-old-space-size=${heap}`,
        ...(env['FLEET_PROFILE_DIR'] && store === 'postgres'
          ? ['--cpu-prof', `--cpu-prof-dir=${env['FLEET_PROFILE_DIR']}`]
          : []),
      ],
      stdio: 'inherit',
    });
    children.push(child);
    await next<{ event: string }>(child, (m) => m.event === 'ready');
  }
  const all = async <T>(m: SimCommand, event: string): Promise<T[]> =>
    await Promise.all(
      children.map(async (c) => {
        c.send(m);
        return (await next<{ event: string; report?: T }>(c, (x) => x.event === event)).report as T;
      }),
    );
  const t0 = performance.now();
  await all({ cmd: 'connect' }, 'connected');
  const hellosS = (performance.now() - t0) / 1000;
  // Every replica shows every node (its own and, through the store, the others').
  const target = store === 'postgres' ? nodes : Math.ceil(nodes / replicas) - 1;
  const limitS = Number(env['SIM_CONVERGE_S'] ?? 900);
  for (let k = 0; ; k++) {
    const reports = await all<SimReport>({ cmd: 'report' }, 'report');
    if (reports.every((x) => x.known >= target)) break;
    const waited = (performance.now() - t0) / 1000;
    if (k % 15 === 14 || waited > limitS) {
      console.log(
        `  ${store}: after ${waited.toFixed(0)} s the replicas show ${reports.map((x) => x.known).join(' / ')} of ${target} nodes (load ${loadAverage()})`,
      );
    }
    if (waited > limitS) throw new Error(`the replicas did not converge within ${limitS} s`);
    await sleep(2000);
  }
  const convergedS = (performance.now() - t0) / 1000;
  console.log(
    `  ${store}: ${nodes} hellos in ${hellosS.toFixed(1)} s; every replica shows every node after ${convergedS.toFixed(1)} s (load ${loadAverage()})`,
  );
  // Every node heartbeats from its hello on; one more interval before the window.
  await sleep(intervalMs);
  await all({ cmd: 'reset' }, 'reset');
  const steadyMs = Number(env['SIM_STEADY_S'] ?? 0) * 1000 || 2 * intervalMs;
  await sleep(steadyMs / 2);
  const drifts = Number(env['SIM_DRIFTS'] ?? Math.max(replicas, Math.round(nodes / 1000)));
  await all({ cmd: 'drift', count: Math.ceil(drifts / replicas) }, 'drifting');
  await sleep(Math.max(steadyMs / 2, intervalMs + 3000));
  const reports = await all<SimReport>({ cmd: 'report' }, 'report');
  for (const c of children) c.send({ cmd: 'stop' } satisfies SimCommand);
  await Promise.all(
    children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
  );
  const sends = new Map<string, number>();
  for (const x of reports) for (const [id, at] of x.sends) sends.set(id, at);
  const seen: number[] = [];
  reports.forEach((x) => {
    const first = new Map<string, number>();
    for (const [id, at] of x.remoteDrifted) if (!first.has(id)) first.set(id, at);
    for (const [id, at] of first) {
      const sent = sends.get(id);
      if (sent !== undefined) seen.push(at - sent);
    }
  });
  return {
    reports,
    convergedS,
    elapsed: Math.max(...reports.map((x) => x.elapsed)),
    visibility: latency(seen, store === 'postgres' ? sends.size * (replicas - 1) : 0),
    drifted: sends.size,
  };
}

async function simulate(): Promise<void> {
  const nodes = Number(env['SIM_NODES'] ?? 1_000_000);
  const replicas = Number(env['SIM_REPLICAS'] ?? 4);
  const intervalMs = Number(env['SIM_INTERVAL_MS'] ?? 30_000);
  const url = env['PLUMBLINE_BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
  const label = `simulation, ${nodes} nodes over ${replicas} replicas @ 1/${intervalMs / 1000}s, no sockets`;
  console.log(`\n# fleet --simulate: ${label} (load ${loadAverage()})`);
  const schema = `plbbench_sim_${randomBytes(4).toString('hex')}`;
  let ours: SimRun;
  try {
    ours = await runSimulation('postgres', nodes, replicas, intervalMs, schema);
  } finally {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
  const mem = await runSimulation('memory', nodes, replicas, intervalMs, schema);
  const total = (r: SimRun, f: (x: SimReport) => number): number =>
    r.reports.reduce((n, x) => n + f(x), 0);
  const beats = (r: SimRun): number => total(r, (x) => x.heartbeats);
  const baseName = 'same run, each replica on its own in-memory store';
  report({
    name: `${label}: heartbeats handled`,
    value: beats(ours) / ours.elapsed,
    unit: 'heartbeats/s',
    higherIsBetter: true,
    baseline: { name: baseName, value: beats(mem) / mem.elapsed },
    target: `${(nodes / (intervalMs / 1000)).toFixed(0)} offered`,
    met: beats(ours) / ours.elapsed >= 0.95 * (nodes / (intervalMs / 1000)),
  });
  report({
    name: `${label}: CPU per heartbeat, all replica processes (parse, monitor, store, feed of the other replicas' changes)`,
    value: total(ours, (x) => x.cpuUs) / Math.max(1, beats(ours)),
    unit: 'µs',
    higherIsBetter: false,
    baseline: { name: baseName, value: total(mem, (x) => x.cpuUs) / Math.max(1, beats(mem)) },
  });
  report({
    name: `${label}: cores busy, all replicas`,
    value: total(ours, (x) => x.cpuUs) / 1e6 / ours.elapsed,
    unit: 'cores',
    higherIsBetter: false,
    baseline: { name: baseName, value: total(mem, (x) => x.cpuUs) / 1e6 / mem.elapsed },
  });
  const v = ours.visibility;
  report({
    name: `${label}: cross-replica visibility of a drift, heartbeat -> other replicas' monitors, p99 (${v.n} of ${v.n + v.missing} node x replica pairs; p50 ${v.p50.toFixed(0)} ms, max ${v.max.toFixed(0)} ms)`,
    value: v.p99,
    unit: 'ms',
    higherIsBetter: false,
    target: '< 1000 ms',
    met: v.missing === 0 && v.p99 < 1000,
  });
  report({
    name: `${label}: drift alerts per drift, all replicas (${total(ours, (x) => x.alerts)} alerts, ${ours.drifted} drifted nodes)`,
    value: total(ours, (x) => x.alerts) / Math.max(1, ours.drifted),
    unit: 'alerts',
    higherIsBetter: false,
    baseline: { name: baseName, value: total(mem, (x) => x.alerts) / Math.max(1, mem.drifted) },
    target: '= 1.000',
    met: total(ours, (x) => x.alerts) === ours.drifted,
  });
  const pgT = (f: (p: SimReport['pg']) => number): number => total(ours, (x) => f(x.pg));
  report({
    name: `${label}: PostgreSQL statements/s, steady state with the drift (${(pgT((p) => p.reads) / ours.elapsed).toFixed(1)} reads, ${(pgT((p) => p.writes) / ours.elapsed).toFixed(1)} writes, ${(pgT((p) => p.other) / ours.elapsed).toFixed(1)} other)`,
    value: pgT((p) => p.statements) / ours.elapsed,
    unit: 'stmt/s',
    higherIsBetter: false,
    baseline: { name: 'one statement per heartbeat', value: beats(ours) / ours.elapsed },
  });
  report({
    name: `${label}: PostgreSQL rows per statement (read or written)`,
    value:
      pgT((p) => p.rows) /
      Math.max(
        1,
        pgT((p) => p.statements),
      ),
    unit: 'rows/stmt',
    higherIsBetter: true,
    baseline: { name: 'single-row upserts', value: 1 },
  });
  report({
    name: `${label}: every replica shows every node, after the hellos`,
    value: ours.convergedS,
    unit: 's',
    higherIsBetter: false,
    baseline: { name: baseName + ' (own nodes only)', value: mem.convergedS },
  });
  report({
    name: `${label}: RSS, largest replica (each shows all ${nodes} nodes)`,
    value: Math.max(...ours.reports.map((x) => x.rss)) / 2 ** 20,
    unit: 'MiB',
    higherIsBetter: false,
    baseline: {
      name: baseName + ` (${Math.ceil(nodes / replicas)} nodes)`,
      value: Math.max(...mem.reports.map((x) => x.rss)) / 2 ** 20,
    },
  });
  report({
    name: `${label}: event-loop delay max, worst replica`,
    value: Math.max(...ours.reports.map((x) => x.loopDelayMax)),
    unit: 'ms',
    higherIsBetter: false,
    baseline: { name: baseName, value: Math.max(...mem.reports.map((x) => x.loopDelayMax)) },
  });
  console.log(`  (load average at the end: ${loadAverage()})`);
}

console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; simulated nodes in ${CLIENTS} processes; load average ${loadAverage()}`,
);
const storeFlag = process.argv.indexOf('--store');
const store = storeFlag >= 0 ? process.argv[storeFlag + 1] : undefined;
if (store !== undefined && store !== 'postgres') {
  throw new Error(`--store ${store}: only --store postgres is supported`);
}
if (process.argv.includes('--simulate')) {
  await simulate();
} else if (store === 'postgres') {
  await storeScenario();
} else {
  if (NODES > 0) await scenario(NODES, INTERVAL);
  if (FAST_NODES > 0) await scenario(FAST_NODES, 1000);
}
console.log(`\n${markdownTable()}`);
