/**
 * `npm run bench:fleet`: fleet load test. One control-plane process holds many data-plane
 * WebSocket connections opened by simulated nodes in separate processes, each sending a heartbeat
 * every interval. Measured in the control-plane process: heartbeat handling time (arrival to the
 * monitor's update), drift-to-alert latency (arrival of the drifting heartbeat to the alert sink),
 * CPU per heartbeat, event-loop delay and RSS; the connection ramp-up rate is measured by the
 * nodes. The same run against a bare `ws` server that only parses JSON is the baseline.
 *
 * `npm run bench:fleet -- --store postgres`: three control-plane replicas on one PostgreSQL fleet
 * store (a fresh schema, dropped afterwards), 30,000 simulated nodes in total (node i on replica
 * i % 3) at one heartbeat per 5 s; heartbeat handling p99 and drift-to-alert p99 (worst replica),
 * observed-state upsert statements and rows per second and the batching ratio, next to the same
 * run with each replica on its own in-memory store. Env: FLEET_STORE_NODES (30000),
 * FLEET_REPLICAS (3), PLUMBLINE_BENCH_PG_URL.
 *
 * Options (env): FLEET_NODES (default 15000), FLEET_INTERVAL_MS (5000), FLEET_FAST_NODES (10000,
 * the 1 heartbeat/s run; 0 skips it), FLEET_CLIENTS (client processes, default 6), FLEET_STEADY_S
 * (steady-state seconds, default 3 intervals, at least 10), FLEET_PROFILE_DIR (write a CPU profile of
 * each control-plane process there).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { markdownTable, report } from './lib/report.js';
import type { ClientCommand, ClientEvent, ServerCommand, ServerReport } from './fleet/protocol.js';

const here = dirname(fileURLToPath(import.meta.url));
const execArgv = ['--conditions=@plumbline/source', '--import', 'tsx'];
const env = process.env;
const NODES = Number(env['FLEET_NODES'] ?? 15_000);
const INTERVAL = Number(env['FLEET_INTERVAL_MS'] ?? 5000);
const FAST_NODES = Number(env['FLEET_FAST_NODES'] ?? 10_000);
const CLIENTS = Number(env['FLEET_CLIENTS'] ?? 6);

function next<T>(child: ChildProcess, match: (m: T) => boolean, timeoutMs = 600_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('timed out waiting for a child process')),
      timeoutMs,
    );
    const on = (m: T): void => {
      if (!match(m)) return;
      clearTimeout(timer);
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
    child.once('exit', (code) => code !== 0 && reject(new Error(`child exited with ${code}`)));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface RunResult {
  rampRate: number;
  connected: number;
  steady: ServerReport;
  saturation: { framesPerSecond: number; report: ServerReport };
}

async function runOnce(
  mode: 'ours' | 'bare',
  nodes: number,
  intervalMs: number,
): Promise<RunResult> {
  const profile = env['FLEET_PROFILE_DIR'];
  const server = fork(join(here, 'fleet/server.ts'), [mode, String(nodes), String(intervalMs)], {
    execArgv: profile ? [...execArgv, '--cpu-prof', `--cpu-prof-dir=${profile}`] : execArgv,
    stdio: 'inherit',
  });
  const { url } = await next<{ event: string; url: string }>(
    server,
    (m) => m.event === 'listening',
  );
  const clients = Array.from({ length: CLIENTS }, () =>
    fork(join(here, 'fleet/clients.ts'), [], { execArgv, stdio: 'inherit' }),
  );
  await Promise.all(clients.map((c) => next<{ event: string }>(c, (m) => m.event === 'ready')));
  const ask = (c: ChildProcess, m: ClientCommand): void => void c.send(m);
  const serverAsk = async (m: ServerCommand): Promise<ServerReport> => {
    server.send(m);
    if (m.cmd !== 'report') {
      await next<{ event: string }>(server, (x) => x.event === 'reset');
      return undefined as unknown as ServerReport;
    }
    return (
      await next<{ event: string; report: ServerReport }>(server, (x) => x.event === 'report')
    ).report;
  };

  // Ramp-up: every client process opens its share (hello, welcome) with bounded concurrency.
  const share = Math.ceil(nodes / CLIENTS);
  const t0 = performance.now();
  const connected = await Promise.all(
    clients.map((c, k) => {
      const first = k * share;
      const count = Math.max(0, Math.min(share, nodes - first));
      ask(c, { cmd: 'connect', url, first, count, concurrency: 64 });
      return next<ClientEvent>(c, (m) => m.event === 'connected');
    }),
  );
  const rampMs = performance.now() - t0;
  const ok = connected.reduce((n, e) => n + (e.event === 'connected' ? e.ok : 0), 0);
  console.log(`  ${mode}: ${ok}/${nodes} nodes connected in ${(rampMs / 1000).toFixed(1)} s`);

  // Steady state: heartbeats at the interval; halfway, 1% of the nodes drift.
  for (const c of clients) ask(c, { cmd: 'heartbeats', intervalMs });
  await sleep(intervalMs + 500);
  await serverAsk({ cmd: 'reset' });
  const steadyMs = Math.max(10_000, Number(env['FLEET_STEADY_S'] ?? 0) * 1000 || 3 * intervalMs);
  await sleep(steadyMs / 2);
  for (const c of clients)
    ask(c, { cmd: 'drift', count: Math.max(1, Math.round(nodes / 100 / CLIENTS)) });
  await sleep(steadyMs / 2);
  const steady = await serverAsk({ cmd: 'report' });

  // Saturation: a subset of nodes sends heartbeats as fast as the sockets take them.
  await serverAsk({ cmd: 'reset' });
  const durationMs = 5000;
  await Promise.all(
    clients.map((c) => {
      ask(c, { cmd: 'saturate', nodes: Math.min(1000, share), durationMs });
      return next<ClientEvent>(c, (m) => m.event === 'saturated');
    }),
  );
  await sleep(200);
  const sat = await serverAsk({ cmd: 'report' });

  for (const c of clients) ask(c, { cmd: 'stop' });
  server.send({ cmd: 'stop' } satisfies ServerCommand);
  await Promise.all(
    [...clients, server].map(
      (c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r))),
    ),
  );
  return {
    rampRate: ok / (rampMs / 1000),
    connected: ok,
    steady,
    saturation: { framesPerSecond: sat.frames / sat.elapsed, report: sat },
  };
}

async function scenario(nodes: number, intervalMs: number): Promise<void> {
  const label = `${nodes} nodes @ 1/${intervalMs / 1000}s`;
  console.log(`\n# fleet: ${label}`);
  const ours = await runOnce('ours', nodes, intervalMs);
  const bare = await runOnce('bare', nodes, intervalMs);
  const s = ours.steady;
  const b = bare.steady;
  report({
    name: `${label}: connections held`,
    value: ours.connected,
    unit: 'conns',
    higherIsBetter: true,
    baseline: { name: 'bare ws', value: bare.connected },
    target: `= ${nodes}`,
    met: ours.connected === nodes,
  });
  report({
    name: `${label}: ramp-up`,
    value: ours.rampRate,
    unit: 'conns/s',
    higherIsBetter: true,
    baseline: { name: 'bare ws', value: bare.rampRate },
  });
  report({
    name: `${label}: heartbeats handled`,
    value: s.frames / s.elapsed,
    unit: 'frames/s',
    higherIsBetter: true,
    baseline: { name: 'bare ws', value: b.frames / b.elapsed },
    target: '>= 80% of baseline',
    met: s.frames / s.elapsed >= 0.8 * (b.frames / b.elapsed),
  });
  report({
    name: `${label}: heartbeat handling p99`,
    value: s.handleP99,
    unit: 'ms',
    higherIsBetter: false,
    baseline: { name: 'bare ws JSON.parse', value: b.handleP99 },
    target: '< 5 ms',
    met: s.handleP99 < 5,
  });
  report({
    name: `${label}: drift-to-alert p99 (${s.alerts} alerts)`,
    value: s.alertP99,
    unit: 'ms',
    higherIsBetter: false,
    target: '< 100 ms',
    met: s.alerts > 0 && s.alertP99 < 100,
  });
  report({
    name: `${label}: event-loop delay p99`,
    value: s.loopDelayP99,
    unit: 'ms',
    higherIsBetter: false,
    baseline: { name: 'bare ws', value: b.loopDelayP99 },
  });
  report({
    name: `${label}: control-plane RSS`,
    value: s.rss / 2 ** 20,
    unit: 'MiB',
    higherIsBetter: false,
    baseline: { name: 'bare ws', value: b.rss / 2 ** 20 },
    target: '< 512 MiB',
    met: s.rss < 512 * 2 ** 20,
  });
  report({
    name: `${label}: server CPU per heartbeat`,
    value: s.cpuPerFrameUs,
    unit: 'µs',
    higherIsBetter: false,
    baseline: { name: 'bare ws', value: b.cpuPerFrameUs },
  });
  const capacity = 1e6 / ours.saturation.report.cpuPerFrameUs;
  const bareCapacity = 1e6 / bare.saturation.report.cpuPerFrameUs;
  report({
    name: `${label}: saturation throughput`,
    value: ours.saturation.framesPerSecond,
    unit: 'frames/s',
    higherIsBetter: true,
    baseline: { name: 'bare ws', value: bare.saturation.framesPerSecond },
    target: '>= 80% of baseline',
    met: ours.saturation.framesPerSecond >= 0.8 * bare.saturation.framesPerSecond,
  });
  report({
    name: `${label}: capacity per core (1 / CPU per frame, saturated)`,
    value: capacity,
    unit: 'frames/s',
    higherIsBetter: true,
    baseline: { name: 'bare ws', value: bareCapacity },
  });
}

// ------------------------------------------------------------------ --store postgres

interface ReplicaRunResult {
  connected: number;
  rampRate: number;
  reports: ServerReport[];
}

async function runReplicas(
  store: 'postgres' | 'memory',
  schema: string,
  replicas: number,
  nodes: number,
  intervalMs: number,
): Promise<ReplicaRunResult> {
  const servers: ChildProcess[] = [];
  const urls: string[] = [];
  // Replica 0 first: it sets the desired state the others read from the feed.
  for (let r = 0; r < replicas; r++) {
    const server = fork(
      join(here, 'fleet/server.ts'),
      ['ours', String(nodes), String(intervalMs), store, schema, String(r)],
      { execArgv, stdio: 'inherit' },
    );
    servers.push(server);
    const { url } = await next<{ event: string; url: string }>(
      server,
      (m) => m.event === 'listening',
    );
    urls.push(url);
  }
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

  const share = Math.ceil(nodes / CLIENTS);
  const t0 = performance.now();
  const connected = await Promise.all(
    clients.map((c, k) => {
      const first = k * share;
      const count = Math.max(0, Math.min(share, nodes - first));
      ask(c, { cmd: 'connect', url: urls[0]!, urls, first, count, concurrency: 64 });
      return next<ClientEvent>(c, (m) => m.event === 'connected');
    }),
  );
  const rampMs = performance.now() - t0;
  const ok = connected.reduce((n, e) => n + (e.event === 'connected' ? e.ok : 0), 0);
  console.log(
    `  ${store}: ${ok}/${nodes} nodes connected to ${replicas} replicas in ${(rampMs / 1000).toFixed(1)} s`,
  );

  for (const c of clients) ask(c, { cmd: 'heartbeats', intervalMs });
  // Two intervals: the first heartbeats after a long ramp-up (nodes that went stale meanwhile)
  // change observed state once; the steady state starts after their writes.
  await sleep(2 * intervalMs + 500);
  await askAll({ cmd: 'reset' });
  const steadyMs = Math.max(10_000, Number(env['FLEET_STEADY_S'] ?? 0) * 1000 || 3 * intervalMs);
  await sleep(steadyMs / 2);
  for (const c of clients)
    ask(c, { cmd: 'drift', count: Math.max(1, Math.round(nodes / 100 / CLIENTS)) });
  await sleep(steadyMs / 2);
  const reports = await askAll({ cmd: 'report' });

  for (const c of clients) ask(c, { cmd: 'stop' });
  for (const server of servers) server.send({ cmd: 'stop' } satisfies ServerCommand);
  await Promise.all(
    [...clients, ...servers].map(
      (c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r))),
    ),
  );
  return { connected: ok, rampRate: ok / (rampMs / 1000), reports };
}

async function storeScenario(): Promise<void> {
  const nodes = Number(env['FLEET_STORE_NODES'] ?? 30_000);
  const replicas = Number(env['FLEET_REPLICAS'] ?? 3);
  const intervalMs = Number(env['FLEET_INTERVAL_MS'] ?? 5000);
  const url = env['PLUMBLINE_BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
  const label = `${replicas} replicas, ${nodes} nodes @ 1/${intervalMs / 1000}s`;
  console.log(`\n# fleet --store postgres: ${label}`);
  // Replica 0 migrates the fresh schema when it opens the store.
  const schema = `plbbench_fleet_${randomBytes(4).toString('hex')}`;
  let pgRun: ReplicaRunResult;
  try {
    pgRun = await runReplicas('postgres', schema, replicas, nodes, intervalMs);
  } finally {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
  const mem = await runReplicas('memory', schema, replicas, nodes, intervalMs);
  const worst = (r: ReplicaRunResult, f: (x: ServerReport) => number): number =>
    Math.max(...r.reports.map(f));
  const sum = (r: ReplicaRunResult, f: (x: ServerReport) => number): number =>
    r.reports.reduce((n, x) => n + f(x), 0);
  const elapsed = worst(pgRun, (x) => x.elapsed);
  report({
    name: `${label}: connections held`,
    value: pgRun.connected,
    unit: 'conns',
    higherIsBetter: true,
    baseline: { name: 'in-memory stores', value: mem.connected },
    target: `= ${nodes}`,
    met: pgRun.connected === nodes,
  });
  report({
    name: `${label}: heartbeats handled`,
    value: sum(pgRun, (x) => x.frames) / elapsed,
    unit: 'frames/s',
    higherIsBetter: true,
    baseline: {
      name: 'in-memory stores',
      value: sum(mem, (x) => x.frames) / worst(mem, (x) => x.elapsed),
    },
  });
  report({
    name: `${label}: heartbeat handling p99 (worst replica)`,
    value: worst(pgRun, (x) => x.handleP99),
    unit: 'ms',
    higherIsBetter: false,
    baseline: { name: 'in-memory stores', value: worst(mem, (x) => x.handleP99) },
    target: '< 5 ms',
    met: worst(pgRun, (x) => x.handleP99) < 5,
  });
  const alerts = sum(pgRun, (x) => x.alerts);
  report({
    name: `${label}: drift-to-alert p99, worst replica (${alerts} alerts)`,
    value: worst(pgRun, (x) => x.alertP99),
    unit: 'ms',
    higherIsBetter: false,
    baseline: { name: 'in-memory stores', value: worst(mem, (x) => x.alertP99) },
    target: '< 100 ms',
    met: alerts > 0 && worst(pgRun, (x) => x.alertP99) < 100,
  });
  report({
    name: `${label}: control-plane CPU per heartbeat (mean of replicas)`,
    value: sum(pgRun, (x) => x.cpuPerFrameUs) / pgRun.reports.length,
    unit: 'µs',
    higherIsBetter: false,
    baseline: {
      name: 'in-memory stores',
      value: sum(mem, (x) => x.cpuPerFrameUs) / mem.reports.length,
    },
  });
  const st = (f: (s: NonNullable<ServerReport['store']>) => number): number =>
    sum(pgRun, (x) => (x.store ? f(x.store) : 0));
  report({
    name: `${label}: observed-state upsert statements/s, steady state (all replicas)`,
    value: st((s) => s.statements) / elapsed,
    unit: 'stmt/s',
    higherIsBetter: false,
    baseline: { name: 'one statement per heartbeat', value: sum(pgRun, (x) => x.frames) / elapsed },
  });
  report({
    name: `${label}: observed-state rows written/s, steady state (all replicas)`,
    value: st((s) => s.rows) / elapsed,
    unit: 'rows/s',
    higherIsBetter: false,
    baseline: { name: 'heartbeats', value: sum(pgRun, (x) => x.frames) / elapsed },
  });
  report({
    name: `${label}: batching ratio, whole run incl. ramp-up (rows per statement)`,
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
  report({
    name: `${label}: control-plane RSS (largest replica)`,
    value: worst(pgRun, (x) => x.rss) / 2 ** 20,
    unit: 'MiB',
    higherIsBetter: false,
    baseline: { name: 'in-memory stores', value: worst(mem, (x) => x.rss) / 2 ** 20 },
  });
}

console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; simulated nodes in ${CLIENTS} processes`,
);
const storeFlag = process.argv.indexOf('--store');
const store = storeFlag >= 0 ? process.argv[storeFlag + 1] : undefined;
if (store !== undefined && store !== 'postgres') {
  throw new Error(`--store ${store}: only --store postgres is supported`);
}
if (store === 'postgres') {
  await storeScenario();
} else {
  await scenario(NODES, INTERVAL);
  if (FAST_NODES > 0) await scenario(FAST_NODES, 1000);
}
console.log(`\n${markdownTable()}`);
