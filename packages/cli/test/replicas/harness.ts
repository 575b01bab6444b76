/**
 * Shared parts of the replica tests: a private database on the shared PostgreSQL, real
 * `plumbline control-plane --store postgres://…` processes, a per-node TCP balancer (what a load
 * balancer does: the first live replica in the node's order), a TCP proxy between a replica and
 * PostgreSQL, an SSE reader, and readers of each replica's alert log lines and audit trail.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { connectDataPlane, hashToken, type DataPlaneClient } from '@plumbline/ws';
import { runCli, spawnCli, until } from '../helpers.js';
import type { Delivery } from '../fleet/webhook-receiver.js';

export const PG_URL =
  process.env['PLUMBLINE_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
export const ADMIN = 'admin-secret-replicas';
export const WEBHOOK_SECRET = 'webhook-secret-replicas';
export const H1 = `sha256:${'1'.repeat(64)}` as const;
export const H2 = `sha256:${'2'.repeat(64)}` as const;
export const H3 = `sha256:${'3'.repeat(64)}` as const;

export { until };

/** The webhook deliveries of one alert type (any type when omitted), for one node if named. */
export function deliveriesOf(
  received: readonly Delivery[],
  type?: string,
  node?: string,
): Delivery[] {
  return received.filter(
    (d) =>
      (type === undefined || d.type === type) && (node === undefined || d.body['node_id'] === node),
  );
}

/** Runs SQL on the shared server (database `test`, or `url`). */
export function psql(sql: string, url = PG_URL): string {
  return execFileSync('psql', [url, '-qAt', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    env: { ...process.env, PGOPTIONS: '--client-min-messages=warning' },
    encoding: 'utf8',
  });
}

/** A database of its own for one test file: its URL, and how to drop it. */
export function createDatabase(): { name: string; url: string; drop(): void } {
  const name = `plb_replicas_${randomBytes(5).toString('hex')}`;
  psql(`CREATE DATABASE "${name}"`);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => psql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

/** `plumbline control-plane migrate` on `url`. */
export async function migrate(url: string): Promise<void> {
  const result = await runCli(['control-plane', 'migrate', '--store', url]);
  if (result.code !== 0) throw new Error(`migrate failed: ${result.stderr}`);
}

/** Writes the node tokens (`token-<node>` for each node, cluster `prod`) and the admin token. */
export async function writeSecrets(dir: string, nodes: readonly string[]): Promise<void> {
  await writeFile(
    join(dir, 'node-tokens.json'),
    JSON.stringify(
      Object.fromEntries(
        nodes.map((n) => [n, { cluster: 'prod', token_sha256: hashToken(`token-${n}`) }]),
      ),
    ),
  );
  await writeFile(join(dir, 'admin.token'), `${ADMIN}\n`);
  await writeFile(join(dir, 'webhook.secret'), `${WEBHOOK_SECRET}\n`);
}

/** One `plumbline control-plane` process. */
export interface Replica {
  readonly name: string;
  readonly child: ChildProcess;
  readonly ws: string;
  readonly admin: string;
  readonly auditLog: string;
  stderr: string;
}

export interface ReplicaOptions {
  readonly name: string;
  readonly dir: string;
  /** The store URL (the replica's connections get `application_name` `plb-<name>`). */
  readonly store: string;
  readonly webhook?: string;
  /** Fixed listen ports (a restarted replica keeps its addresses). */
  readonly wsPort?: number;
  readonly adminPort?: number;
  /** Extra config-file keys. */
  readonly config?: Record<string, unknown>;
}

/** The store URL naming the replica's connections, so a test can find its backends. */
export function storeUrlFor(url: string, name: string): string {
  const u = new URL(url);
  u.searchParams.set('application_name', `plb-${name}`);
  return u.toString();
}

/** Starts a replica and waits for its `listening` line. */
/** Replica processes the tests stop on purpose. */
const stopping = new WeakSet<ChildProcess>();

export async function startReplica(options: ReplicaOptions): Promise<Replica> {
  const { dir, name } = options;
  const config = join(dir, `config-${name}.json`);
  await writeFile(config, JSON.stringify({ 'stale-after': 3, ...options.config }));
  const auditLog = join(dir, `audit-${name}.jsonl`);
  const args = [
    'control-plane',
    '--config',
    config,
    '--listen',
    `127.0.0.1:${options.wsPort ?? 0}`,
    '--admin-listen',
    `127.0.0.1:${options.adminPort ?? 0}`,
    '--node-tokens',
    join(dir, 'node-tokens.json'),
    '--admin-token-file',
    join(dir, 'admin.token'),
    '--store',
    storeUrlFor(options.store, name),
    '--heartbeat-interval',
    '500ms',
    '--audit-log',
    auditLog,
  ];
  if (options.webhook !== undefined) {
    args.push('--webhook', options.webhook, '--webhook-secret-file', join(dir, 'webhook.secret'));
  }
  const child = spawnCli(args);
  let out = '';
  const replica = { name, child, ws: '', admin: '', auditLog, stderr: '' };
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (replica.stderr += c.toString()));
  // A replica that ends without stopReplica (a crash, or a signal from elsewhere) says so in the
  // test output, with how it ended and the end of its stderr.
  child.once('exit', (code, signal) => {
    if (stopping.has(child)) return;
    process.stderr.write(
      `replica ${name} ended unexpectedly (exit code ${code}, signal ${signal}); stderr ended:\n` +
        `${replica.stderr.slice(-2000)}\n`,
    );
  });
  const line = await until(
    () => out.split('\n').find((l) => l.startsWith('{')) ?? (child.exitCode !== null && 'exit'),
    `replica ${name} listening`,
    60_000,
  );
  if (line === 'exit') throw new Error(`replica ${name} exited: ${replica.stderr}`);
  const listening = JSON.parse(line) as { ws: string; admin: string };
  return Object.assign(replica, { ws: listening.ws, admin: listening.admin });
}

/** SIGKILLs (or SIGTERMs) a replica and waits for the process to end. */
export async function stopReplica(replica: Replica, signal: NodeJS.Signals): Promise<void> {
  stopping.add(replica.child);
  if (replica.child.exitCode !== null || replica.child.signalCode !== null) return;
  const ended = new Promise<void>((r) => replica.child.once('exit', () => r()));
  replica.child.kill(signal);
  await ended;
}

export function portOf(url: string): number {
  return Number(new URL(url).port);
}

export async function adminGet(replica: Replica, path: string): Promise<Response> {
  return await fetch(`${replica.admin}${path}`, {
    headers: { authorization: `Bearer ${ADMIN}` },
  });
}

export interface FleetNodeDoc {
  node_id: string;
  cluster: string;
  state: string;
  reported_hash: string | null;
  desired_hash: string | null;
  last_seen: string | null;
  instance_id: string | null;
  provenance: unknown;
}

export async function fleetOf(replica: Replica): Promise<{
  clusters: { cluster: string; desired_hash: string | null; counts: Record<string, number> }[];
  nodes: FleetNodeDoc[];
}> {
  const res = await adminGet(replica, '/v1/fleet');
  if (res.status !== 200) throw new Error(`GET /v1/fleet: ${res.status}`);
  return (await res.json()) as Awaited<ReturnType<typeof fleetOf>>;
}

export async function nodeOf(replica: Replica, node: string): Promise<FleetNodeDoc | undefined> {
  const res = await adminGet(replica, `/v1/fleet/nodes/${node}`);
  if (res.status !== 200) return undefined;
  return (await res.json()) as FleetNodeDoc;
}

/** The `plumbline_fleet_nodes{cluster="prod",state=…}` gauges of a replica's `/metrics`. */
export async function stateGauges(replica: Replica): Promise<Record<string, number>> {
  const text = await (await adminGet(replica, '/metrics')).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(
    /^plumbline_fleet_nodes\{cluster="prod",state="([a-z_]+)"\} (\d+)$/gm,
  )) {
    const n = Number(m[2]);
    if (n > 0) out[m[1]!] = n;
  }
  return out;
}

export async function putAdmin(replica: Replica, path: string, body: unknown): Promise<Response> {
  return await fetch(`${replica.admin}${path}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** Waits until every live replica shows `node` in `state` (and returns their documents). */
export async function converged(
  replicas: readonly Replica[],
  node: string,
  state: string,
  timeoutMs = 30_000,
): Promise<FleetNodeDoc[]> {
  return await until(
    async () => {
      const docs = await Promise.all(replicas.map((r) => nodeOf(r, node)));
      return docs.every((d) => d?.state === state) && (docs as FleetNodeDoc[]);
    },
    `${node} ${state} on ${replicas.map((r) => r.name).join(', ')}`,
    timeoutMs,
  );
}

/** One alert a replica sent through its log sink (`"msg":"fleet event"` lines on stderr). */
export interface LoggedAlert {
  readonly id: string;
  readonly type: string;
  readonly node_id?: string;
  readonly cluster?: string;
}

export function loggedAlerts(replica: Replica): LoggedAlert[] {
  return replica.stderr
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes('"msg":"fleet event"'))
    .map((l) => JSON.parse(l) as LoggedAlert);
}

/** Every alert logged by any of `replicas` (every process that ever ran). */
export function allLogged(
  replicas: readonly Replica[],
  type: string,
  node?: string,
): LoggedAlert[] {
  return replicas
    .flatMap(loggedAlerts)
    .filter((a) => a.type === type && (node === undefined || a.node_id === node));
}

/** The audit events of a replica's trail. */
export interface AuditLine {
  readonly type: string;
  readonly details?: Record<string, unknown>;
}

export async function auditLines(replica: Replica): Promise<AuditLine[]> {
  let text: string;
  try {
    text = await readFile(replica.auditLog, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .map((e) => (e['event'] ?? e) as AuditLine);
}

/** A live reader of a replica's `GET /v1/fleet/events`. */
export interface SseReader {
  readonly events: { id: string | null; event: string; data: Record<string, unknown> }[];
  close(): void;
}

export async function readEvents(replica: Replica): Promise<SseReader> {
  const events: SseReader['events'] = [];
  const url = new URL('/v1/fleet/events', replica.admin);
  return await new Promise((resolve, reject) => {
    const req = request(
      url,
      { headers: { authorization: `Bearer ${ADMIN}`, accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET /v1/fleet/events: ${res.statusCode}`));
          res.resume();
          return;
        }
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let id: string | null = null;
            let event = 'message';
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('id: ')) id = line.slice(4);
              else if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (data !== '') events.push({ id, event, data: JSON.parse(data) });
          }
        });
        res.on('error', () => undefined);
        resolve({ events, close: () => req.destroy() });
      },
    );
    req.on('error', (e) => (events.length === 0 ? reject(e) : undefined));
    req.end();
  });
}

/** `plumbline fleet --check --json` against a replica, as a separate process: its exit code and nodes. */
export async function fleetCheck(
  replica: Replica,
  dir: string,
): Promise<{ code: number | null; nodes: FleetNodeDoc[] }> {
  const child = spawnCli(['fleet', '--check', '--json'], {
    env: {
      ...process.env,
      PLUMBLINE_ADMIN_URL: replica.admin,
      PLUMBLINE_ADMIN_TOKEN_FILE: join(dir, 'admin.token'),
    },
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  return { code, nodes: (JSON.parse(out) as { nodes: FleetNodeDoc[] }).nodes };
}

/**
 * What a load balancer does for one node: each connection goes to the first replica in the
 * node's order that accepts it. `backends` is read at every connection.
 */
export async function startBalancer(
  backends: () => readonly string[],
): Promise<{ url: string; freeze(): void; thaw(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.pause();
    const list = backends();
    const attempt = (i: number): void => {
      if (i >= list.length) {
        client.destroy();
        return;
      }
      const target = new URL(list[i]!);
      const upstream = connect(Number(target.port), target.hostname);
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.once('error', () => {
        if (upstream.bytesWritten === 0 && !client.destroyed) attempt(i + 1);
        else client.destroy();
      });
      upstream.once('connect', () => {
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        const pair: [Socket, Socket] = [client, upstream];
        pairs.add(pair);
        client.on('close', () => pairs.delete(pair));
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.resume();
      });
    };
    attempt(0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/ws/data-plane`,
    // A silent network: nothing flows either way, the connections stay open.
    freeze: () => {
      for (const [c, u] of pairs) {
        c.unpipe(u);
        u.unpipe(c);
        c.pause();
        u.pause();
      }
    },
    thaw: () => {
      for (const [c, u] of pairs) {
        c.pipe(u);
        u.pipe(c);
      }
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A TCP proxy to PostgreSQL that can be cut (every connection ended, new ones refused) and restored. */
export async function startPgProxy(target: string): Promise<{
  url: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}> {
  const t = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async (): Promise<void> => {
    server = createServer((client) => {
      const upstream = connect(Number(t.port || 5432), t.hostname);
      sockets.add(client).add(upstream);
      const end = (): void => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    const s = server;
    await new Promise<void>((r) => s.listen(port, '127.0.0.1', () => r()));
    port = (s.address() as AddressInfo).port;
  };
  const stop = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  await listen();
  const url = new URL(target);
  url.host = `127.0.0.1:${port}`;
  return { url: url.toString(), cut: stop, restore: listen, close: stop };
}

/** A node reporting over a real WebSocket (through its balancer) what `state.hash` says. */
export interface Node {
  readonly id: string;
  hash: `sha256:${string}` | null;
  loadError: { artifact_hash: string; code: string; message: string; at: string } | null;
  readonly client: DataPlaneClient;
}

/** Starts a node's reporter (`instanceId`: a new one for a restarted gateway, whose `seq` starts over). */
export function startNode(
  id: string,
  url: string,
  hash: Node['hash'],
  instanceId = `inst-${id}`,
): Node {
  const node: { -readonly [K in keyof Node]: Node[K] } = {
    id,
    hash,
    loadError: null,
    client: undefined as unknown as DataPlaneClient,
  };
  node.client = connectDataPlane({
    url,
    nodeId: id,
    cluster: 'prod',
    credentials: { token: `token-${id}` },
    instanceId,
    source: () => ({
      artifact_hash: node.hash,
      loaded_at: '2026-01-01T00:00:00Z',
      provenance: { commit: 'c'.repeat(40), builder: { id: 'replica-test', version: '1' } },
      last_load_error: node.loadError as never,
    }),
    heartbeatIntervalMs: 500,
    backoff: { initialMs: 50, maxMs: 300 },
  });
  return node;
}

/** Reports a node's state at once (a heartbeat now). */
export function report(node: Node): void {
  node.client.report({
    artifact_hash: node.hash,
    loaded_at: '2026-01-01T00:00:00Z',
    last_load_error: node.loadError as never,
  });
}

/** The PostgreSQL backends of a replica (by its `application_name`). */
export function backendsOf(db: string, replica: string): number[] {
  return psql(
    `SELECT pid FROM pg_stat_activity WHERE datname = '${db}' AND application_name = 'plb-${replica}'`,
  )
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

/** The replica holding the sweep leader's advisory lock (class `0x504c03`), if any. */
export function sweepLeader(db: string): string | undefined {
  const name = psql(
    `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND a.datname = '${db}'
        AND l.classid = ${0x504c03} LIMIT 1`,
  ).trim();
  return name.startsWith('plb-') ? name.slice(4) : undefined;
}
