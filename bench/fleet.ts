/**
 * `npm run bench:fleet`: fleet load test. One control-plane process holds many data-plane
 * WebSocket connections opened by simulated nodes in separate processes, each sending a heartbeat
 * every interval. Measured in the control-plane process: heartbeat handling time (arrival to the
 * monitor's update), drift-to-alert latency (arrival of the drifting heartbeat to the alert sink),
 * CPU per heartbeat, event-loop delay and RSS; the connection ramp-up rate is measured by the
 * nodes. The same run against a bare `ws` server that only parses JSON is the baseline.
 *
 * Options (env): FLEET_NODES (default 15000), FLEET_INTERVAL_MS (5000), FLEET_FAST_NODES (10000,
 * the 1 heartbeat/s run; 0 skips it), FLEET_CLIENTS (client processes, default 6), FLEET_STEADY_S
 * (steady-state seconds, default 3 intervals, at least 10), FLEET_PROFILE_DIR (write a CPU profile of
 * each control-plane process there).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; simulated nodes in ${CLIENTS} processes`,
);
await scenario(NODES, INTERVAL);
if (FAST_NODES > 0) await scenario(FAST_NODES, 1000);
console.log(`\n${markdownTable()}`);
