import net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { ObservedNode } from '@plumbline/core/drift';
import { Client } from '../src/pg.js';

export const PG_URL =
  process.env['PLUMBLINE_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A unique schema name per test (dropped by `dropSchema`). */
export function freshSchemaName(): string {
  return `plbt_${randomBytes(6).toString('hex')}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Terminates every backend of `application_name` plumbline-control-plane connected for a schema's test. */
export async function terminateBackends(pids?: readonly number[]): Promise<number> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const result = await client.query<{ ok: boolean }>(
      pids === undefined
        ? `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
           WHERE application_name = 'plumbline-control-plane' AND pid <> pg_backend_pid()`
        : `SELECT pg_terminate_backend(pid) AS ok FROM unnest($1::int[]) AS pid`,
      pids === undefined ? [] : [pids],
    );
    return result.rows.filter((r) => r.ok).length;
  } finally {
    await client.end();
  }
}

export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Terminates the backends of one `application_name`. */
export async function terminateApp(applicationName: string): Promise<number> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const result = await client.query<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
       WHERE application_name = $1 AND pid <> pg_backend_pid()`,
      [applicationName],
    );
    return result.rows.filter((r) => r.ok).length;
  } finally {
    await client.end();
  }
}

/** A TCP proxy to PostgreSQL that can cut every connection and refuse new ones (an outage). */
export interface Proxy {
  readonly url: string;
  cut(): Promise<void>;
  /** Resets every client connection (a TCP RST: `ECONNRESET` on the client), keeps listening. */
  reset(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startProxy(): Promise<Proxy> {
  const sockets = new Set<net.Socket>();
  const clients = new Set<net.Socket>();
  let port = 0;
  const makeServer = (): net.Server =>
    net.createServer((socket) => {
      const upstream = net.connect(5432, '127.0.0.1');
      clients.add(socket);
      sockets.add(socket);
      sockets.add(upstream);
      const end = (): void => {
        socket.destroy();
        upstream.destroy();
        sockets.delete(socket);
        sockets.delete(upstream);
        clients.delete(socket);
      };
      socket.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      socket.pipe(upstream);
      upstream.pipe(socket);
    });
  let server: net.Server | null = makeServer();
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
  const stop = async (): Promise<void> => {
    const s = server;
    server = null;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (s !== null) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/test`,
    cut: stop,
    reset() {
      for (const socket of clients) socket.resetAndDestroy();
    },
    async restore() {
      if (server !== null) return;
      const s = makeServer();
      server = s;
      await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', resolve));
    },
    close: stop,
  };
}

/** A connected node's observed record, reporting nothing loaded: `extra` overrides any field. */
export function observedNode(id: string, extra: Partial<ObservedNode> = {}): ObservedNode {
  return {
    node_id: id,
    cluster: 'prod',
    instance_id: 'i-1',
    reported_hash: null,
    workers: null,
    provenance: null,
    loaded_at: null,
    last_load_error: null,
    last_seen: new Date().toISOString(),
    last_seq: 1,
    connected: true,
    ...extra,
  };
}
